// Report workers and the recovery launcher.
//
// A report worker serves one database: it takes a worker slot (a lock below
// store_monitoring.max_workers), then claims Running reports one by one (a
// lock on the report's lock_key, held until the report is written) and
// computes each in its own transaction. The report's rows and its switch to
// Complete commit together. A worker that dies releases its locks with its
// process, so a Running report nobody holds is orphaned and the next worker
// claims it again; after max_attempts interrupted runs it is marked Failed.
// The locks live in a tag space no SQL function can reach (common/locks.hpp),
// and are kept through a role's read, which could release them
// (pg_advisory_unlock_all).
//
// A report whose read meets a lock held by another transaction (its
// sources, or what its read locks) gives way: after kWorkerLockWaitMs its
// transaction rolls back and it goes back to the queue, to be claimed again
// after a pause (claim.cpp), so that one role's locks never hold a worker.
//
// A worker never spins: a write that fails (claim, Failed mark) or a look
// that finds work it cannot claim is retried after a growing pause, at most
// kMaxTroubles times in a row; then the worker exits and the report waits
// for the next get_report/wait_report call or launcher round.
#include "pg/worker/advisory_leftovers.hpp"
#include "pg/worker/loop.hpp"

#include "pg/common/locks.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/report_compute.hpp"
#include "pg/read/sources.hpp"
#include "pg/seal/compaction.hpp"
#include "pg/shards/catalog.hpp"
#include "pg/shards/cleanup.hpp"
#include "pg/shards/coordinator.hpp"
#include "pg/store/write.hpp"
#include "pg/worker/claim.hpp"
#include "pg/worker/deadline.hpp"
#include "pg/worker/progress.hpp"
#include "pg/worker/transaction.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

namespace store_monitoring::pg {
namespace {

// Failed writes or fruitless looks in a row after which a worker exits.
constexpr int kMaxTroubles = 5;
constexpr long kFirstBackOffMs = 50;
constexpr long kMaxBackOffMs = 2000;

bool is_cancel(const PgError& error) {
  return error.data() != nullptr && error.data()->sqlerrcode == ERRCODE_QUERY_CANCELED;
}

// CHECK_FOR_INTERRUPTS while the worker holds no report: a cancel
// (pg_cancel_backend) has nothing to stop there and is ignored; a
// termination exits as usual.
void check_interrupts_between_reports() {
  try {
    pg_call([] { CHECK_FOR_INTERRUPTS(); });
  } catch (const PgError& error) {
    if (!is_cancel(error)) throw;
  }
}

// Sleeps `ms` on the latch (a termination ends the sleep).
void sleep_ms(long ms) {
  pg_call([&] {
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
  });
  check_interrupts_between_reports();
}

// Sleeps before try number `troubles` + 1: 50 ms, doubling, at most 2 s.
void back_off(int troubles) {
  sleep_ms(std::min(kMaxBackOffMs, kFirstBackOffMs << std::min(troubles - 1, 10)));
}

// The longest a worker with nothing else to do sleeps before it looks at the
// queue again while reports wait for their retry after giving way to a lock.
constexpr long kRetryLookMs = 1000;

// A read that met a lock held by another transaction (a lock timeout, or a
// source the worker found locked) and was not stopped: the report gives way.
bool met_a_lock(const TransactionResult& result) {
  return !result.ok && (result.sqlstate == ERRCODE_LOCK_NOT_AVAILABLE ||
                        (result.sqlstate == ERRCODE_QUERY_CANCELED && read_lock_wait_canceled()));
}

// What the report waited for, for its error: the lock timeout's message
// does not name the lock.
std::string lock_wait_message(const std::string& error) {
  std::optional<LOCKTAG> lock = last_awaited_lock();
  if (!lock) return error;
  std::string what;
  std::string name;  // of the relation, when known
  bool here = lock->locktag_field1 == MyDatabaseId;
  if (here && (lock->locktag_type == LOCKTAG_RELATION || lock->locktag_type == LOCKTAG_TUPLE))
    name = source_name(lock->locktag_field2);
  switch (lock->locktag_type) {
    case LOCKTAG_RELATION:
      if (here) what = "a lock on " + name;
      break;
    case LOCKTAG_TUPLE:
      if (here) what = "a row lock in " + name;
      break;
    case LOCKTAG_TRANSACTION:
      what = "a row lock (another transaction's write)";
      break;
    case LOCKTAG_ADVISORY:
      what = "an advisory lock";
      break;
    default:
      break;
  }
  // The source the worker found locked is named already.
  if (what.empty() || (!name.empty() && error.find(name) != std::string::npos)) return error;
  return "the report's read waited for " + what + ", held by another transaction (" + error + ")";
}

bool process_report(Claim& claim);

// Computes a claimed report; false when neither its result nor its failure
// could be written.
bool process(Claim& claim) {
  show_report(claim.job.report_id);
  bool written = process_report(claim);
  progress_end();
  // Whatever the report's outcome: an advisory lock the owner's code took
  // in its read must not stay with the worker for other roles' reports (an
  // error here ends the worker, and its locks with it).
  release_sql_advisory_locks();
  show_report({});
  return written;
}

// in_transaction() as the shards' code takes it. A lambda, not a function:
// a std::function holding a function pointer would export the typeinfo of
// its type (made of std types only, so not hidden; tools/check_exports.sh).
const TransactionRunner in_own_transaction =
    [](const std::function<void()>& body) -> std::optional<std::string> {
  TransactionResult result = in_transaction([&] { body(); });
  if (result.ok) return std::nullopt;
  return result.error;
};

bool process_report(Claim& claim) {
  ReportGuard guard(claim.job.report_id, current_settings().report_timeout_ms);
  // Fails the report; when it was stopped (timeout, cancel_report), with why,
  // whatever step noticed it.
  auto fail = [&](const std::string& error) {
    ReportGuard::end();
    std::string message = error;
    in_transaction([&] { message = stop_message().value_or(message); });
    return mark_failed(claim.job.report_id, message);
  };
  // A lock another transaction holds on what the read needs: the report
  // goes back to the queue (the worker computes others meanwhile) and fails
  // only once it has given way for report_timeout.
  auto give_way = [&](const TransactionResult& result) {
    ReportGuard::end();
    std::optional<std::string> stopped;
    std::string why = result.sqlstate == ERRCODE_QUERY_CANCELED
                          ? "the wait outlasted " + std::to_string(kWorkerLockWaitMs) +
                                " ms; the read had lifted lock_timeout"
                          : result.error;
    in_transaction([&] {
      stopped = stop_message();
      why = lock_wait_message(why);
    });
    if (stopped) return mark_failed(claim.job.report_id, *stopped);
    int timeout_ms = current_settings().report_timeout_ms;
    std::optional<bool> requeued = requeue_report(claim.job.report_id, why, timeout_ms);
    if (!requeued) return false;
    if (*requeued) {
      pg_call([&] {
        elog(DEBUG1, "store_monitoring report %s gave way to a lock: %s",
             claim.job.report_id.c_str(), why.c_str());
      });
      return true;
    }
    return mark_failed(claim.job.report_id,
                       "the report gave way to locks on its sources for longer than "
                       "store_monitoring.report_timeout (" +
                           std::to_string(timeout_ms) + " ms): " + why);
  };
  bool sharded = false;
  if (in_transaction([&] { sharded = database_has_shards(); }).ok && sharded) {
    ReportGuard::coordinator();
    try {
      pause_for_testing(PausePoint::claimed);
    } catch (const PgError& error) {
      return fail(error.what());
    }
    std::optional<std::string> error = compute_report_on_shards(
        claim.job, claim.as_of_known, claim.requested_at, in_own_transaction);
    return error ? fail(*error) : true;
  }
  try {
    if (!claim.as_of_known) {
      TransactionResult resolved = in_transaction([&] {
        claim.job.as_of = resolve_latest_as_of(claim.job, claim.requested_at);
        spi_execute(
            "UPDATE _store_monitoring_internal.report SET as_of = $2 WHERE report_id "
            "OPERATOR(pg_catalog.=) $1",
            {{TEXTOID, text_datum(claim.job.report_id)},
             {TIMESTAMPTZOID, TimestampTzGetDatum(claim.job.as_of)}},
            false);
      });
      if (met_a_lock(resolved)) return give_way(resolved);
      if (!resolved.ok) return fail(resolved.error);
    }
    pause_for_testing(PausePoint::claimed);
  } catch (const PgError& error) {
    // An error between transactions, such as a cancel (pg_cancel_backend):
    // the same outcome as inside the computing transaction, Failed.
    return fail(error.what());
  }
  TransactionResult computed = in_transaction([&] {
    compute_and_store_report(claim.job);
    throw_if_stopped();  // past its deadline a report never commits Complete
  });
  if (computed.ok) return true;
  if (met_a_lock(computed)) return give_way(computed);
  return fail(computed.error);
}

// store_monitoring.compact_after: the days due are sealed, one transaction
// each, after each report: a week's days when no other report waits, else
// one, so that the queue moves on meanwhile.
constexpr int kSealedDaysPerReport = 7;

void seal_due_days() {
  if (current_settings().compact_after_us <= 0) return;
  const int days = has_unclaimed_reports() ? 1 : kSealedDaysPerReport;
  for (int day = 0; day < days; ++day) {
    bool sealed = false;
    TransactionResult sealing = in_transaction([&] { sealed = seal_one_due_day(); });
    if (!sealing.ok && sealing.sqlstate == ERRCODE_LOCK_NOT_AVAILABLE) {
      // Another compaction, or a role's lock on store_status: a later
      // report's worker tries again.
      pg_call([&] {
        elog(LOG, "store_monitoring left sealing polls for later: %s", sealing.error.c_str());
      });
      return;
    }
    if (!sealing.ok) {
      pg_call([&] {
        ereport(WARNING, (errmsg("store_monitoring could not seal polls (compact_after): %s",
                                 sealing.error.c_str())));
      });
      return;
    }
    if (!sealed) return;
  }
}

void reload_config_if_requested() {
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    pg_call([] { ProcessConfigFile(PGC_SIGHUP); });
  }
}

}  // namespace

void serve_database() {
  if (!extension_installed()) return;
  int troubles = 0;  // failed writes in a row
  int looks = 0;     // looks in a row that found work but claimed nothing
  std::optional<int> slot = acquire_slot();
  while (slot) {
    const auto held_slot = static_cast<uint32>(*slot);
    for (;;) {
      reload_config_if_requested();
      check_interrupts_between_reports();
      ClaimResult claimed = claim_next_report();
      bool wrote = !claimed.failed;
      if (claimed.claim) {
        looks = 0;
        wrote = process(*claimed.claim) && wrote;
        wake_report_waiters(claimed.claim->lock_key);
        TransactionResult retention = in_transaction([] { apply_report_retention(); });
        if (!retention.ok)
          pg_call([&] {
            ereport(WARNING, (errmsg("store_monitoring could not apply report_retention: %s",
                                     retention.error.c_str())));
          });
        seal_due_days();
        unlock(kReportLockClass, claimed.claim->lock_key);
        // A coordinator's shard reports that earlier cleanups could not
        // delete (a shard was down) or that purges left: tried again.
        bool sharded = false;
        if (in_transaction([&] { sharded = database_has_shards(); }).ok && sharded)
          clean_up_leftovers(in_own_transaction);
      }
      if (wrote) {
        troubles = 0;
        if (claimed.claim) continue;
        // Only reports that gave way to a lock wait, for their retry: the
        // worker sleeps holding its slot (so that sleepers never outnumber
        // max_workers), and looks again at least every kRetryLookMs, for
        // reports triggered meanwhile.
        std::optional<long> wait_ms = unclaimed_report_wait_ms();
        if (!wait_ms || *wait_ms == 0) break;
        sleep_ms(std::min(*wait_ms, kRetryLookMs));
        continue;
      }
      if (++troubles >= kMaxTroubles) break;
      back_off(troubles);
    }
    // Release the slot before the last look, so that a worker launched for a
    // report committed meanwhile finds the slot free, or we find the report.
    unlock(kSlotLockClass, held_slot);
    slot.reset();
    if (troubles >= kMaxTroubles) return;  // logged; resumed by a later worker
    if (has_unclaimed_reports()) {
      if (++looks > kMaxTroubles) return;
      if (looks > 1) back_off(looks - 1);
      slot = acquire_slot();
    }
  }
}

}  // namespace store_monitoring::pg
