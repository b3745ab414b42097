// The extension's advisory lock tags: every one lives in a private tag space
// (the fourth field, kLockTagSpace) that no SQL function can reach, and each
// class (the first key) has one purpose.
#pragma once

extern "C" {
#include "postgres.h"

#include "storage/lock.h"
}

#include <functional>

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

// Advisory lock class (first key) under which wait_report() advertises that
// it waits for the report with that lock_key (ShareLock, transaction level):
// the worker sets the latches of those holders when the report ends.
inline constexpr uint32 kWaitLockClass = 0x534D5702;

// Advisory lock classes (first key; the second is a role's oid) that
// serialize, per role, the checks of its limits with what they count
// (ExclusiveLock, transaction level): trigger_report() under kQueueLockClass
// counts the role's Running reports; a worker under kStoredLockClass counts
// the role's stored results before adding a report's. Only trigger_report()
// takes the first (a role can make only its own triggers wait), only workers
// the second.
inline constexpr uint32 kQueueLockClass = 0x534D5103;
inline constexpr uint32 kStoredLockClass = 0x534D5304;

// The tag of the extension's advisory lock (lock_class, key) in this database.
LOCKTAG advisory_tag(uint32 lock_class, uint32 key);

// How long a worker waits for a lock that a report's read needs (its
// sources, and whatever the read itself locks: the tables under a view, a
// function's LOCK) before it gives the report back to the queue: a lock
// another transaction holds (the report's owner's own, or a loader's) never
// holds a worker longer than that.
inline constexpr int kWorkerLockWaitMs = 500;

// The worker's session locks (its slot and claims), which a role's code can
// release: pg_advisory_unlock_all() drops every session-level advisory lock
// of the backend, whatever its tag. A worker notes each one it takes.
void note_worker_lock(uint32 lock_class, uint32 key);
void forget_worker_lock(uint32 lock_class, uint32 key);

// Runs `read` (where a role's code runs in a worker) so that no other worker
// can take the slot or claim while it runs, and then throws an error (nothing
// of the report is stored) when the read released them; they are taken
// again first. The guard is a transaction-level share hold of each tag, which
// no SQL function releases and which conflicts with another worker's
// exclusive session lock. Outside a worker (nothing noted) it only runs
// `read`: there a role's code can release only the locks of its own session.
void read_keeping_worker_locks(const std::function<void()>& read);

}  // namespace store_monitoring::pg
