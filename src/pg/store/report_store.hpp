// The report tables: the one place that writes and reads a report's results
// and its status. A complete report is stored once, as the compact bytes of
// src/core/report_codec.hpp in _store_monitoring_internal.report_output; the
// CSV and report_rows() are rendered from them on read. Reports computed by
// version 1.0 (CSV in report.csv, rows in report_result) are still read as
// they were stored.
#pragma once

#include "core/report_pipeline.hpp"
#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "fmgr.h"
}

#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {

// A report's status; report.status holds status_text() of one of these.
enum class ReportStatus { Running, Complete, Failed };

const char* status_text(ReportStatus status);
std::optional<ReportStatus> status_from_text(std::string_view text);

// Whether `caller` may see (and cancel, wait for, delete) the reports of
// `owner`: as a member of its role. A report it may not see does not exist
// for it.
bool may_see(Oid caller, Oid owner);

// A text datum's bytes (detoasted first) as a string.
std::string text_string(Datum value);

// The NOTIFY channel on which the end of every report is announced.
inline constexpr const char* kReportChannel = "store_monitoring_report";

// Refuses a new report of `owner` when it has store_monitoring.
// max_queued_per_role reports Running (those this transaction triggered
// included) or its stored results have reached max_stored_per_role. Needs a
// SpiScope; takes kQueueLockClass for the rest of the transaction.
void check_role_limits(Oid owner);

// The label argument `arg` of a function: nullopt for NULL; refuses an
// empty label or one longer than 63 bytes.
std::optional<std::string> label_argument(FunctionCallInfo fcinfo, int arg);

// --- Writing (the worker, inside its transaction, SPI connected) ---------

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

// --- Reading (SQL-callable functions; these set up their own SPI) --------

// The CSV of a Complete report, rendered from its stored results (or as 1.0
// stored it); nullopt when the report is not Complete. The caller has
// already checked that the report is visible to it.
std::optional<std::string> report_csv(std::string_view report_id);

// Helpers shared by the reading functions.
[[noreturn]] void report_does_not_exist(text* id);
std::string shown_id(text* id);
text* report_id_argument(FunctionCallInfo fcinfo);
// Runs `sql` (its $1 is the report id, its first column the report's owner)
// and raises the common error unless it found a report `caller` may see. The
// row stays in SPI_tuptable.
void find_visible_report(const char* sql, text* id, Oid caller);

}  // namespace store_monitoring::pg
