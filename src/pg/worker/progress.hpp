// Progress and cancellation of the report a worker computes, shared with
// other backends through a dynamic shared memory segment: the computing
// transaction's own writes stay invisible until it commits.
#pragma once

#include "pg/common/settings.hpp"

extern "C" {
#include "postgres.h"
}

#include <cstdint>
#include <optional>
#include <string>

namespace store_monitoring {
struct ReportProgress;
}

namespace store_monitoring::pg {

// Worker side. The worker keeps one segment for its life. progress_begin
// runs in the claim transaction: it resets the segment for `report_id` and
// records its handle in the report row, so that other backends find it once
// the claim commits. progress_end forgets the report.
void progress_begin(const std::string& report_id);
void progress_end() noexcept;
// The current report's counters and the token that cancels it (nullptr, 0
// when there is none).
ReportProgress* progress_counters() noexcept;
std::uint64_t progress_token() noexcept;
// True once someone canceled the current report (any context).
bool progress_cancel_requested() noexcept;
// "canceled by <role>" once someone canceled the current report. Needs a
// transaction (it looks the role up).
std::optional<std::string> progress_cancel_message();
// Throws that message as an error once someone canceled the current report.
void throw_if_canceled();

// Any backend: stores computed and stores known so far by the worker whose
// segment `handle` describes report `report_id` (nothing when it does not,
// e.g. the report ended).
struct ProgressCount {
  std::uint64_t stores_done;
  std::uint64_t stores_total;
};
std::optional<ProgressCount> read_progress(int64 handle, const std::string& report_id);

// Asks the worker whose segment `handle` describes report `report_id` to
// cancel it, as role `by`; false when the segment does not (any more).
bool request_cancel(int64 handle, const std::string& report_id, Oid by);

// Sleeps debug_worker_delay at `point` when that is the configured point.
// Interruptible, and ends early once the report is canceled; throws PgError when the sleep is
// interrupted by an error.
void pause_for_testing(PausePoint point);

}  // namespace store_monitoring::pg
