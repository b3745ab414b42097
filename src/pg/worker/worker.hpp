// Background workers: the per-database report worker and the optional
// launcher (shared_preload_libraries mode) that recovers interrupted reports.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

#include <string>

namespace store_monitoring::pg {

// Lock namespaces. A worker holds (kReportLockClass, lock_key) for as long as
// it owns a report and (kSlotLockClass, n) for its worker slot
// n < store_monitoring.max_workers, as session-level advisory lock tags whose
// fourth field is kLockTagSpace. pg_advisory_lock() and its relatives only
// build tags with 1 (one bigint key) or 2 (two integer keys) there
// (src/backend/utils/adt/lockfuncs.c), so no SQL caller can take, hold or
// wait for ours: no role can stall a worker slot or a report. pg_locks shows
// them as locktype 'advisory' with objsubid = kLockTagSpace.
inline constexpr uint32 kReportLockClass = 0x534D5200;  // "SMR\0"
inline constexpr uint32 kSlotLockClass = 0x534D5301;
inline constexpr uint16 kLockTagSpace = 0x534D;  // "SM"; fits pg_locks.objsubid (int2)

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
