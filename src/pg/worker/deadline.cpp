// store_monitoring.report_timeout and cancel_report() for one report, on the
// worker's own clock: a statement timeout alone is a cancel, which a source
// function may catch (EXCEPTION WHEN query_canceled) and carry on. At the
// deadline, or once a cancel shows in the worker's segment (looked at every
// kWatchMs), the report is first canceled as a statement is, so that an
// ordinary source ends with the report's usual error and the worker lives
// on; a report still running kGraceTicks later is stopped with FATAL, which
// no PL exception block catches, and the exit callback below marks it
// Failed. Either way a report stopped so never ends Complete.
#include "pg/worker/deadline.hpp"

#include "pg/common/locks.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/worker/claim.hpp"
#include "pg/worker/progress.hpp"
#include "pg/worker/transaction.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

#include <csignal>
#include <cstdio>

namespace store_monitoring::pg {
namespace {

constexpr size_t kReportIdBytes = 128;

constexpr int kWatchMs = 100;
constexpr int kGraceTicks = 5;

// Written by the timeout handlers (signal context) and read by the worker.
volatile sig_atomic_t guarding = false;  // a report is being computed
volatile sig_atomic_t deadline_passed = false;
volatile sig_atomic_t stop_ticks = 0;        // watch ticks since the stop was asked; 0: none
volatile sig_atomic_t may_force = true;      // watch and force; false: a coordinator
volatile sig_atomic_t forced = false;        // ProcDiePending set by on_watch_tick
volatile sig_atomic_t terminated = false;    // a SIGTERM came (see terminate_worker)
volatile sig_atomic_t awaited_seen = false;  // awaited holds a tag
LOCKTAG awaited;
// Ticks in a row the read has waited for a lock, and whether such a wait
// was canceled: past the read's lock_timeout, which the owner's code may
// have lifted (a SET lock_timeout outranks the worker's value).
volatile sig_atomic_t lock_wait_ticks = 0;
volatile sig_atomic_t lock_wait_canceled = false;
constexpr int kLockWaitTicks = kWorkerLockWaitMs / kWatchMs + 2;
TimeoutId deadline_timeout = MAX_TIMEOUTS;
TimeoutId watch_timeout = MAX_TIMEOUTS;
int guarded_timeout_ms = 0;
char guarded_report[kReportIdBytes] = "";

void ask_to_stop() noexcept {
  if (!guarding || stop_ticks != 0) return;
  stop_ticks = 1;
  QueryCancelPending = true;
  InterruptPending = true;
  SetLatch(MyLatch);
}

void on_report_deadline() noexcept {
  deadline_passed = true;
  ask_to_stop();
}

// Notes the lock the worker waits for, and cancels a wait in the read that
// outlasted the read's lock_timeout.
void watch_lock_wait() noexcept {
  // Set while this process sleeps in a lock wait; the lock lives in shared
  // memory until the wait ends, and only its tag is copied.
  const LOCK* waiting_for = MyProc != nullptr ? MyProc->waitLock : nullptr;
  if (waiting_for != nullptr) {
    awaited = waiting_for->tag;
    awaited_seen = true;
  }
  // Only a wait in the read (a role's code, a security-restricted
  // operation) is canceled so; the worker's own waits are short.
  if (waiting_for == nullptr || !InSecurityRestrictedOperation()) {
    lock_wait_ticks = 0;
    return;
  }
  lock_wait_ticks = lock_wait_ticks + 1;
  if (lock_wait_ticks <= kLockWaitTicks || stop_ticks != 0) return;
  lock_wait_ticks = 0;
  lock_wait_canceled = true;
  QueryCancelPending = true;
  InterruptPending = true;
  SetLatch(MyLatch);
}

void on_watch_tick() noexcept {
  if (!guarding || !may_force) return;
  watch_lock_wait();
  if (progress_cancel_requested()) ask_to_stop();
  if (stop_ticks > 0) stop_ticks = stop_ticks + 1;
  if (stop_ticks > kGraceTicks) {
    forced = true;
    ProcDiePending = true;
    InterruptPending = true;
    SetLatch(MyLatch);
  }
}

std::string report_timeout_message() {
  return "the report ran longer than store_monitoring.report_timeout (" +
         std::to_string(guarded_timeout_ms) + " ms)";
}

// before_shmem_exit: the worker is exiting (FATAL) in the middle of a
// report it was told to stop. Ends the report Failed with the reason rather
// than leaving it orphaned, to be claimed and run again max_attempts times.
// A transaction can run here once the interrupted one is aborted (as
// PostgreSQL's own RemoveTempRelationsCallback does). A worker terminated
// for another reason leaves its report to be retried, as before.
void fail_stopped_report(int, Datum) noexcept {
  const bool stopped = guarding && (deadline_passed || progress_cancel_requested());
  // Whatever the reason for exiting, the watch must not tick again: it reads
  // the progress segment, which the exit unmaps next (a tick after that was
  // a segmentation fault, and the postmaster's restart of every process).
  guarding = false;
  disable_all_timeouts(false);
  if (!stopped) return;
  QueryCancelPending = false;
  // A SIGTERM meanwhile (a fast shutdown) must not strike in the middle of
  // the write: the process exits right after it anyway.
  HOLD_INTERRUPTS();
  // Bare: these end the aborted transaction's state and raise no error.
  AbortOutOfAnyTransaction();
  MemoryContextSwitchTo(worker_memory());
  try {
    std::string report_id(guarded_report);
    std::string message = report_timeout_message();
    (void)in_transaction([&] { message = stop_message().value_or(message); });
    pg_call([&] {
      ereport(LOG, (errmsg("store_monitoring report %s: worker stopped: %s", report_id.c_str(),
                           message.c_str())));
    });
    (void)mark_failed(report_id, message);
  } catch (...) {
    // Nothing more to do on the way out: the report is then retried.
  }
}

}  // namespace

// Why the guarded report was stopped, if it was: the timeout, or who
// canceled it (needs a transaction: the role is looked up).
std::optional<std::string> stop_message() {
  if (deadline_passed) return report_timeout_message();
  return progress_cancel_message();
}

bool read_lock_wait_canceled() { return lock_wait_canceled; }

std::optional<LOCKTAG> last_awaited_lock() {
  if (!awaited_seen) return std::nullopt;
  return awaited;
}

// Throws the stop as an error: called before a report's result commits.
void throw_if_stopped() {
  if (deadline_passed) throw UserError(ERRCODE_QUERY_CANCELED, report_timeout_message());
  throw_if_canceled();
}

ReportGuard::ReportGuard(const std::string& report_id, int timeout_ms) {
  if (watch_timeout == MAX_TIMEOUTS) {
    pg_call([] {
      deadline_timeout = RegisterTimeout(USER_TIMEOUT, on_report_deadline);
      watch_timeout = RegisterTimeout(USER_TIMEOUT, on_watch_tick);
      before_shmem_exit(fail_stopped_report, 0);
    });
  }
  snprintf(guarded_report, sizeof(guarded_report), "%s", report_id.c_str());
  guarded_timeout_ms = timeout_ms;
  deadline_passed = false;
  stop_ticks = 0;
  may_force = true;
  forced = false;
  awaited_seen = false;
  lock_wait_ticks = 0;
  lock_wait_canceled = false;
  guarding = true;
  pg_call([&] {
    if (timeout_ms > 0) enable_timeout_after(deadline_timeout, timeout_ms);
    enable_timeout_every(watch_timeout,
                         TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kWatchMs), kWatchMs);
  });
}

void ReportGuard::end() noexcept {
  guarding = false;
  disable_timeout(deadline_timeout, false);
  disable_timeout(watch_timeout, false);
  if (stop_ticks != 0 || lock_wait_canceled) QueryCancelPending = false;
  // The report ended (its abort can outlast the grace) before the stop
  // struck: the worker writes its end and lives on, unless terminated.
  if (forced && !terminated) ProcDiePending = false;
  forced = false;
}

void ReportGuard::coordinator() noexcept { may_force = false; }

void terminate_worker(SIGNAL_ARGS) noexcept {
  terminated = true;
  die(postgres_signal_arg);
}

}  // namespace store_monitoring::pg
