#include "pg/worker/session_pins.hpp"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid_d.h"
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace store_monitoring::pg {

// Runs at the top of the worker, before pg_entry sets up a handler: an error
// here is FATAL (a background worker's ERROR outside a handler), which ends
// the worker before it claims anything, the right outcome.
void pin_worker_session() {
  // ALTER DATABASE ... SET session_authorization, accepted from the
  // database owner, is applied to the worker too (it authenticated as a
  // superuser, so it may take any role): its session user, and so its own
  // claims and status writes, would be that role's. The setting takes a
  // role name, which needs a catalog lookup, so a transaction.
  StartTransactionCommand();
  SetConfigOption("session_authorization", GetUserNameFromId(BOOTSTRAP_SUPERUSERID, false),
                  PGC_SUSET, PGC_S_OVERRIDE);
  CommitTransactionCommand();
  // A database's lock_timeout would make the worker's own waits (the report
  // row, the per-role storage count) fail reports.
  SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
  // exit_on_error would turn every failed report (any error a role's view
  // raises) into the worker's exit, each one counted as an interrupted run.
  SetConfigOption("exit_on_error", "off", PGC_SUSET, PGC_S_OVERRIDE);
}

}  // namespace store_monitoring::pg
