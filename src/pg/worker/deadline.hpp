// store_monitoring.report_timeout and cancel_report() for the report a
// worker computes, on the worker's own clock (see deadline.cpp).
#pragma once

extern "C" {
#include "postgres.h"
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

// Throws the stop as an error: called before a report's result commits.
void throw_if_stopped();

// SIGTERM: as PostgreSQL's die(), noting that the termination is not the
// report guard's own stop (which it may withdraw, see ReportGuard::end).
void terminate_worker(SIGNAL_ARGS) noexcept;

}  // namespace store_monitoring::pg
