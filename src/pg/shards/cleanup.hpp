// Deleting on the shards the reports a coordinator report started there, once
// they are of no use: when the coordinator's report fails (canceled
// included), is deleted (delete_report, purge_reports, report_retention), or
// completes after a worker died between a shard's trigger and recording the
// shard's report id. Every shard report carries its coordinator report's id
// in its label (shard_report_label), and the coordinator notes each shard it
// triggers on before triggering (_store_monitoring_internal.shard_cleanup):
// what a cleanup cannot finish (a shard down, restarted and resuming its
// report) stays noted, and the coordinator's workers try again after each
// report.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>
#include <string_view>
#include <vector>

#include "pg/shards/fanout.hpp"  // TransactionRunner

namespace store_monitoring::pg {

// The label of the reports coordinator report `report_id` starts on shards.
std::string shard_report_label(std::string_view report_id);

// On shard `server`, the reports of coordinator report `report_id`: every
// one labeled with it, and `recorded` (the one it recorded) unless
// `keep_recorded` (a Complete report keeps the one it merged).
struct ShardCleanup {
  std::string report_id;
  std::string server;
  Oid owner = InvalidOid;  // whose user mapping deletes them
  std::string recorded;    // empty: none
  bool keep_recorded = false;
  bool done = false;  // the shard confirmed
};

// Deletes them on their shards (canceling and waiting for those still
// running), as each owner's user mapping, all shards at once within
// store_monitoring.shard_timeout; marks those done. One that cannot be done
// gets a WARNING naming the shard (to the caller in a session, the server
// log in a worker). Raises nothing for a shard. Needs a transaction and SPI,
// unless `in_transaction` is given (then outside any: the catalog is read in
// a transaction of its own, the shards are waited for outside).
void delete_on_shards(std::vector<ShardCleanup>& items,
                      const TransactionRunner* in_transaction = nullptr);

// The rows noted for `report_id`, and its recorded shard reports; kept when
// it is Complete, deleted otherwise (it is Failed, or gone). Needs SPI.
std::vector<ShardCleanup> cleanups_of(std::string_view report_id);

// Forgets the noted rows of the items done; the others are tried again
// later. Needs SPI.
void forget_done(const std::vector<ShardCleanup>& items);

// delete_report and cancel_report of a coordinator report, in the caller's
// session: deletes its shard reports now (cleanups_of, delete_on_shards,
// forget_done). Needs a transaction and SPI.
void clean_up_shard_reports(std::string_view report_id);

// The worker after each report: tries again what earlier cleanups could not
// finish, oldest first, a bounded number at a time (never a Running
// coordinator report's: its worker owns them). Outside any transaction.
void clean_up_leftovers(const TransactionRunner& in_transaction);

}  // namespace store_monitoring::pg
