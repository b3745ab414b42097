// The coordinator's fan-out over libpq: one connection per shard, every step
// sent to all shards at once, their sockets waited on together, up to
// store_monitoring.shard_timeout in all (connecting: up to the connect
// timeout). Errors name the shard; so do the NOTICEs and WARNINGs a shard
// sends, which are raised again here (to the caller of a session's call, to
// the server log in a worker).
#pragma once

#include "core/report_pipeline.hpp"  // ReportCanceled: also what a canceled fan-out throws
#include "pg/shards/catalog.hpp"

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
#include "libpq-fe.h"
}

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace store_monitoring::pg {

// Runs `body` in a transaction of its own; returns the error that rolled it
// back, if any.
using TransactionRunner = std::function<std::optional<std::string>(const std::function<void()>&)>;


struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnectionDeleter {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};

// What a shard said besides its answers (NOTICE, WARNING), kept by libpq's
// notice receiver until raised again. At its own address: libpq holds it.
struct ShardNotices {
  std::vector<std::pair<int, std::string>> pending;  // elevel, message
  size_t dropped = 0;                                // beyond the bound
};

struct Shard {
  std::string name;
  ConnectionOptions options;
  std::unique_ptr<PGconn, ConnectionDeleter> connection;
  std::unique_ptr<ShardNotices> notices = std::make_unique<ShardNotices>();
  TimestampTz connect_by = 0;  // connecting fails after this
  enum class Step { idle, connecting, flushing, reading } step = Step::idle;
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  bool ready = false;  // its socket was ready at the last wait
  Result last;         // the last result that returned rows
  std::string shard_report_id;
  bool recorded = false;     // shard_report_id read from the coordinator
  std::string status;        // of the shard's report once waited for
  std::string error;         // of the shard's report when Failed
  size_t rows_received = 0;  // by the streamed fetch
  std::string sqlstate;      // of the last error the shard answered
  std::string failure;       // why it was dropped (WaitMode::tolerant)
};

enum class WaitMode {
  strict,      // the first shard that fails raises
  cancelable,  // strict; a cancel of the coordinator's report raises ReportCanceled
  tolerant,    // a shard that fails is dropped, its error kept in Shard::failure
};

// Raises the error `message` naming `shard`.
[[noreturn]] void shard_failed(const Shard& shard, std::string message);
// Closes `shard`'s connection and keeps why, without the prefix naming it.
void drop_shard(Shard& shard, std::string message);

// Starts connecting `shard` (its name and options set), or sends it `sql`.
// Connecting is bounded by the connect_timeout option of the shard's server
// or user mapping (seconds, as libpq reads it; 0: none), else by
// kDefaultConnectTimeoutS, and always by shard_timeout.
void start_connection(Shard& shard);
constexpr int kDefaultConnectTimeoutS = 10;
void send_query(Shard& shard, const std::string& sql);
// send_query, in libpq's single-row mode: next_result() gives its rows one by
// one.
void send_streamed_query(Shard& shard, const std::string& sql);

// The next result of `shard`'s query (nullptr once there are no more),
// waiting only on this shard's socket, at most until `deadline`; a cancel of
// the coordinator's report raises ReportCanceled. An error result raises,
// naming the shard.
Result next_result(Shard& shard, TimestampTz deadline);

// Drives every shard that has a connection until all are idle, waiting on
// their sockets together. Unless tolerant, raises naming the first shard
// that fails, or a shard still busy at `deadline`.
void wait_for_all(std::vector<Shard>& shards, TimestampTz deadline,
                  WaitMode mode = WaitMode::strict);

// A literal quoted for `shard`'s connection.
std::string literal(Shard& shard, std::string_view value);
// One text value of the last result, or nullopt for NULL.
std::optional<std::string> single_value(const Shard& shard);

// store_monitoring.shard_timeout from now.
TimestampTz shard_deadline();

// Every session with a shard starts with this. As postgres_fdw does; the
// shard also gives up a query whose client is gone (the coordinator failed,
// was stopped, or dropped the connection) within a few seconds. wait_report()
// needs READ COMMITTED, whatever the shard's default.
constexpr const char* kSessionSetup =
    "SET search_path = pg_catalog, pg_temp; SET TimeZone = 'UTC'; "
    "SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 3; SET client_connection_check_interval = '2s'; "
    "SET default_transaction_isolation = 'read committed'";

}  // namespace store_monitoring::pg
