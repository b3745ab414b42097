// Background workers: the per-database report worker and the optional
// launcher (shared_preload_libraries mode) that recovers interrupted reports.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

namespace store_monitoring::pg {

// Advisory lock namespaces (first key of the two-key form). A worker holds
// (kReportLockClass, lock_key) for as long as it owns a report and
// (kSlotLockClass, n) for its worker slot n < store_monitoring.max_workers.
inline constexpr uint32 kReportLockClass = 0x534D5200;  // "SMR\0"
inline constexpr uint32 kSlotLockClass = 0x534D5301;

// Starts a report worker for `database`. False when the postmaster has no
// free background-worker slot; the report then waits in the queue.
bool launch_report_worker(Oid database) noexcept;

// True when a Running report of this database has no worker holding its
// lock: queued, or its worker died. Needs a connected SPI and a role that
// can read the report table.
bool any_orphaned_report();

// Registers the launcher; call from _PG_init while preloading.
void register_launcher();

}  // namespace store_monitoring::pg

extern "C" {
PGDLLEXPORT void store_monitoring_worker_main(Datum main_arg);
PGDLLEXPORT void store_monitoring_launcher_main(Datum main_arg);
}
