// The worker's session locks, kept through reads that run a role's code (see
// locks.hpp).
#include "pg/common/locks.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/elog.h"
}

#include <algorithm>
#include <utility>
#include <vector>

namespace store_monitoring::pg {
namespace {

// The session locks this process holds as a worker; empty in a backend.
std::vector<std::pair<uint32, uint32>> worker_locks;

// Takes again, at session level, each noted lock this process no longer
// holds; false when any was missing. Under the transaction-level share
// holds no other process can have taken them meanwhile.
bool retake_worker_locks() {
  bool intact = true;
  for (const auto& [lock_class, key] : worker_locks) {
    LOCKTAG tag = advisory_tag(lock_class, key);
    if (pg_call([&] { return compat::lock_held_by_me(&tag, ExclusiveLock); })) continue;
    intact = false;
    bool taken = pg_call(
        [&] { return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL; });
    // Cannot happen while the share hold is ours; if it did, another worker
    // would own what this one holds: the worker ends, and its claims with it.
    if (!taken)
      pg_call([] {
        ereport(FATAL, (errmsg("store_monitoring worker lost its lock to another worker")));
      });
  }
  return intact;
}

[[noreturn]] void throw_locks_released() {
  throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                  "the report's sources released the worker's locks "
                  "(pg_advisory_unlock_all); the report was not stored");
}

}  // namespace

LOCKTAG advisory_tag(uint32 lock_class, uint32 key) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, lock_class, key, kLockTagSpace);
  return tag;
}

void note_worker_lock(uint32 lock_class, uint32 key) { worker_locks.emplace_back(lock_class, key); }

void forget_worker_lock(uint32 lock_class, uint32 key) {
  auto found = std::find(worker_locks.begin(), worker_locks.end(), std::pair(lock_class, key));
  if (found != worker_locks.end()) worker_locks.erase(found);
}

void read_keeping_worker_locks(const std::function<void()>& read) {
  for (const auto& [lock_class, key] : worker_locks) {
    LOCKTAG tag = advisory_tag(lock_class, key);
    // Granted at once: this process's own exclusive hold does not conflict.
    pg_call([&] { (void)LockAcquire(&tag, ShareLock, false, true); });
  }
  try {
    read();
  } catch (...) {
    // Still in the transaction (a PostgreSQL error reaches here before the
    // abort), under the share holds.
    if (!retake_worker_locks()) throw_locks_released();
    throw;
  }
  if (!retake_worker_locks()) throw_locks_released();
}

}  // namespace store_monitoring::pg
