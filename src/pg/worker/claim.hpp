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

// Gives a claimed report back after its read met a lock (see loop.cpp):
// Running again, queued behind its owner's other reports and not claimed
// before its retry_at, a pause as long as it has given way so far (at least
// 250 ms, at most 10 s); its error says what it waits for, and its claim no
// longer counts as an interrupted run. False (and nothing written) when it
// has given way for timeout_ms already (0: no limit): it is to fail. nullopt
// when the write failed (it stays Running, to be claimed again).
std::optional<bool> requeue_report(const std::string& report_id, const std::string& why,
                                   int timeout_ms);

// For a worker with nothing to claim: nullopt when no Running report waits
// for a worker; 0 when one can be claimed now; else the milliseconds until
// the first that gave way to a lock may be claimed again.
std::optional<long> unclaimed_report_wait_ms();

// True when a Running report has no worker (see any_orphaned_report).
bool has_unclaimed_reports();

}  // namespace store_monitoring::pg
