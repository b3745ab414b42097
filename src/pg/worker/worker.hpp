// Background workers: the per-database report worker and the optional
// launcher (shared_preload_libraries mode) that recovers interrupted reports.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

#include <string>

namespace store_monitoring::pg {

// Starts a report worker for `database`. False when the postmaster has no
// free background-worker slot (the report then waits in the queue) and on a
// hot standby, where reports are only read: a worker registered there would
// never start but keep its slot.
bool launch_report_worker(Oid database) noexcept;

// Why a queued report of this database waits, for list_reports(). Needs a
// connected SPI as a role that can read pg_locks and pg_stat_activity.
std::string queued_reason();

// True when a Running report of this database has no worker holding its
// lock: queued, or its worker died. Needs a connected SPI and a role that
// can read the report table.
bool any_orphaned_report();

// Registers the launcher; call from _PG_init while preloading.
void register_launcher();

}  // namespace store_monitoring::pg

extern "C" {
PGDLLEXPORT void store_monitoring_worker_main(Datum main_arg);
PGDLLEXPORT void store_monitoring_recovery_check_main(Datum main_arg);
PGDLLEXPORT void store_monitoring_launcher_main(Datum main_arg);
}
