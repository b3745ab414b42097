// Writing a report's end (the worker, inside its transaction, SPI
// connected), and the per-role limits checked before a report is added.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>
#include <string_view>

namespace store_monitoring::pg {

// Refuses a new report of `owner` when it has store_monitoring.
// max_queued_per_role reports Running (those this transaction triggered
// included) or its stored results have reached max_stored_per_role. Needs a
// SpiScope; takes kQueueLockClass for the rest of the transaction.
void check_role_limits(Oid owner);

// Stores the results (`stored`: encode_report's bytes of `store_count`
// stores), sets the report Complete and queues its NOTIFY, all in the current
// transaction. Throws when the report is no longer Running, and when its
// results would take its owner's stored results beyond
// store_monitoring.max_stored_per_role (the report then ends Failed). Frees `stored`
// once copied into the value written, so that one copy less is held while
// the row is formed.
void complete_report(std::string_view report_id, std::string& stored, size_t store_count,
                     int64 memory_kb);

// Sets a Running report Failed with `message` and queues its NOTIFY; false
// when it was not Running (finished, or gone).
bool fail_report(std::string_view report_id, std::string_view message);

// Deletes every finished report older than store_monitoring.report_retention
// (no-op when unset).
void apply_report_retention();

// After the commit that ended the report: wakes the wait_report() calls
// waiting for it. Outside a transaction is fine; never throws.
void wake_report_waiters(uint32 lock_key) noexcept;

}  // namespace store_monitoring::pg
