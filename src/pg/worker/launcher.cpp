// Starting workers: the report worker's and the recovery check's main
// functions, and the launcher (shared_preload_libraries mode) that starts a
// recovery check in each database in turn.
#include "pg/worker/session_pins.hpp"
#include "pg/worker/worker.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"
#include "pg/worker/claim.hpp"
#include "pg/worker/deadline.hpp"
#include "pg/worker/loop.hpp"
#include "pg/worker/transaction.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

#include <cstring>

namespace store_monitoring::pg {
namespace {

// Background-worker slots the launcher leaves free for everyone else
// (parallel query, replication, other extensions).
constexpr int kReservedWorkerSlots = 1;

// Connects a worker to `database` with the settings the extension's own SQL
// needs, whatever the database's or roles' defaults say. Runs inside pg_call
// (bare PostgreSQL calls; no C++ object in its frame), as do
// free_worker_slots and check_database.
void connect_worker(Oid database) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, terminate_worker);
  BackgroundWorkerUnblockSignals();
  // No user: the worker runs as the bootstrap superuser and acts as the
  // report's owner only while reading the inputs (see report_compute.cpp).
  BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
  // Database or role settings must not redirect the names in our SQL.
  SetConfigOption("search_path", kSafeSearchPath, PGC_SUSET, PGC_S_OVERRIDE);
  // Its session user back to the bootstrap superuser (before role: "none"
  // means the session user), and settings that would fail its statements.
  pin_worker_session();
  // Nor make it act as another role (a database owner's ALTER DATABASE ...
  // SET role): its own statements run as the bootstrap superuser.
  SetConfigOption("role", "none", PGC_SUSET, PGC_S_OVERRIDE);
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
  create_worker_context();
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
  pg_entry([&] {
    pg_call([&] { connect_worker(DatumGetObjectId(main_arg)); });
    serve_database();
  });
  proc_exit(0);
}

// Started by the launcher in one database at a time: starts a report worker
// when a Running report has none, provided that leaves
// kReservedWorkerSlots background-worker slots free (it exits right after,
// giving its own slot back).
void store_monitoring_recovery_check_main(Datum main_arg) {
  pg_entry([&] {
    pg_call([&] { connect_worker(DatumGetObjectId(main_arg)); });
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
  // Bare: signal setup and the connection raise nothing a C++ frame holds.
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  pg_entry([] {
    pg_call([] { BackgroundWorkerInitializeConnection(nullptr, nullptr, 0); });
    MemoryContext round_context = pg_call([] {
      return AllocSetContextCreate(TopMemoryContext, "store_monitoring launcher",
                                   ALLOCSET_DEFAULT_SIZES);
    });
    Oid last_checked = InvalidOid;
    for (;;) {
      // One PostgreSQL block per round: no C++ object lives in it.
      pg_call([&] {
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
      });
      long interval_ms = current_settings().recovery_interval * 1000L;
      pg_call([&] {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, interval_ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
      });
    }
  });
}
