// The worker's transactions (see transaction.hpp).
#include "pg/worker/transaction.hpp"

#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

#include <cstdio>

namespace store_monitoring::pg {
namespace {

MemoryContext worker_context = nullptr;
// The worker's query text in pg_stat_activity: names the report it computes.
char activity[128] = "store_monitoring report worker";

// search_path pinned again for each transaction's own statements, whatever
// a setting left in the session (reads of users' relations roll theirs back
// in OwnerRead; this is the second wall).
void run_body(TransactionBody body, void* state) {
  pg_entry([&] {
    PinnedSearchPath safe_names;
    body(state);
  });
}

}  // namespace

// No C++ object with a destructor may live in this frame: it hosts the
// sigsetjmp of PG_TRY.
bool run_transaction_raw(TransactionBody body, void* state, char** error, char** message,
                         int* sqlstate) {
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
    *sqlstate = data->sqlerrcode;
    *error = data->detail ? psprintf("%s (%s)", *message, data->detail) : pstrdup(*message);
    FreeErrorData(data);
  }
  PG_END_TRY();
  return ok;
}

void create_worker_context() {
  worker_context =
      AllocSetContextCreate(TopMemoryContext, "store_monitoring worker", ALLOCSET_DEFAULT_SIZES);
  MemoryContextSwitchTo(worker_context);
}

MemoryContext worker_memory() noexcept { return worker_context; }

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

// The extension is installed here at the version this library serves (a
// database not yet updated after new library files keeps its reports until
// ALTER EXTENSION ... UPDATE).
bool extension_installed() {
  return in_transaction([] { require_current_extension_version(); }).ok;
}

}  // namespace store_monitoring::pg
