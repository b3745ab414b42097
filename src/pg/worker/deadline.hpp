// store_monitoring.report_timeout and cancel_report() for the report a
// worker computes, on the worker's own clock (see deadline.cpp).
#pragma once

extern "C" {
#include "postgres.h"

#include "storage/lock.h"
}

#include <optional>
#include <string>

namespace store_monitoring::pg {

// Guards one report's computation: arms the deadline and the watch for a
// cancel; its end disarms them.
class ReportGuard {
 public:
  ReportGuard(const std::string& report_id, int timeout_ms);
  // Never raises. From here on the worker only writes the report's end: no
  // more stops, and a cancel asked for it is no longer pending.
  ~ReportGuard() { end(); }
  static void end() noexcept;
  // A coordinator runs no role's code itself (its shards compute), watches
  // for cancel_report in its own waits, and cancels the shards' reports
  // after a stop, which a FATAL would cut short: its deadline only cancels.
  static void coordinator() noexcept;
  ReportGuard(const ReportGuard&) = delete;
  ReportGuard& operator=(const ReportGuard&) = delete;
};

// Why the guarded report was stopped, if it was: the timeout, or who
// canceled it (needs a transaction: the role is looked up).
std::optional<std::string> stop_message();

// The last lock the guarded report's worker was seen waiting for (the watch
// looks every 100 ms), if any: names the lock when a wait ends in a lock
// timeout.
std::optional<LOCKTAG> last_awaited_lock();

// True when the watch canceled a lock wait of the guarded report's read
// that outlasted kWorkerLockWaitMs (the owner's code lifted lock_timeout):
// the report's cancel error then means that it met a lock.
bool read_lock_wait_canceled();

// Throws the stop as an error: called before a report's result commits.
void throw_if_stopped();

// SIGTERM: as PostgreSQL's die(), noting that the termination is not the
// report guard's own stop (which it may withdraw, see ReportGuard::end).
void terminate_worker(SIGNAL_ARGS) noexcept;

}  // namespace store_monitoring::pg
