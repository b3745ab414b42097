#include "pg/worker/advisory_leftovers.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"
}

namespace store_monitoring::pg {

namespace {

// lockfuncs.c builds the tags of pg_advisory_lock(bigint) with 1 in the
// fourth field and those of pg_advisory_lock(int, int) with 2.
constexpr uint16 kSqlBigintKeySpace = 1;
constexpr uint16 kSqlIntPairKeySpace = 2;

}  // namespace

void release_sql_advisory_locks() {
  pg_call([] {
    LockData* locks = GetLockStatusData();
    for (int i = 0; i < locks->nelements; ++i) {
      const LockInstanceData& lock = locks->locks[i];
      const LOCKTAG& tag = lock.locktag;
      if (lock.pid != MyProcPid || tag.locktag_type != LOCKTAG_ADVISORY ||
          tag.locktag_lockmethodid != USER_LOCKMETHOD ||
          (tag.locktag_field4 != kSqlBigintKeySpace && tag.locktag_field4 != kSqlIntPairKeySpace))
        continue;
      for (LOCKMODE mode : {ExclusiveLock, ShareLock}) {
        if ((lock.holdMask & LOCKBIT_ON(mode)) == 0) continue;
        // LockHeldByMe counts every hold of this process (session holds
        // only, between transactions); each LockRelease drops one.
        while (compat::lock_held_by_me(&tag, mode))
          if (!LockRelease(&tag, mode, true)) break;
      }
    }
    pfree(locks->locks);
    pfree(locks);
  });
}

}  // namespace store_monitoring::pg
