// Claiming reports: the worker slot and report locks, and the claim of the
// next Running report nobody holds, fair across roles.
#pragma once

#include "pg/common/settings.hpp"
#include "pg/read/report_compute.hpp"

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
}

#include <optional>
#include <string>

namespace store_monitoring::pg {

// Session-level locks in the private tag space (locks.hpp).
bool try_lock(uint32 lock_class, uint32 key);
void unlock(uint32 lock_class, uint32 key);
// A worker slot below store_monitoring.max_workers, locked; nullopt when all
// are taken.
std::optional<int> acquire_slot();

struct Claim {
  ReportJob job;
  uint32 lock_key;
  bool as_of_known;
  TimestampTz requested_at;
};

struct ClaimResult {
  std::optional<Claim> claim;
  bool failed = false;  // a write failed; every lock taken is released
};

// Claims a Running report nobody holds, in a committed transaction.
ClaimResult claim_next_report();

// Sets a claimed report Failed in a transaction of its own; false when it
// could not be marked (it stays Running; the trouble is noted and logged).
bool mark_failed(const std::string& report_id, const std::string& message);

// True when a Running report has no worker (see any_orphaned_report).
bool has_unclaimed_reports();

}  // namespace store_monitoring::pg
