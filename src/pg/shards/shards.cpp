// Shards: the catalog (add_shard, remove_shard, shards) and the coordinator's
// fan-out over libpq. See shards.hpp and docs/scale-out.md.
//
// The coordinator worker connects to every shard as the role that triggered
// the report, through that role's user mapping, like postgres_fdw does: the
// connection options are the foreign server's and the mapping's libpq
// options, and a role that is not a superuser must connect with a password
// unless a superuser set password_required 'false' on its mapping. Every
// shard then applies its own privileges and row-level security to the mapped
// role. All shards are driven at once: each step (connect, latest poll,
// trigger, wait, fetch) is sent to every shard and the worker waits on all
// their sockets together, up to store_monitoring.shard_timeout in all.
#include "pg/shards/shards.hpp"

#include "core/shard_merge.hpp"
#include "pg/common/compat.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/store/states.hpp"
#include "pg/worker/progress.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace store_monitoring::pg {
namespace {

int shard_timeout_ms = 10 * 60 * 1000;

std::string name_argument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "server must not be NULL");
  return NameStr(*PG_GETARG_NAME(0));
}

// ---------------------------------------------------------------------------
// Catalog

// Needs a connected SPI.
Oid extension_owner() {
  spi_execute(
      "SELECT extowner FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) "
      "'store_monitoring'",
      {}, true);
  bool is_null = true;
  return SPI_processed == 1 ? DatumGetObjectId(spi_value(0, 1, &is_null)) : InvalidOid;
}

std::string role_name(Oid role) {
  const char* name = pg_call([&] { return GetUserNameFromId(role, true); });
  return name ? name : "(dropped role)";
}

// The server named `name` when it is a postgres_fdw server owned by a
// superuser or the extension's owner. A server's owner decides where every
// report connects (its options) and may add a PUBLIC user mapping, so any
// other owner could send every role's report, the superusers' included, to
// a server of its choice. Needs a connected SPI.
ForeignServer* postgres_fdw_server(const std::string& name) {
  ForeignServer* server = pg_call([&] { return GetForeignServerByName(name.c_str(), true); });
  if (server == nullptr)
    throw UserError(ERRCODE_UNDEFINED_OBJECT, "server \"" + name + "\" does not exist",
                    "Create it with CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw.");
  ForeignDataWrapper* fdw = pg_call([&] { return GetForeignDataWrapper(server->fdwid); });
  if (std::string_view(fdw->fdwname) != "postgres_fdw")
    throw UserError(ERRCODE_WRONG_OBJECT_TYPE, "server \"" + name +
                                                   "\" uses foreign-data wrapper \"" +
                                                   fdw->fdwname + "\", not postgres_fdw");
  Oid owner = server->owner;
  if (!pg_call([&] { return superuser_arg(owner); }) && owner != extension_owner())
    throw UserError(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "server \"" + name + "\" is owned by role \"" + role_name(owner) +
            "\", which is neither a superuser nor the owner of extension "
            "store_monitoring",
        "Its owner decides where reports connect: ALTER SERVER " + name + " OWNER TO a superuser.");
  return server;
}

// Shards decide where every report reads: only superusers and the
// extension's owner (or its members) may change them.
void require_shard_admin() {
  Oid caller = GetUserId();
  if (pg_call([&] { return superuser_arg(caller); })) return;
  Oid owner = InvalidOid;
  {
    SpiScope spi;
    owner = extension_owner();
  }
  if (!pg_call([&] { return has_privs_of_role(caller, owner); }))
    throw UserError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "only a superuser or the owner of extension store_monitoring may change "
                    "shards");
}

Datum add_shard(FunctionCallInfo fcinfo) {
  std::string name = name_argument(fcinfo);
  require_shard_admin();
  SpiScope spi;
  postgres_fdw_server(name);
  uint64 added = spi_execute(
      "INSERT INTO _store_monitoring_internal.shard (server) VALUES ($1) ON CONFLICT DO NOTHING",
      {{NAMEOID, CStringGetDatum(name.c_str())}}, false);
  if (added != 1)
    throw UserError(ERRCODE_DUPLICATE_OBJECT, "server \"" + name + "\" is already a shard");
  return static_cast<Datum>(0);
}

Datum remove_shard(FunctionCallInfo fcinfo) {
  std::string name = name_argument(fcinfo);
  require_shard_admin();
  SpiScope spi;
  uint64 removed = spi_execute(
      "DELETE FROM _store_monitoring_internal.shard WHERE server OPERATOR(pg_catalog.=) $1",
      {{NAMEOID, CStringGetDatum(name.c_str())}}, false);
  if (removed != 1)
    throw UserError(ERRCODE_UNDEFINED_OBJECT, "server \"" + name + "\" is not a shard");
  return static_cast<Datum>(0);
}

Datum list_shards(FunctionCallInfo fcinfo) {
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  SpiScope spi;
  uint64 rows = spi_execute(
      "SELECT server, added_at FROM _store_monitoring_internal.shard ORDER BY server", {}, true);
  pg_call([&] {
    for (uint64 i = 0; i < rows; ++i) tuplestore_puttuple(result->setResult, SPI_tuptable->vals[i]);
  });
  return static_cast<Datum>(0);
}

std::vector<std::string> shard_names() {
  uint64 rows = spi_execute(
      "SELECT server::text FROM _store_monitoring_internal.shard ORDER BY server", {}, true);
  std::vector<std::string> names;
  for (uint64 i = 0; i < rows; ++i) {
    bool is_null = false;
    names.emplace_back(text_bytes(spi_value(i, 1, &is_null)));
  }
  return names;
}

// The server of shard `name` when `role` may use it; raises otherwise.
ForeignServer* usable_server(const std::string& name, Oid role) {
  ForeignServer* server = postgres_fdw_server(name);
  AclResult usage =
      pg_call([&] { return compat::foreign_server_aclcheck(server->serverid, role, ACL_USAGE); });
  if (usage != ACLCHECK_OK)
    throw UserError(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "role \"" + role_name(role) + "\" has no USAGE privilege on shard server \"" + name + "\"");
  bool mapped = pg_call([&] {
    return SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(role),
                                 ObjectIdGetDatum(server->serverid)) ||
           SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
                                 ObjectIdGetDatum(server->serverid));
  });
  if (!mapped)
    throw UserError(
        ERRCODE_UNDEFINED_OBJECT,
        "role \"" + role_name(role) + "\" has no user mapping for shard server \"" + name + "\"",
        "A report across shards connects to every shard as its triggering role's "
        "user mapping: CREATE USER MAPPING FOR ... SERVER " +
            name + " OPTIONS (user '...', password '...').");
  return server;
}

// ---------------------------------------------------------------------------
// Connections

struct ConnectionOptions {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  bool password_required = true;  // checked again once connected
};

bool option_is_true(DefElem* option) {
  return pg_call([&] { return defGetBoolean(option); });
}

// The server's and the user mapping's libpq options, as postgres_fdw builds
// them (options only postgres_fdw understands are not libpq keywords).
ConnectionOptions connection_options(const std::string& name, Oid role) {
  ForeignServer* server = usable_server(name, role);
  UserMapping* mapping = pg_call([&] { return GetUserMapping(role, server->serverid); });
  std::set<std::string> libpq_keywords;
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) throw std::bad_alloc();
  for (PQconninfoOption* option = defaults; option->keyword != nullptr; ++option)
    if (std::strchr(option->dispchar, 'D') == nullptr) libpq_keywords.insert(option->keyword);
  PQconninfoFree(defaults);
  for (const char* ours : {"fallback_application_name", "client_encoding", "replication"})
    libpq_keywords.erase(ours);

  ConnectionOptions result;
  bool has_password = false;
  for (List* options : {server->options, mapping->options}) {
    ListCell* cell;
    foreach (cell, options) {
      auto* option = static_cast<DefElem*>(lfirst(cell));
      std::string keyword = option->defname;
      if (keyword == "password_required") {
        result.password_required = option_is_true(option);
        continue;
      }
      if (!libpq_keywords.contains(keyword)) continue;
      std::string value = pg_call([&] { return defGetString(option); });
      if (keyword == "password" && !value.empty()) has_password = true;
      result.keywords.push_back(std::move(keyword));
      result.values.push_back(std::move(value));
    }
  }
  result.keywords.push_back("fallback_application_name");
  result.values.push_back("store_monitoring coordinator");
  result.keywords.push_back("client_encoding");
  result.values.push_back(pg_call([] { return GetDatabaseEncodingName(); }));
  if (pg_call([&] { return superuser_arg(role); })) result.password_required = false;
  // Without a password, a role that is not a superuser could borrow the
  // identity the coordinator's server has on the shard (trust, peer, a
  // .pgpass file): postgres_fdw refuses this, and so do we.
  if (result.password_required && !has_password)
    throw UserError(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED,
                    "password is required to connect to shard \"" + name + "\"",
                    "Roles that are not superusers must give a password in their user mapping "
                    "(or a superuser sets password_required 'false' on it, as for "
                    "postgres_fdw).");
  return result;
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnectionDeleter {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};

struct Shard {
  std::string name;
  ConnectionOptions options;
  std::unique_ptr<PGconn, ConnectionDeleter> connection;
  enum class Step { idle, connecting, flushing, reading } step = Step::idle;
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  bool ready = false;  // its socket was ready at the last wait
  Result last;         // the last result that returned rows
  std::string shard_report_id;
  bool recorded = false;  // shard_report_id read from the coordinator
  std::string status;     // of the shard's report once waited for
  std::string error;      // of the shard's report when Failed
  ShardRows rows;
  std::string sqlstate;  // of the last error the shard answered
  std::string failure;   // why it was dropped (WaitMode::tolerant)
};

// Thrown out of the fan-out when someone canceled the coordinator's report.
struct ReportCanceled : std::runtime_error {
  ReportCanceled() : std::runtime_error("canceled") {}
};

// Errors name the shard.
[[noreturn]] void shard_failed(const Shard& shard, std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  throw UserError(ERRCODE_CONNECTION_FAILURE, "shard \"" + shard.name + "\": " + message);
}

std::string connection_error(const Shard& shard) {
  const char* message = PQerrorMessage(shard.connection.get());
  return message && *message ? message : "connection lost";
}

void start_connection(Shard& shard) {
  std::vector<const char*> keywords, values;
  for (size_t i = 0; i < shard.options.keywords.size(); ++i) {
    keywords.push_back(shard.options.keywords[i].c_str());
    values.push_back(shard.options.values[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  shard.connection.reset(PQconnectStartParams(keywords.data(), values.data(), 0));
  if (!shard.connection) throw std::bad_alloc();
  if (PQstatus(shard.connection.get()) == CONNECTION_BAD)
    shard_failed(shard, "could not connect: " + connection_error(shard));
  shard.step = Shard::Step::connecting;
  shard.polling = PGRES_POLLING_WRITING;
  shard.ready = false;
}

void send_query(Shard& shard, const std::string& sql) {
  if (!PQsendQuery(shard.connection.get(), sql.c_str()))
    shard_failed(shard, connection_error(shard));
  shard.last.reset();
  shard.step = Shard::Step::flushing;
}

// Advances `shard` after its socket was ready (or at first). Returns true
// when it is idle again.
bool advance(Shard& shard) {
  PGconn* connection = shard.connection.get();
  switch (shard.step) {
    case Shard::Step::idle:
      return true;
    case Shard::Step::connecting:
      // libpq's protocol: poll only once the socket is ready as asked.
      if (!shard.ready) return false;
      shard.polling = PQconnectPoll(connection);
      if (shard.polling == PGRES_POLLING_FAILED)
        shard_failed(shard, "could not connect: " + connection_error(shard));
      if (shard.polling != PGRES_POLLING_OK) return false;
      if (shard.options.password_required && !PQconnectionUsedPassword(connection))
        shard_failed(shard,
                     "password is required: the shard did not ask for the user mapping's "
                     "password, and roles that are not superusers may not connect without one "
                     "(or a superuser sets password_required 'false' on the user mapping)");
      if (PQsetnonblocking(connection, 1) != 0) shard_failed(shard, connection_error(shard));
      shard.step = Shard::Step::idle;
      return true;
    case Shard::Step::flushing: {
      int flushed = PQflush(connection);
      if (flushed < 0) shard_failed(shard, connection_error(shard));
      if (flushed > 0) return false;
      shard.step = Shard::Step::reading;
      [[fallthrough]];
    }
    case Shard::Step::reading:
      if (!PQconsumeInput(connection)) shard_failed(shard, connection_error(shard));
      while (!PQisBusy(connection)) {
        Result result(PQgetResult(connection));
        if (!result) {
          shard.step = Shard::Step::idle;
          return true;
        }
        ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_TUPLES_OK) {
          shard.last = std::move(result);
        } else if (status != PGRES_COMMAND_OK) {
          // Drop the connection's state with it: the shard is failed.
          const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
          shard.sqlstate = sqlstate ? sqlstate : "";
          shard_failed(shard, PQresultErrorMessage(result.get()));
        }
      }
      return false;
  }
  return false;
}

struct WaitSet {
  WaitEventSet* set;
  explicit WaitSet(int events)
      : set(pg_call([&] { return compat::create_wait_event_set(events); })) {}
  // FreeWaitEventSet closes and frees without raising errors.
  ~WaitSet() { FreeWaitEventSet(set); }
  WaitSet(const WaitSet&) = delete;
  WaitSet& operator=(const WaitSet&) = delete;
};

enum class WaitMode {
  strict,      // the first shard that fails raises
  cancelable,  // strict; a cancel of the coordinator's report raises ReportCanceled
  tolerant,    // a shard that fails is dropped, its error kept in Shard::failure
};

// Closes `shard`'s connection and keeps why, without the prefix naming it.
void drop_shard(Shard& shard, std::string message) {
  std::string prefix = "shard \"" + shard.name + "\": ";
  if (message.starts_with(prefix)) message.erase(0, prefix.size());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  shard.failure = std::move(message);
  shard.connection.reset();
  shard.step = Shard::Step::idle;
}

// Drives every shard that has a connection until all are idle, waiting on
// their sockets together. Unless tolerant, raises naming the first shard
// that fails, or a shard still busy at `deadline`.
void wait_for_all(std::vector<Shard>& shards, TimestampTz deadline,
                  WaitMode mode = WaitMode::strict) {
  for (;;) {
    // cancel_report() sets our latch: noticed at the latest one wait later.
    if (mode == WaitMode::cancelable && progress_cancel_requested()) throw ReportCanceled();
    std::vector<Shard*> busy;
    for (Shard& shard : shards) {
      if (!shard.connection) continue;
      bool idle = false;
      if (mode != WaitMode::tolerant) {
        idle = advance(shard);
      } else {
        try {
          idle = advance(shard);
        } catch (const UserError& error) {
          drop_shard(shard, error.what());
          idle = true;
        }
      }
      if (!idle) busy.push_back(&shard);
    }
    if (busy.empty()) return;
    long remaining_ms = static_cast<long>((deadline - GetCurrentTimestamp()) / 1000);
    if (remaining_ms <= 0) {
      std::string message = "no answer within store_monitoring.shard_timeout (" +
                            std::to_string(shard_timeout_ms) + " ms)";
      if (mode != WaitMode::tolerant) shard_failed(*busy.front(), message);
      for (Shard* shard : busy) drop_shard(*shard, message);
      return;
    }
    WaitSet wait(static_cast<int>(busy.size()) + 2);
    std::vector<Shard*> waited;
    for (Shard* shard : busy) {
      shard->ready = false;
      uint32 events = WL_SOCKET_READABLE;
      if ((shard->step == Shard::Step::connecting && shard->polling == PGRES_POLLING_WRITING) ||
          shard->step == Shard::Step::flushing)
        events =
            WL_SOCKET_WRITEABLE | (shard->step == Shard::Step::flushing ? WL_SOCKET_READABLE : 0);
      pgsocket socket = PQsocket(shard->connection.get());
      if (socket == PGINVALID_SOCKET) {
        if (mode != WaitMode::tolerant) shard_failed(*shard, connection_error(*shard));
        drop_shard(*shard, connection_error(*shard));
        continue;
      }
      pg_call([&] { AddWaitEventToSet(wait.set, events, socket, nullptr, shard); });
      waited.push_back(shard);
    }
    if (waited.empty()) continue;
    std::vector<WaitEvent> occurred(waited.size() + 2);
    int count = pg_call([&] {
      AddWaitEventToSet(wait.set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
      AddWaitEventToSet(wait.set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
      int n = WaitEventSetWait(wait.set, remaining_ms, occurred.data(),
                               static_cast<int>(occurred.size()), PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
      return n;
    });
    for (int i = 0; i < count; ++i)
      if (occurred[i].user_data != nullptr)
        static_cast<Shard*>(occurred[i].user_data)->ready = true;
  }
}

// A literal quoted for `shard`'s connection.
std::string literal(Shard& shard, std::string_view value) {
  char* quoted = PQescapeLiteral(shard.connection.get(), value.data(), value.size());
  if (quoted == nullptr) shard_failed(shard, connection_error(shard));
  std::string result(quoted);
  PQfreemem(quoted);
  return result;
}

// One text value of the last result, or nullopt for NULL.
std::optional<std::string> single_value(const Shard& shard) {
  if (!shard.last || PQntuples(shard.last.get()) != 1 || PQnfields(shard.last.get()) < 1)
    shard_failed(shard, "unexpected answer");
  if (PQgetisnull(shard.last.get(), 0, 0)) return std::nullopt;
  return std::string(PQgetvalue(shard.last.get(), 0, 0));
}

// The store_count of a shard's Complete report, from its one-row answer.
long store_count_of(const Shard& shard) {
  std::optional<std::string> text = single_value(shard);
  char* end = nullptr;
  errno = 0;
  long count = text ? std::strtol(text->c_str(), &end, 10) : -1;
  if (!text || end == text->c_str() || *end != '\0' || errno != 0 || count < 0)
    shard_failed(shard, "its report " + shard.shard_report_id + " has no usable store_count: " +
                            text.value_or("NULL"));
  return count;
}

}  // namespace

std::string iso_timestamp(TimestampTz value) {
  char buffer[MAXDATELEN + 1];
  pg_call([&] {
    pg_tm tm;
    fsec_t fsec;
    if (timestamp2tm(value, nullptr, &tm, &fsec, nullptr, nullptr) != 0)
      ereport(ERROR,
              (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range")));
    // Without a zone, timestamp2tm leaves tm_isdst negative, and
    // EncodeDateTime then leaves the offset out: the text would be read in
    // the reader's TimeZone (the shards' sessions are in UTC; report_status
    // readers are in any zone). Offset 0 is UTC.
    tm.tm_isdst = 0;
    EncodeDateTime(&tm, fsec, true, 0, nullptr, USE_ISO_DATES, buffer);
  });
  return buffer;
}

namespace {

TimestampTz parse_timestamp(const Shard& shard, const std::string& text) {
  try {
    return DatumGetTimestampTz(pg_call([&] {
      return DirectFunctionCall3(timestamptz_in, CStringGetDatum(text.c_str()),
                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    }));
  } catch (const PgError&) {
    shard_failed(shard, "returned an invalid timestamp");
  }
}

// H as hours:minutes:seconds.micros, which intervals read exactly.
std::string interval_text(int64 micros) {
  int64 seconds = micros / USECS_PER_SEC;
  char buffer[64];
  snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld.%06lld",
           static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
           static_cast<long long>(seconds % 60), static_cast<long long>(micros % USECS_PER_SEC));
  return buffer;
}

void read_rows(Shard& shard) {
  PGresult* result = shard.last.get();
  // store_id, then uptime, downtime and unknown time per window.
  constexpr int kColumns = 10;
  if (result == nullptr || PQnfields(result) != kColumns)
    shard_failed(shard, "unexpected report rows");
  int count = PQntuples(result);
  shard.rows.shard = shard.name;
  shard.rows.store_ids.reserve(count);
  shard.rows.values.reserve(count);
  for (int row = 0; row < count; ++row) {
    ReportUnitValues values{};
    for (int column = 0; column < kColumns; ++column)
      if (PQgetisnull(result, row, column)) shard_failed(shard, "returned a NULL in its rows");
    shard.rows.store_ids.emplace_back(PQgetvalue(result, row, 0), PQgetlength(result, row, 0));
    for (int column = 1; column < kColumns; ++column) {
      const char* text = PQgetvalue(result, row, column);
      char* end = nullptr;
      errno = 0;
      values[column - 1] = std::strtod(text, &end);
      if (end == text || *end != '\0' || errno != 0)
        shard_failed(shard, std::string("returned a value that is not a number: ") + text);
    }
    shard.rows.values.push_back(values);
  }
  shard.last.reset();
}

TimestampTz shard_deadline() {
  return GetCurrentTimestamp() + static_cast<TimestampTz>(shard_timeout_ms) * 1000;
}

// Every session with a shard starts with this. As postgres_fdw does; the
// shard also gives up a query whose client is gone (the coordinator failed,
// was stopped, or dropped the connection) within a few seconds. wait_report()
// needs READ COMMITTED, whatever the shard's default.
constexpr const char* kSessionSetup =
    "SET search_path = pg_catalog, pg_temp; SET TimeZone = 'UTC'; "
    "SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 3; SET client_connection_check_interval = '2s'; "
    "SET default_transaction_isolation = 'read committed'";

enum class ShardReportAction { cancel, remove };

// Cancels or deletes, on each shard of `shards` (name, options and
// shard_report_id set; those with a failure already are only warned about),
// the report it names: all shards at once, each over a new connection as
// its options say, within store_monitoring.shard_timeout. A shard that
// cannot be reached or refuses gets a WARNING naming it and its report;
// nothing here raises for a shard. A report the shard no longer shows to
// the mapped role (gone, or never its own) is left alone silently, as is,
// for a cancel, one that has already finished.
void act_on_shard_reports(std::vector<Shard>& shards, ShardReportAction action) {
  if (shards.empty()) return;
  TimestampTz deadline = shard_deadline();
  auto each_connected = [&](auto&& step) {
    for (Shard& shard : shards) {
      if (!shard.failure.empty()) continue;
      try {
        step(shard);
      } catch (const UserError& error) {
        drop_shard(shard, error.what());
      }
    }
  };
  each_connected([](Shard& shard) { start_connection(shard); });
  wait_for_all(shards, deadline, WaitMode::tolerant);
  each_connected([](Shard& shard) { send_query(shard, kSessionSetup); });
  wait_for_all(shards, deadline, WaitMode::tolerant);
  long remaining_ms =
      std::max<long>(0, static_cast<long>((deadline - GetCurrentTimestamp()) / 1000));
  each_connected([&](Shard& shard) {
    std::string id = literal(shard, shard.shard_report_id);
    // Only a Running report can be canceled, and only a finished one
    // deleted: a delete cancels a shard report still running (the
    // coordinator's ended without it) and waits for it to end.
    // wait_report(id, 0) reads the status without rendering the CSV.
    std::string cancel = "SELECT store_monitoring.cancel_report(" + id +
                         ") WHERE store_monitoring.wait_report(" + id +
                         ", '0') OPERATOR(pg_catalog.=) 'Running'";
    send_query(shard, action == ShardReportAction::cancel
                          ? cancel
                          : cancel + "; SELECT store_monitoring.wait_report(" + id + ", " +
                                literal(shard, std::to_string(remaining_ms) + " milliseconds") +
                                "); SELECT store_monitoring.delete_report(" + id + ")");
  });
  wait_for_all(shards, deadline, WaitMode::tolerant);
  for (Shard& shard : shards) {
    shard.connection.reset();
    if (shard.failure.empty()) continue;
    bool moot = shard.sqlstate == "42704" ||  // undefined_object: gone, or not its own
                (action == ShardReportAction::cancel &&
                 shard.sqlstate == "55000");  // not Running: finished meanwhile
    if (moot) continue;
    std::string message = std::string("could not ") +
                          (action == ShardReportAction::cancel ? "cancel" : "delete") +
                          " report \"" + shard.shard_report_id + "\" on shard \"" + shard.name +
                          "\": " + shard.failure;
    pg_call([&] { ereport(WARNING, (errmsg("%s", message.c_str()))); });
  }
}

// The steps of one report, each sent to every shard at once.
ReportOutput fan_out(ReportJob& job, bool as_of_known, TimestampTz requested_at,
                     std::vector<Shard>& shards, const TransactionRunner& in_transaction) {
  TimestampTz deadline = shard_deadline();
  // Shard reports recorded by an interrupted run are canceled too.
  if (progress_cancel_requested()) throw ReportCanceled();
  for (Shard& shard : shards) start_connection(shard);
  wait_for_all(shards, deadline, WaitMode::cancelable);
  for (Shard& shard : shards) send_query(shard, kSessionSetup);
  wait_for_all(shards, deadline, WaitMode::cancelable);

  if (!as_of_known) {
    for (Shard& shard : shards) send_query(shard, "SELECT store_monitoring.latest_poll()::text");
    wait_for_all(shards, deadline, WaitMode::cancelable);
    std::optional<TimestampTz> latest;
    for (Shard& shard : shards)
      if (std::optional<std::string> value = single_value(shard)) {
        TimestampTz at = parse_timestamp(shard, *value);
        if (!latest || at > *latest) latest = at;
      }
    job.as_of = latest.value_or(requested_at);
    if (auto error = in_transaction([&] {
          spi_execute(
              "UPDATE _store_monitoring_internal.report SET as_of = $2 WHERE report_id "
              "OPERATOR(pg_catalog.=) $1",
              {{TEXTOID, text_datum(job.report_id)},
               {TIMESTAMPTZOID, TimestampTzGetDatum(job.as_of)}},
              false);
        }))
      throw UserError(ERRCODE_INTERNAL_ERROR, *error);
  }

  std::string as_of = iso_timestamp(job.as_of);
  std::string extrapolation = interval_text(job.max_extrapolation_us);
  bool triggered = false;
  for (Shard& shard : shards) {
    if (shard.recorded) continue;
    send_query(shard, "SELECT pg_catalog.set_config('store_monitoring.max_extrapolation', " +
                          literal(shard, extrapolation) +
                          ", false); "
                          "SELECT pg_catalog.set_config('store_monitoring.interpolation', " +
                          literal(shard, interpolation_name(job.interpolation)) +
                          ", false); "
                          "SELECT store_monitoring.trigger_report(" +
                          literal(shard, as_of) + "::timestamptz)");
    triggered = true;
  }
  // Not cancelable: a cancel is noticed once the new shard reports' ids are
  // known (and recorded), so that they can be canceled too. Tolerant: when
  // one shard fails here, the reports the others did start are still read
  // and recorded, so that the failure cancels them (and delete_report finds
  // them); the first failure is raised once they are.
  wait_for_all(shards, deadline, WaitMode::tolerant);
  if (triggered) {
    for (Shard& shard : shards) {
      if (shard.recorded || !shard.connection) continue;
      try {
        std::optional<std::string> id = single_value(shard);
        if (!id) shard_failed(shard, "trigger_report() returned NULL");
        shard.shard_report_id = *id;
      } catch (const UserError& error) {
        drop_shard(shard, error.what());
      }
    }
    // Recorded before waiting: a worker that resumes this report waits for
    // these shard reports instead of starting new ones.
    if (auto error = in_transaction([&] {
          for (Shard& shard : shards) {
            if (shard.recorded || shard.shard_report_id.empty()) continue;
            spi_execute(
                "INSERT INTO _store_monitoring_internal.shard_report "
                "(report_id, server, shard_report_id) VALUES ($1, $2, $3)",
                {{TEXTOID, text_datum(job.report_id)},
                 {NAMEOID, CStringGetDatum(shard.name.c_str())},
                 {TEXTOID, text_datum(shard.shard_report_id)}},
                false);
          }
        }))
      throw UserError(ERRCODE_INTERNAL_ERROR, *error);
  }
  for (const Shard& shard : shards)
    if (!shard.failure.empty()) shard_failed(shard, shard.failure);

  long remaining_ms =
      std::max<long>(0, static_cast<long>((deadline - GetCurrentTimestamp()) / 1000));
  for (Shard& shard : shards)
    send_query(shard, "SELECT store_monitoring.wait_report(" +
                          literal(shard, shard.shard_report_id) + ", " +
                          literal(shard, std::to_string(remaining_ms) + " milliseconds") + ")");
  wait_for_all(shards, deadline, WaitMode::cancelable);
  for (Shard& shard : shards) {
    std::optional<std::string> status = single_value(shard);
    shard.status = status.value_or("");
    if (shard.status == status_text(ReportStatus::Running))
      shard_failed(shard, "its report " + shard.shard_report_id +
                              " did not finish within store_monitoring.shard_timeout (" +
                              std::to_string(shard_timeout_ms) + " ms)");
    std::string id = literal(shard, shard.shard_report_id);
    send_query(shard, shard.status == status_text(ReportStatus::Complete)
                          ? "SELECT l.store_count FROM store_monitoring.list_reports() l "
                            "WHERE l.report_id = " + id
                          : "SELECT error FROM store_monitoring.get_report(" + id + ")");
  }
  wait_for_all(shards, deadline, WaitMode::cancelable);
  std::vector<long> store_counts;
  for (Shard& shard : shards) {
    if (shard.status != status_text(ReportStatus::Complete))
      shard_failed(shard, "its report " + shard.shard_report_id + " is " + shard.status + ": " +
                              single_value(shard).value_or("(no error message)"));
    store_counts.push_back(store_count_of(shard));
    send_query(shard, "SELECT * FROM store_monitoring.report_rows(" +
                          literal(shard, shard.shard_report_id) + ")");
  }
  wait_for_all(shards, deadline, WaitMode::cancelable);
  for (size_t i = 0; i < shards.size(); ++i) {
    Shard& shard = shards[i];
    read_rows(shard);
    // The rows must be the whole report the shard says it computed: a shard
    // whose stored rows lost some (or gained some) is not merged as if whole.
    const size_t received = shard.rows.store_ids.size();
    if (received != static_cast<size_t>(store_counts[i]))
      shard_failed(shard, "its report " + shard.shard_report_id + " has store_count " +
                              std::to_string(store_counts[i]) + " but report_rows() returned " +
                              std::to_string(received) + " rows");
  }
  for (Shard& shard : shards) shard.connection.reset();

  std::vector<ShardRows> rows;
  rows.reserve(shards.size());
  for (Shard& shard : shards) rows.push_back(std::move(shard.rows));
  TimestampTz merging = GetCurrentTimestamp();
  ReportOutput output = merge_shard_rows(rows);
  elog(DEBUG1, "store_monitoring report %s: %zu stores from %zu shards merged in %.1f ms",
       job.report_id.c_str(), output.store_ids.size(), shards.size(),
       (GetCurrentTimestamp() - merging) / 1000.0);
  return output;
}

}  // namespace

void define_shard_settings() {
  DefineCustomIntVariable(
      "store_monitoring.shard_timeout",
      "How long a report across shards waits for its shards, from connecting to the last row.",
      "A shard that has not answered by then fails the report, naming the shard.",
      &shard_timeout_ms, 10 * 60 * 1000, 1, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
      nullptr);
}

bool database_has_shards() {
  return spi_execute("SELECT 1 FROM _store_monitoring_internal.shard", {}, true, 1) > 0;
}

bool check_role_can_reach_shards(Oid role) {
  SpiScope spi;
  std::vector<std::string> names = shard_names();
  for (const std::string& name : names) usable_server(name, role);
  return !names.empty();
}

namespace {

// Needs a transaction and SPI.
void act_on_recorded_shard_reports(std::string_view report_id, Oid owner,
                                   ShardReportAction action) {
  uint64 rows = spi_execute(
      "SELECT server::text, shard_report_id FROM _store_monitoring_internal.shard_report "
      "WHERE report_id OPERATOR(pg_catalog.=) $1 ORDER BY server",
      {{TEXTOID, text_datum(report_id)}}, true);
  std::vector<Shard> shards(rows);
  for (uint64 i = 0; i < rows; ++i) {
    bool is_null = false;
    shards[i].name = text_bytes(spi_value(i, 1, &is_null));
    shards[i].shard_report_id = text_bytes(spi_value(i, 2, &is_null));
  }
  // Read fully before connection_options runs SQL of its own (it replaces
  // SPI_tuptable). The owner's user mapping, whoever calls: the shard then
  // applies that remote role's privileges, as when the reports were started.
  // Catalog errors (PgError) are not the shard's: they fail the call.
  for (Shard& shard : shards) {
    try {
      shard.options = connection_options(shard.name, owner);
    } catch (const UserError& error) {
      shard.failure = error.what();
    }
  }
  act_on_shard_reports(shards, action);
}

}  // namespace

void delete_shard_reports(std::string_view report_id, Oid owner) {
  act_on_recorded_shard_reports(report_id, owner, ShardReportAction::remove);
}

void cancel_shard_reports(std::string_view report_id, Oid owner) {
  act_on_recorded_shard_reports(report_id, owner, ShardReportAction::cancel);
}

namespace {

// Cancels, within store_monitoring.shard_timeout, the reports that the
// fan-out of `job` started (or found recorded) on `shards` and that still
// run; finished ones stay (a delete of the coordinator's report deletes
// them). Never raises: whatever goes wrong is a WARNING in the log.
void cancel_started_shard_reports(const ReportJob& job, std::vector<Shard>& shards) {
  // New connections, not the open ones: those may be busy in wait_report(),
  // and interrupting that takes PQcancel(), which in PostgreSQL 15 connects
  // without a time limit. The shard ends the dropped sessions' queries
  // (client_connection_check_interval); the new ones are bounded by
  // shard_timeout.
  std::vector<Shard> started;
  for (Shard& shard : shards) {
    shard.connection.reset();
    if (shard.shard_report_id.empty()) continue;
    Shard again;
    again.name = shard.name;
    again.options = shard.options;
    again.shard_report_id = shard.shard_report_id;
    started.push_back(std::move(again));
  }
  try {
    act_on_shard_reports(started, ShardReportAction::cancel);
  } catch (const std::exception& e) {
    // report_timeout or pg_cancel_backend() struck meanwhile (between
    // transactions: nothing to clean up): the report still ends as it would.
    std::string message = "store_monitoring report " + job.report_id +
                          ": stopped canceling its shards' reports: " + e.what();
    try {
      pg_call([&] { ereport(WARNING, (errmsg("%s", message.c_str()))); });
    } catch (const std::exception&) {
      // Not even logged (out of memory): the report's own outcome matters more.
    }
  }
}

}  // namespace

std::optional<std::string> compute_report_on_shards(ReportJob job, bool as_of_known,
                                                    TimestampTz requested_at,
                                                    const TransactionRunner& in_transaction) {
  std::vector<Shard> shards;
  std::optional<std::string> error = in_transaction([&] {
    for (const std::string& name : shard_names()) {
      Shard shard;
      shard.name = name;
      shard.options = connection_options(name, job.owner);
      if (spi_execute(
              "SELECT shard_report_id FROM _store_monitoring_internal.shard_report "
              "WHERE report_id OPERATOR(pg_catalog.=) $1 AND server OPERATOR(pg_catalog.=) $2",
              {{TEXTOID, text_datum(job.report_id)}, {NAMEOID, CStringGetDatum(name.c_str())}},
              true) == 1) {
        bool is_null = false;
        shard.shard_report_id = std::string(text_bytes(spi_value(0, 1, &is_null)));
        shard.recorded = true;
      }
      shards.push_back(std::move(shard));
    }
  });
  if (error) return error;
  ReportOutput output;
  bool canceled = false;
  try {
    output = fan_out(job, as_of_known, requested_at, shards, in_transaction);
  } catch (const ReportCanceled&) {
    canceled = true;
  } catch (const std::exception& e) {
    // A stopped worker exits through FATAL without unwinding to here; what
    // arrives is an error that fails the report (resuming would repeat it).
    // The shard reports it started and that still run are of no use now:
    // canceled, so that they free the shards' workers. The report's error
    // stays this one whatever the cancel meets (that goes to the log).
    std::string message = e.what();
    cancel_started_shard_reports(job, shards);
    return message;
  }
  if (canceled) cancel_started_shard_reports(job, shards);
  // A cancel that came after the shards' last answer fails the report too.
  if (canceled || progress_cancel_requested()) {
    std::string message = "canceled";
    (void)in_transaction([&] { message = progress_cancel_message().value_or(message); });
    return message;
  }
  return in_transaction([&] {
    (void)lock_running_report(text_datum(job.report_id));
    store_complete_report(job, output);
  });
}

}  // namespace store_monitoring::pg

// The newest poll the caller can see, or NULL: what report_time = 'latest'
// means on this node. A coordinator asks every shard for it.
SM_PG_FUNCTION(store_monitoring_latest_poll, [](FunctionCallInfo fcinfo) -> Datum {
  using namespace store_monitoring::pg;
  std::optional<TimestampTz> latest;
  Oid caller = GetUserId();  // before SpiScope acts as the table owner
  {
    SpiScope spi;
    latest = newest_poll_for(caller);
  }
  if (!latest) PG_RETURN_NULL();
  return TimestampTzGetDatum(*latest);
})
SM_PG_FUNCTION(store_monitoring_add_shard, store_monitoring::pg::add_shard)
SM_PG_FUNCTION(store_monitoring_remove_shard, store_monitoring::pg::remove_shard)
SM_PG_FUNCTION(store_monitoring_shards, store_monitoring::pg::list_shards)
