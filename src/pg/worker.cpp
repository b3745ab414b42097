// Report workers and the recovery launcher.
//
// A report worker serves one database: it takes a worker slot (an advisory
// lock below store_monitoring.max_workers), then claims Running reports one
// by one (an advisory lock on the report's lock_key, held until the report is
// written) and computes each in its own transaction. The report's rows and
// its switch to Complete commit together. A worker that dies releases its
// locks with its process, so a Running report nobody holds is orphaned and
// the next worker claims it again; after max_attempts interrupted runs it is
// marked Failed.
#include "pg/worker.hpp"

#include "pg/extension.hpp"
#include "pg/pg_boundary.hpp"
#include "pg/report_compute.hpp"
#include "pg/settings.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
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
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include <optional>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

MemoryContext worker_context = nullptr;

// ---------------------------------------------------------------------------
// Advisory locks held for the life of the worker's claim (session level: they
// survive transaction ends and vanish with the process).

LOCKTAG advisory_tag(uint32 lock_class, uint32 key) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, lock_class, key, 2);
  return tag;
}

bool try_lock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = advisory_tag(lock_class, key);
  return pg_call([&] { return LockAcquire(&tag, ExclusiveLock, true, true); }) !=
         LOCKACQUIRE_NOT_AVAIL;
}

void unlock(uint32 lock_class, uint32 key) {
  LOCKTAG tag = advisory_tag(lock_class, key);
  pg_call([&] { LockRelease(&tag, ExclusiveLock, true); });
}

std::optional<int> acquire_slot() {
  int slots = current_settings().max_workers;
  for (int slot = 0; slot < slots; ++slot)
    if (try_lock(kSlotLockClass, static_cast<uint32>(slot))) return slot;
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Transactions. Each body runs C++ inside pg_entry, so its frames are gone
// before a PostgreSQL error longjmps to the handler here.

struct TransactionResult {
  bool ok;
  std::string error;  // message (and detail) of the error that rolled it back
};

using TransactionBody = void (*)(void* state);

void run_body(TransactionBody body, void* state) {
  pg_entry([&] { body(state); });
}

// No C++ object with a destructor may live in this frame: it hosts the
// sigsetjmp of PG_TRY.
bool run_transaction_raw(TransactionBody body, void* state, char** error) {
  volatile bool ok = false;
  PG_TRY();
  {
    StartTransactionCommand();
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "store_monitoring report worker");
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
    *error = data->detail ? psprintf("%s (%s)", data->message, data->detail)
                          : pstrdup(data->message ? data->message : "unknown error");
    FreeErrorData(data);
  }
  PG_END_TRY();
  return ok;
}

template <typename Fn>
TransactionResult in_transaction(Fn&& fn) {
  char* error = nullptr;
  auto body = [](void* state) { (*static_cast<Fn*>(state))(); };
  bool ok = run_transaction_raw(body, &fn, &error);
  TransactionResult result{ok, error ? std::string(error) : std::string()};
  if (error) pfree(error);
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

void mark_failed(const std::string& report_id, const std::string& message) {
  TransactionResult result = in_transaction([&] {
    spi_execute(
        "UPDATE _store_monitoring_internal.report SET status = 'Failed', phase = 'done', "
        "finished_at = pg_catalog.clock_timestamp(), error = $2 "
        "WHERE report_id = $1 AND status = 'Running'",
        {{TEXTOID, text_datum(report_id)}, {TEXTOID, text_datum(message)}}, false);
  });
  if (!result.ok)
    ereport(WARNING, (errmsg("store_monitoring could not mark report \"%s\" failed: %s",
                             report_id.c_str(), result.error.c_str())));
}

// Claims the oldest Running report nobody holds, in a committed transaction
// (so attempts counts runs that were interrupted).
std::optional<Claim> claim_next_report() {
  std::optional<Claim> claimed;
  struct Exhausted {
    std::string report_id;
    uint32 lock_key;
    std::string message;
  };
  std::vector<Exhausted> exhausted;
  int max_attempts = current_settings().max_attempts;
  TransactionResult result = in_transaction([&] {
    uint64 count = spi_execute(
        "SELECT report_id, lock_key FROM _store_monitoring_internal.report "
        "WHERE status = 'Running' ORDER BY requested_at, lock_key LIMIT 100",
        {}, false);
    std::vector<std::pair<std::string, uint32>> candidates;
    bool is_null = false;
    for (uint64 i = 0; i < count; ++i)
      candidates.emplace_back(text_value(spi_value(i, 1, &is_null)),
                              static_cast<uint32>(DatumGetInt64(spi_value(i, 2, &is_null))));
    for (const auto& [report_id, lock_key] : candidates) {
      if (!try_lock(kReportLockClass, lock_key)) continue;
      // Re-read under the lock in a fresh snapshot: another worker may have
      // finished it since the list above was read.
      uint64 found = spi_execute(
          "SELECT status, owner, as_of, max_extrapolation, interpolation, attempts, requested_at "
          "FROM _store_monitoring_internal.report WHERE report_id = $1",
          {{TEXTOID, text_datum(report_id)}}, false);
      if (found == 0 || text_value(spi_value(0, 1, &is_null)) != "Running") {
        unlock(kReportLockClass, lock_key);
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
          "UPDATE _store_monitoring_internal.report SET phase = 'computing', attempts = attempts + "
          "1, "
          "started_at = pg_catalog.clock_timestamp(), worker_pid = pg_catalog.pg_backend_pid() "
          "WHERE report_id = $1",
          {{TEXTOID, text_datum(report_id)}}, false);
      claimed = std::move(claim);
      break;
    }
  });
  for (const Exhausted& report : exhausted) {
    if (result.ok) mark_failed(report.report_id, report.message);
    unlock(kReportLockClass, report.lock_key);
  }
  if (!result.ok) {
    if (claimed) unlock(kReportLockClass, claimed->lock_key);
    ereport(WARNING,
            (errmsg("store_monitoring could not claim a report: %s", result.error.c_str())));
    return std::nullopt;
  }
  return claimed;
}

void process(Claim& claim) {
  if (!claim.as_of_known) {
    TransactionResult resolved = in_transaction([&] {
      claim.job.as_of = resolve_latest_as_of(claim.job, claim.requested_at);
      spi_execute("UPDATE _store_monitoring_internal.report SET as_of = $2 WHERE report_id = $1",
                  {{TEXTOID, text_datum(claim.job.report_id)},
                   {TIMESTAMPTZOID, TimestampTzGetDatum(claim.job.as_of)}},
                  false);
    });
    if (!resolved.ok) {
      mark_failed(claim.job.report_id, resolved.error);
      return;
    }
  }
  pause_for_testing(PausePoint::claimed);
  TransactionResult computed = in_transaction([&] { compute_and_store_report(claim.job); });
  if (!computed.ok) mark_failed(claim.job.report_id, computed.error);
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
  std::optional<int> slot = acquire_slot();
  while (slot) {
    for (;;) {
      reload_config_if_requested();
      pg_call([] { CHECK_FOR_INTERRUPTS(); });
      std::optional<Claim> claim = claim_next_report();
      if (!claim) break;
      process(*claim);
      unlock(kReportLockClass, claim->lock_key);
    }
    // Release the slot before the last look, so that a worker launched for a
    // report committed meanwhile finds the slot free, or we find the report.
    unlock(kSlotLockClass, static_cast<uint32>(*slot));
    slot.reset();
    if (has_unclaimed_reports()) slot = acquire_slot();
  }
}

}  // namespace

bool any_orphaned_report() {
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "SELECT 1 FROM _store_monitoring_internal.report r WHERE r.status = 'Running' "
           "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
           "WHERE l.locktype = 'advisory' AND l.database = %u AND l.classid = %u "
           "AND l.objid = (r.lock_key & 4294967295)::oid AND l.objsubid = 2) LIMIT 1",
           MyDatabaseId, kReportLockClass);
  return spi_execute(sql, {}, false, 1) > 0;
}

bool launch_report_worker(Oid database) noexcept {
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  // Never restarted by the postmaster: recovery is ours (see README, FAQ).
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(worker.bgw_library_name, "store_monitoring", BGW_MAXLEN);
  strlcpy(worker.bgw_function_name, "store_monitoring_worker_main", BGW_MAXLEN);
  snprintf(worker.bgw_name, BGW_MAXLEN, "store_monitoring worker for database %u", database);
  strlcpy(worker.bgw_type, "store_monitoring worker", BGW_MAXLEN);
  worker.bgw_main_arg = ObjectIdGetDatum(database);
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
  Oid database = DatumGetObjectId(main_arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  // No user: the worker runs as the bootstrap superuser and acts as the
  // report's owner only while reading the inputs (see report_compute.cpp).
  BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
  // Database or role settings must not redirect the names in our SQL.
  SetConfigOption("search_path", kSafeSearchPath, PGC_SUSET, PGC_S_OVERRIDE);
  // Compiling the read's expressions costs more than it saves (one pass).
  SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);
  worker_context =
      AllocSetContextCreate(TopMemoryContext, "store_monitoring worker", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(worker_context);
  pg_entry([] { serve_database(); });
  proc_exit(0);
}

// Preload mode only: at start-up, after a crash restart, and every
// store_monitoring.recovery_interval, start a worker in every database that
// accepts connections; a worker in a database without the extension (or
// without orphaned reports) exits at once.
void store_monitoring_launcher_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  MemoryContext round_context =
      AllocSetContextCreate(TopMemoryContext, "store_monitoring launcher", ALLOCSET_DEFAULT_SIZES);
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
    ListCell* cell;
    foreach (cell, databases) (void)launch_report_worker(lfirst_oid(cell));
    MemoryContextSwitchTo(previous);
    MemoryContextReset(round_context);
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                    current_settings().recovery_interval * 1000L, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  }
}
