// Report workers and the recovery launcher.
//
// A report worker serves one database: it takes a worker slot (a lock below
// store_monitoring.max_workers), then claims Running reports one by one (a
// lock on the report's lock_key, held until the report is written) and
// computes each in its own transaction. The report's rows and its switch to
// Complete commit together. A worker that dies releases its locks with its
// process, so a Running report nobody holds is orphaned and the next worker
// claims it again; after max_attempts interrupted runs it is marked Failed.
// The locks live in a tag space no SQL function can reach (worker.hpp).
//
// A worker never spins: a write that fails (claim, Failed mark) or a look
// that finds work it cannot claim is retried after a growing pause, at most
// kMaxTroubles times in a row; then the worker exits and the report waits
// for the next get_report/wait_report call or launcher round.
#include "pg/worker/worker.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/worker/progress.hpp"
#include "pg/read/report_compute.hpp"
#include "pg/store/report_store.hpp"
#include "pg/common/settings.hpp"
#include "pg/shards/shards.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr size_t kReportIdBytes = 128;

MemoryContext worker_context = nullptr;
// The worker's query text in pg_stat_activity: names the report it computes.
char activity[128] = "store_monitoring report worker";

// Failed writes or fruitless looks in a row after which a worker exits.
constexpr int kMaxTroubles = 5;
constexpr long kFirstBackOffMs = 50;
constexpr long kMaxBackOffMs = 2000;
// Background-worker slots the launcher leaves free for everyone else
// (parallel query, replication, other extensions).
constexpr int kReservedWorkerSlots = 1;

// ---------------------------------------------------------------------------
// Locks held for the life of the worker's claim (session level: they survive
// transaction ends and vanish with the process). See kLockTagSpace.

LOCKTAG lock_tag(uint32 lock_class, uint32 key) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, lock_class, key, kLockTagSpace);
  return tag;
}

bool try_lock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = lock_tag(lock_class, key);
  return pg_call([&] { return LockAcquire(&tag, ExclusiveLock, true, true); }) !=
         LOCKACQUIRE_NOT_AVAIL;
}

void unlock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = lock_tag(lock_class, key);
  pg_call([&] { LockRelease(&tag, ExclusiveLock, true); });
}

std::optional<int> acquire_slot() {
  int slots = current_settings().max_workers;
  for (int slot = 0; slot < slots; ++slot)
    if (try_lock(kSlotLockClass, static_cast<uint32>(slot))) return slot;
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Interrupts and pauses between transactions.

bool is_cancel(const PgError& error) {
  return error.data() != nullptr && error.data()->sqlerrcode == ERRCODE_QUERY_CANCELED;
}

// CHECK_FOR_INTERRUPTS while the worker holds no report: a cancel
// (pg_cancel_backend) has nothing to stop there and is ignored; a
// termination exits as usual.
void check_interrupts_between_reports() {
  try {
    pg_call([] { CHECK_FOR_INTERRUPTS(); });
  } catch (const PgError& error) {
    if (!is_cancel(error)) throw;
  }
}

// Sleeps before try number `troubles` + 1: 50 ms, doubling, at most 2 s.
void back_off(int troubles) {
  long ms = std::min(kMaxBackOffMs, kFirstBackOffMs << std::min(troubles - 1, 10));
  pg_call([&] {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  });
  check_interrupts_between_reports();
}

// A write that keeps failing is logged once: at WARNING when it is new (the
// report's row did not say so already) and this worker has not warned yet,
// at DEBUG1 on every later try, by this worker or the next.
void log_trouble(const std::string& message, bool is_new) {
  static bool warned = false;
  int level = is_new && !warned ? WARNING : DEBUG1;
  warned = warned || level == WARNING;
  pg_call([&] { ereport(level, (errmsg("%s", message.c_str()))); });
}

// ---------------------------------------------------------------------------
// Transactions. Each body runs C++ inside pg_entry, so its frames are gone
// before a PostgreSQL error longjmps to the handler here.

struct TransactionResult {
  bool ok;
  std::string error;    // message (and detail) of the error that rolled it back
  std::string message;  // the message alone (details name values that change)
};

using TransactionBody = void (*)(void* state);

// search_path pinned again for each transaction's own statements, whatever
// a setting left in the session (reads of users' relations roll theirs back
// in OwnerRead; this is the second wall).
void run_body(TransactionBody body, void* state) {
  pg_entry([&] {
    PinnedSearchPath safe_names;
    body(state);
  });
}

// No C++ object with a destructor may live in this frame: it hosts the
// sigsetjmp of PG_TRY.
bool run_transaction_raw(TransactionBody body, void* state, char** error, char** message) {
  volatile bool ok = false;
  PG_TRY();
  {
    StartTransactionCommand();
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, activity);
    run_body(body, state);
    PopActiveSnapshot();
    SPI_finish();
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    ok = true;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(worker_context);
    ErrorData* data = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    pgstat_report_activity(STATE_IDLE, nullptr);
    *message = pstrdup(data->message ? data->message : "unknown error");
    *error = data->detail ? psprintf("%s (%s)", *message, data->detail) : pstrdup(*message);
    FreeErrorData(data);
  }
  PG_END_TRY();
  return ok;
}

template <typename Fn>
TransactionResult in_transaction(Fn&& fn) {
  char* error = nullptr;
  char* message = nullptr;
  auto body = [](void* state) { (*static_cast<Fn*>(state))(); };
  bool ok = run_transaction_raw(body, &fn, &error, &message);
  TransactionResult result{ok, error ? std::string(error) : std::string(),
                           message ? std::string(message) : std::string()};
  if (error) pfree(error);
  if (message) pfree(message);
  return result;
}

// ---------------------------------------------------------------------------

std::string text_value(Datum value) {
  text* t = pg_call([&] { return DatumGetTextPP(value); });
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

struct Claim {
  ReportJob job;
  uint32 lock_key;
  bool as_of_known;
  TimestampTz requested_at;
};

// Where the report row can still be written, says why the worker could not
// finish it (list_reports() and get_report() show the error; the report
// stays Running and is retried). True when that is news: the row said
// something else, or could not be written.
bool note_trouble(const std::string& report_id, const std::string& note) {
  bool changed = true;
  (void)in_transaction([&] {
    changed = spi_execute(
                  "UPDATE _store_monitoring_internal.report SET error = $2 "
                  "WHERE report_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) "
                  "'Running' AND error IS DISTINCT FROM $2",
                  {{TEXTOID, text_datum(report_id)}, {TEXTOID, text_datum(note)}}, false) > 0;
  });
  return changed;
}

// False when the report could not be marked (it stays Running).
bool mark_failed(const std::string& report_id, const std::string& message) {
  // fail_report (report_store.cpp) also announces the end (NOTIFY).
  TransactionResult result = in_transaction([&] { (void)fail_report(report_id, message); });
  if (result.ok) return true;
  bool is_new = note_trouble(
      report_id, "could not be marked Failed (" + result.message + ") after: " + message);
  log_trouble(
      "store_monitoring could not mark report \"" + report_id + "\" failed: " + result.error,
      is_new);
  return false;
}

struct ClaimResult {
  std::optional<Claim> claim;
  bool failed = false;  // a write failed; every lock taken is released
};

// Claims a Running report nobody holds, in a committed transaction (so
// attempts counts runs that were interrupted). Fair across roles: each
// report's turn is its rank among its owner's Running reports (those being
// computed first, as the oldest), so the workers serve the roles round-robin
// and a role with a long queue delays another role's report by at most one
// report per worker. Within a turn the oldest goes first.
ClaimResult claim_next_report() {
  ClaimResult outcome;
  struct Exhausted {
    std::string report_id;
    uint32 lock_key;
    std::string message;
  };
  std::vector<Exhausted> exhausted;
  std::vector<uint32> locked;  // report locks taken in the transaction and kept
  std::string claiming;        // the report being claimed when an error struck
  int max_attempts = current_settings().max_attempts;
  TransactionResult result = in_transaction([&] {
    // Only workers hold report locks, at most one each (max_workers <= 64),
    // so the first 100 Running reports include any that nobody holds. The
    // Running reports are few (store_monitoring.max_queued_per_role per role)
    // and read through their partial index.
    uint64 count = spi_execute(
        "SELECT report_id, lock_key FROM (SELECT report_id, lock_key, requested_at, "
        "pg_catalog.row_number() OVER (PARTITION BY owner ORDER BY requested_at, lock_key) "
        "AS turn FROM _store_monitoring_internal.report "
        "WHERE status OPERATOR(pg_catalog.=) 'Running') r "
        "ORDER BY turn, requested_at, lock_key LIMIT 100",
        {}, false);
    std::vector<std::pair<std::string, uint32>> candidates;
    bool is_null = false;
    for (uint64 i = 0; i < count; ++i)
      candidates.emplace_back(text_value(spi_value(i, 1, &is_null)),
                              static_cast<uint32>(DatumGetInt64(spi_value(i, 2, &is_null))));
    for (const auto& [report_id, lock_key] : candidates) {
      if (!try_lock(kReportLockClass, lock_key)) continue;
      locked.push_back(lock_key);
      claiming = report_id;
      // Re-read under the lock in a fresh snapshot: another worker may have
      // finished it since the list above was read.
      uint64 found = spi_execute(
          "SELECT status, owner, as_of, max_extrapolation, interpolation, attempts, requested_at "
          "FROM _store_monitoring_internal.report WHERE report_id OPERATOR(pg_catalog.=) $1",
          {{TEXTOID, text_datum(report_id)}}, false);
      if (found == 0 ||
          text_value(spi_value(0, 1, &is_null)) != status_text(ReportStatus::Running)) {
        unlock(kReportLockClass, lock_key);
        locked.pop_back();
        continue;
      }
      int attempts = DatumGetInt32(spi_value(0, 6, &is_null));
      if (attempts >= max_attempts) {
        exhausted.push_back({report_id, lock_key,
                             "the report's worker was interrupted " + std::to_string(attempts) +
                                 " times (killed, crashed, or the server stopped); giving up "
                                 "(store_monitoring.max_attempts)"});
        continue;  // keep the lock until it is marked Failed below
      }
      Claim claim{};
      claim.lock_key = lock_key;
      claim.job.report_id = report_id;
      claim.job.owner = DatumGetObjectId(spi_value(0, 2, &is_null));
      Datum as_of = spi_value(0, 3, &is_null);
      claim.as_of_known = !is_null;
      claim.job.as_of = is_null ? 0 : DatumGetTimestampTz(as_of);
      auto* span = reinterpret_cast<Interval*>(DatumGetPointer(spi_value(0, 4, &is_null)));
      claim.job.max_extrapolation_us = span->time + span->day * USECS_PER_DAY;
      claim.job.interpolation = text_value(spi_value(0, 5, &is_null)) == "previous"
                                    ? InterpolationSetting::previous
                                    : InterpolationSetting::nearest;
      claim.requested_at = DatumGetTimestampTz(spi_value(0, 7, &is_null));
      spi_execute(
          "UPDATE _store_monitoring_internal.report SET phase = 'computing', attempts = attempts "
          "OPERATOR(pg_catalog.+) "
          "1, started_at = pg_catalog.clock_timestamp(), "
          "worker_pid = pg_catalog.pg_backend_pid() WHERE report_id OPERATOR(pg_catalog.=) $1",
          {{TEXTOID, text_datum(report_id)}}, false);
      progress_begin(report_id);
      outcome.claim = std::move(claim);
      break;
    }
  });
  if (!result.ok) {
    // Whatever the transaction locked is no longer ours to finish.
    for (uint32 lock_key : locked) unlock(kReportLockClass, lock_key);
    bool is_new =
        claiming.empty() || note_trouble(claiming, "could not be claimed: " + result.message);
    log_trouble("store_monitoring could not claim a report: " + result.error, is_new);
    return {std::nullopt, true};
  }
  for (const Exhausted& report : exhausted) {
    if (!mark_failed(report.report_id, report.message)) outcome.failed = true;
    unlock(kReportLockClass, report.lock_key);
  }
  return outcome;
}

bool process_report(Claim& claim);

// Names the report in the query text while computing it (empty: none). Only
// the query text: PostgreSQL shows it to superusers and pg_read_all_stats
// alone (the worker runs as the bootstrap superuser), while application_name
// is shown to every role, and a report id is its owner's secret (whoever
// holds it may read, cancel or delete the report where privileges allow,
// and can forge its completion event). So application_name never changes.
void show_report(const std::string& report_id) {
  snprintf(activity, sizeof(activity), "%s",
           report_id.empty() ? "store_monitoring report worker"
                             : ("store_monitoring report worker: report " + report_id).c_str());
  pg_call([&] { pgstat_report_activity(STATE_IDLE, activity); });
}

// store_monitoring.report_timeout and cancel_report() for one report, on the
// worker's own clock: a statement timeout alone is a cancel, which a source
// function may catch (EXCEPTION WHEN query_canceled) and carry on. At the
// deadline, or once a cancel shows in the worker's segment (looked at every
// kWatchMs), the report is first canceled as a statement is, so that an
// ordinary source ends with the report's usual error and the worker lives
// on; a report still running kGraceTicks later is stopped with FATAL, which
// no PL exception block catches, and the exit callback below marks it
// Failed. Either way a report stopped so never ends Complete.
constexpr int kWatchMs = 100;
constexpr int kGraceTicks = 5;

// Written by the timeout handlers (signal context) and read by the worker.
volatile sig_atomic_t guarding = false;  // a report is being computed
volatile sig_atomic_t deadline_passed = false;
volatile sig_atomic_t stop_ticks = 0;      // watch ticks since the stop was asked; 0: none
volatile sig_atomic_t may_force = true;    // watch and force; false: a coordinator
volatile sig_atomic_t forced = false;      // ProcDiePending set by on_watch_tick
volatile sig_atomic_t terminated = false;  // a SIGTERM came (see terminate_worker)
TimeoutId deadline_timeout = MAX_TIMEOUTS;
TimeoutId watch_timeout = MAX_TIMEOUTS;
int guarded_timeout_ms = 0;
char guarded_report[kReportIdBytes] = "";

void ask_to_stop() {
  if (!guarding || stop_ticks != 0) return;
  stop_ticks = 1;
  QueryCancelPending = true;
  InterruptPending = true;
  SetLatch(MyLatch);
}

void on_report_deadline() {
  deadline_passed = true;
  ask_to_stop();
}

void on_watch_tick() {
  if (!guarding || !may_force) return;
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

// Why the guarded report was stopped, if it was: the timeout, or who
// canceled it (needs a transaction: the role is looked up).
std::optional<std::string> stop_message() {
  if (deadline_passed) return report_timeout_message();
  return progress_cancel_message();
}

// Throws the stop as an error: called before a report's result commits.
void throw_if_stopped() {
  if (deadline_passed) throw UserError(ERRCODE_QUERY_CANCELED, report_timeout_message());
  throw_if_canceled();
}

// before_shmem_exit: the worker is exiting (FATAL) in the middle of a
// report it was told to stop. Ends the report Failed with the reason rather
// than leaving it orphaned, to be claimed and run again max_attempts times.
// A transaction can run here once the interrupted one is aborted (as
// PostgreSQL's own RemoveTempRelationsCallback does). A worker terminated
// for another reason leaves its report to be retried, as before.
void fail_stopped_report(int, Datum) {
  if (!guarding || (!deadline_passed && !progress_cancel_requested())) return;
  guarding = false;
  disable_all_timeouts(false);
  QueryCancelPending = false;
  // A SIGTERM meanwhile (a fast shutdown) must not strike in the middle of
  // the write: the process exits right after it anyway.
  HOLD_INTERRUPTS();
  // Bare: these end the aborted transaction's state and raise no error.
  AbortOutOfAnyTransaction();
  MemoryContextSwitchTo(worker_context);
  try {
    std::string report_id(guarded_report);
    std::string message = report_timeout_message();
    (void)in_transaction([&] { message = stop_message().value_or(message); });
    // Bare: a LOG message returns (no longjmp).
    ereport(LOG, (errmsg("store_monitoring report %s: worker stopped: %s", report_id.c_str(),
                         message.c_str())));
    (void)mark_failed(report_id, message);
  } catch (...) {
    // Nothing more to do on the way out: the report is then retried.
  }
}

class ReportGuard {
 public:
  ReportGuard(const std::string& report_id, int timeout_ms) {
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
    guarding = true;
    pg_call([&] {
      if (timeout_ms > 0) enable_timeout_after(deadline_timeout, timeout_ms);
      enable_timeout_every(watch_timeout,
                           TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kWatchMs), kWatchMs);
    });
  }
  // Never raises. From here on the worker only writes the report's end: no
  // more stops, and a cancel asked for it is no longer pending.
  ~ReportGuard() { end(); }
  static void end() noexcept {
    guarding = false;
    disable_timeout(deadline_timeout, false);
    disable_timeout(watch_timeout, false);
    if (stop_ticks != 0) QueryCancelPending = false;
    // The report ended (its abort can outlast the grace) before the stop
    // struck: the worker writes its end and lives on, unless terminated.
    if (forced && !terminated) ProcDiePending = false;
    forced = false;
  }
  // A coordinator runs no role's code itself (its shards compute), watches
  // for cancel_report in its own waits, and cancels the shards' reports
  // after a stop, which a FATAL would cut short: its deadline only cancels.
  static void coordinator() noexcept { may_force = false; }
  ReportGuard(const ReportGuard&) = delete;
  ReportGuard& operator=(const ReportGuard&) = delete;
};

// Computes a claimed report; false when neither its result nor its failure
// could be written.
bool process(Claim& claim) {
  show_report(claim.job.report_id);
  bool written = process_report(claim);
  progress_end();
  show_report({});
  return written;
}

bool process_report(Claim& claim) {
  ReportGuard guard(claim.job.report_id, current_settings().report_timeout_ms);
  // Fails the report; when it was stopped (timeout, cancel_report), with why,
  // whatever step noticed it.
  auto fail = [&](const std::string& error) {
    ReportGuard::end();
    std::string message = error;
    in_transaction([&] { message = stop_message().value_or(message); });
    return mark_failed(claim.job.report_id, message);
  };
  bool sharded = false;
  if (in_transaction([&] { sharded = database_has_shards(); }).ok && sharded) {
    ReportGuard::coordinator();
    try {
      pause_for_testing(PausePoint::claimed);
    } catch (const PgError& error) {
      return fail(error.what());
    }
    std::optional<std::string> error = compute_report_on_shards(
        claim.job, claim.as_of_known, claim.requested_at,
        [](const std::function<void()>& body) -> std::optional<std::string> {
          TransactionResult result = in_transaction([&] { body(); });
          if (result.ok) return std::nullopt;
          return result.error;
        });
    return error ? fail(*error) : true;
  }
  try {
    if (!claim.as_of_known) {
      TransactionResult resolved = in_transaction([&] {
        claim.job.as_of = resolve_latest_as_of(claim.job, claim.requested_at);
        spi_execute(
            "UPDATE _store_monitoring_internal.report SET as_of = $2 WHERE report_id "
            "OPERATOR(pg_catalog.=) $1",
            {{TEXTOID, text_datum(claim.job.report_id)},
             {TIMESTAMPTZOID, TimestampTzGetDatum(claim.job.as_of)}},
            false);
      });
      if (!resolved.ok) return fail(resolved.error);
    }
    pause_for_testing(PausePoint::claimed);
  } catch (const PgError& error) {
    // An error between transactions, such as a cancel (pg_cancel_backend):
    // the same outcome as inside the computing transaction, Failed.
    return fail(error.what());
  }
  TransactionResult computed = in_transaction([&] {
    compute_and_store_report(claim.job);
    throw_if_stopped();  // past its deadline a report never commits Complete
  });
  if (computed.ok) return true;
  return fail(computed.error);
}

// The extension is installed here at the version this library serves (a
// database not yet updated after new library files keeps its reports until
// ALTER EXTENSION ... UPDATE).
bool extension_installed() {
  return in_transaction([] { require_current_extension_version(); }).ok;
}

bool has_unclaimed_reports() {
  bool any = false;
  in_transaction([&] { any = any_orphaned_report(); });
  return any;
}

void reload_config_if_requested() {
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    pg_call([] { ProcessConfigFile(PGC_SIGHUP); });
  }
}

void serve_database() {
  if (!extension_installed()) return;
  int troubles = 0;  // failed writes in a row
  int looks = 0;     // looks in a row that found work but claimed nothing
  std::optional<int> slot = acquire_slot();
  while (slot) {
    for (;;) {
      reload_config_if_requested();
      check_interrupts_between_reports();
      ClaimResult claimed = claim_next_report();
      bool wrote = !claimed.failed;
      if (claimed.claim) {
        looks = 0;
        wrote = process(*claimed.claim) && wrote;
        wake_report_waiters(claimed.claim->lock_key);
        TransactionResult retention = in_transaction([] { apply_report_retention(); });
        if (!retention.ok)
          ereport(WARNING, (errmsg("store_monitoring could not apply report_retention: %s",
                                   retention.error.c_str())));
        unlock(kReportLockClass, claimed.claim->lock_key);
      }
      if (wrote) {
        troubles = 0;
        if (!claimed.claim) break;
        continue;
      }
      if (++troubles >= kMaxTroubles) break;
      back_off(troubles);
    }
    // Release the slot before the last look, so that a worker launched for a
    // report committed meanwhile finds the slot free, or we find the report.
    unlock(kSlotLockClass, static_cast<uint32>(*slot));
    slot.reset();
    if (troubles >= kMaxTroubles) return;  // logged; resumed by a later worker
    if (has_unclaimed_reports()) {
      if (++looks > kMaxTroubles) return;
      if (looks > 1) back_off(looks - 1);
      slot = acquire_slot();
    }
  }
}

// SIGTERM: as PostgreSQL's die(), noting that the termination is not the
// report guard's own stop (which it may withdraw, see ReportGuard::end).
void terminate_worker(SIGNAL_ARGS) {
  terminated = true;
  die(postgres_signal_arg);
}

// Connects a worker to `database` with the settings the extension's own SQL
// needs, whatever the database's or roles' defaults say.
void connect_worker(Oid database) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, terminate_worker);
  BackgroundWorkerUnblockSignals();
  // No user: the worker runs as the bootstrap superuser and acts as the
  // report's owner only while reading the inputs (see report_compute.cpp).
  BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
  // Database or role settings must not redirect the names in our SQL.
  SetConfigOption("search_path", kSafeSearchPath, PGC_SUSET, PGC_S_OVERRIDE);
  // The worker writes the extension's own state for reports that were
  // accepted (trigger_report() committed): a database made read-only by
  // default (ALTER DATABASE ... SET default_transaction_read_only) must not
  // leave them Running for ever. Its claim also relies on fresh snapshots.
  SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
  SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
  // Compiling the read's expressions costs more than it saves (one pass).
  SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);
  // Every role sees application_name: it names the kind of process, never a
  // report (show_report).
  SetConfigOption("application_name", "store_monitoring worker", PGC_SUSET, PGC_S_OVERRIDE);
  worker_context =
      AllocSetContextCreate(TopMemoryContext, "store_monitoring worker", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(worker_context);
}

// Background-worker slots not in use: max_worker_processes less the running
// background workers (every one that attached to shared memory shows in the
// backend status array). Workers registered but not started yet are not
// seen, so this is an estimate, enough to leave slots to others.
int free_worker_slots() {
  pgstat_clear_backend_activity_snapshot();
  int running = 0;
  int backends = pgstat_fetch_stat_numbackends();
  for (int i = 1; i <= backends; ++i) {
    LocalPgBackendStatus* status = compat::local_backend_status(i);
    if (status != nullptr && status->backendStatus.st_backendType == B_BG_WORKER) ++running;
  }
  pgstat_clear_backend_activity_snapshot();
  return max_worker_processes - running;
}

BackgroundWorker worker_definition(Oid database, const char* function, const char* type) {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  // Never restarted by the postmaster: recovery is ours (see README, FAQ).
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(worker.bgw_library_name, "store_monitoring", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
  snprintf(worker.bgw_name, BGW_MAXLEN, "%s for database %u", type, database);
  strlcpy(worker.bgw_type, type, BGW_MAXLEN);
  worker.bgw_main_arg = ObjectIdGetDatum(database);
  return worker;
}

// Launcher: runs the recovery check of one database and waits for it to end
// (it lasts one short transaction). False when no slot could be had.
bool check_database(Oid database) {
  BackgroundWorker worker = worker_definition(database, "store_monitoring_recovery_check_main",
                                              "store_monitoring recovery check");
  worker.bgw_notify_pid = MyProcPid;
  BackgroundWorkerHandle* handle = nullptr;
  if (!RegisterDynamicBackgroundWorker(&worker, &handle)) return false;
  (void)WaitForBackgroundWorkerShutdown(handle);
  pfree(handle);
  return true;
}

}  // namespace

bool any_orphaned_report() {
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "SELECT 1 FROM _store_monitoring_internal.report r WHERE r.status "
           "OPERATOR(pg_catalog.=) 'Running' "
           "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
           "WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.database "
           "OPERATOR(pg_catalog.=) %u AND l.classid OPERATOR(pg_catalog.=) %u "
           "AND l.objid OPERATOR(pg_catalog.=) (r.lock_key OPERATOR(pg_catalog.&) 4294967295)::oid "
           "AND l.objsubid OPERATOR(pg_catalog.=) %d) LIMIT 1",
           MyDatabaseId, kReportLockClass, static_cast<int>(kLockTagSpace));
  return spi_execute(sql, {}, false, 1) > 0;
}

std::string queued_reason() {
  // RecoveryInProgress() reads shared memory and raises no error (bare).
  if (RecoveryInProgress()) return "reports are computed on the primary (this is a standby)";
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "SELECT (SELECT count(*) FROM pg_catalog.pg_locks l WHERE l.locktype "
           "OPERATOR(pg_catalog.=) 'advisory' "
           "AND l.database OPERATOR(pg_catalog.=) %u AND l.classid OPERATOR(pg_catalog.=) %u AND "
           "l.objsubid OPERATOR(pg_catalog.=) %d AND l.granted), "
           "(SELECT count(*) FROM pg_catalog.pg_stat_activity a "
           "WHERE a.backend_type OPERATOR(pg_catalog.=) 'store_monitoring worker' AND a.datid "
           "OPERATOR(pg_catalog.=) %u)",
           MyDatabaseId, kSlotLockClass, static_cast<int>(kLockTagSpace), MyDatabaseId);
  spi_execute(sql, {}, true);
  bool is_null = false;
  int64 busy = DatumGetInt64(spi_value(0, 1, &is_null));
  int64 running = DatumGetInt64(spi_value(0, 2, &is_null));
  int max_workers = current_settings().max_workers;
  if (busy >= max_workers)
    return "a worker: all " + std::to_string(max_workers) +
           " report workers of this database (store_monitoring.max_workers) are busy";
  if (running == 0)
    return "a worker: none runs in this database (no free background-worker slot, see "
           "max_worker_processes, or one is starting); get_report(), wait_report() and the "
           "launcher start one";
  return "a worker of this database to claim it";
}

bool launch_report_worker(Oid database) noexcept {
  // Raises no error (a shared-memory read), so it is safe in noexcept code.
  if (RecoveryInProgress()) return false;
  BackgroundWorker worker =
      worker_definition(database, "store_monitoring_worker_main", "store_monitoring worker");
  return RegisterDynamicBackgroundWorker(&worker, nullptr);
}

void register_launcher() {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 5;  // seconds; also relaunched after a crash restart
  strlcpy(worker.bgw_library_name, "store_monitoring", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "store_monitoring_launcher_main", BGW_MAXLEN);
  strlcpy(worker.bgw_name, "store_monitoring launcher", BGW_MAXLEN);
  strlcpy(worker.bgw_type, "store_monitoring launcher", BGW_MAXLEN);
  RegisterBackgroundWorker(&worker);
}

}  // namespace store_monitoring::pg

using namespace store_monitoring::pg;

void store_monitoring_worker_main(Datum main_arg) {
  connect_worker(DatumGetObjectId(main_arg));
  pg_entry([] { serve_database(); });
  proc_exit(0);
}

// Started by the launcher in one database at a time: starts a report worker
// when a Running report has none, provided that leaves
// kReservedWorkerSlots background-worker slots free (it exits right after,
// giving its own slot back).
void store_monitoring_recovery_check_main(Datum main_arg) {
  connect_worker(DatumGetObjectId(main_arg));
  pg_entry([] {
    if (!extension_installed() || !has_unclaimed_reports()) return;
    if (pg_call([] { return free_worker_slots(); }) <= kReservedWorkerSlots ||
        !launch_report_worker(MyDatabaseId))
      pg_call([] {
        ereport(LOG, (errmsg("store_monitoring: reports of database %u wait for a worker; no "
                             "free background-worker slot to spare, trying again at the next "
                             "launcher round",
                             MyDatabaseId)));
      });
  });
  proc_exit(0);
}

// Preload mode only: at start-up, after a crash restart, and every
// store_monitoring.recovery_interval, checks the databases that accept
// connections one at a time, each with a short-lived recovery check that
// starts a report worker only where a Running report has none. A round stops
// when no more than kReservedWorkerSlots background-worker slots are free;
// the next round starts after the last database checked, so every database
// gets its turn however few slots there are.
void store_monitoring_launcher_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  MemoryContext round_context =
      AllocSetContextCreate(TopMemoryContext, "store_monitoring launcher", ALLOCSET_DEFAULT_SIZES);
  Oid last_checked = InvalidOid;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    MemoryContext previous = MemoryContextSwitchTo(round_context);
    List* databases = NIL;
    StartTransactionCommand();
    Relation relation = table_open(DatabaseRelationId, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(relation, 0, nullptr);
    HeapTuple tuple;
    while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
      auto* database = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
      if (database->datallowconn && !database->datistemplate) {
        MemoryContext inner = MemoryContextSwitchTo(round_context);
        databases = lappend_oid(databases, database->oid);
        MemoryContextSwitchTo(inner);
      }
    }
    table_endscan(scan);
    table_close(relation, AccessShareLock);
    CommitTransactionCommand();
    MemoryContextSwitchTo(round_context);
    list_sort(databases, list_oid_cmp);
    // In turn: first the databases after the last one checked, then the rest.
    int count = list_length(databases);
    int first = 0;
    while (first < count && list_nth_oid(databases, first) <= last_checked) ++first;
    for (int i = 0; i < count; ++i) {
      Oid database = list_nth_oid(databases, (first + i) % count);
      if (free_worker_slots() <= kReservedWorkerSlots + 1 || !check_database(database)) break;
      last_checked = database;
      CHECK_FOR_INTERRUPTS();
    }
    MemoryContextSwitchTo(previous);
    MemoryContextReset(round_context);
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                    current_settings().recovery_interval * 1000L, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}
