// The coordinator's fan-out over libpq (see fanout.hpp).
#include "pg/shards/fanout.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/worker/progress.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace store_monitoring::pg {
namespace {

// A shard that floods its session with notices is relayed this many at a
// time, the rest counted.
constexpr size_t kNoticesKept = 20;

// libpq's notice receiver: runs inside libpq, so it neither raises nor
// throws; the notice is raised again by relay_notices().
void keep_notice(void* arg, const PGresult* result) noexcept {
  auto* notices = static_cast<ShardNotices*>(arg);
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  if (severity == nullptr || message == nullptr) return;
  int elevel = std::strcmp(severity, "WARNING") == 0  ? WARNING
               : std::strcmp(severity, "NOTICE") == 0 ? NOTICE
               : std::strcmp(severity, "INFO") == 0   ? INFO
                                                      : 0;  // DEBUG, LOG: the shard's own
  if (elevel == 0) return;
  try {
    if (notices->pending.size() < kNoticesKept)
      notices->pending.emplace_back(elevel, message);
    else
      ++notices->dropped;
  } catch (...) {
    ++notices->dropped;  // out of memory: counted, not kept
  }
}

// Raises again, naming the shard, what it said since the last call.
void relay_notices(const Shard& shard) {
  ShardNotices& notices = *shard.notices;
  if (notices.pending.empty() && notices.dropped == 0) return;
  std::vector<std::pair<int, std::string>> pending;
  pending.swap(notices.pending);
  size_t dropped = std::exchange(notices.dropped, 0);
  for (const auto& notice : pending)
    pg_call([&] {
      ereport(notice.first,
              (errmsg("shard \"%s\": %s", shard.name.c_str(), notice.second.c_str())));
    });
  if (dropped > 0)
    pg_call([&] {
      ereport(WARNING,
              (errmsg("shard \"%s\": %zu more notices not shown", shard.name.c_str(), dropped)));
    });
}

// The connect timeout the shard's options give, in ms (0: none).
long connect_timeout_ms(const ConnectionOptions& options) {
  long seconds = kDefaultConnectTimeoutS;
  for (size_t i = 0; i < options.keywords.size(); ++i)
    if (options.keywords[i] == "connect_timeout") {
      // As libpq reads it: a later value wins, 1 means 2.
      seconds = std::strtol(options.values[i].c_str(), nullptr, 10);
      if (seconds == 1) seconds = 2;
    }
  return seconds > 0 ? seconds * 1000 : 0;
}

std::string connection_error(const Shard& shard) {
  const char* message = PQerrorMessage(shard.connection.get());
  return message && *message ? message : "connection lost";
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

}  // namespace

[[noreturn]] void shard_failed(const Shard& shard, std::string message) {
  relay_notices(shard);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  throw UserError(ERRCODE_CONNECTION_FAILURE, "shard \"" + shard.name + "\": " + message);
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
  PQsetNoticeReceiver(shard.connection.get(), keep_notice, shard.notices.get());
  long timeout_ms = connect_timeout_ms(shard.options);
  shard.connect_by = timeout_ms > 0 ? GetCurrentTimestamp() + timeout_ms * 1000 : DT_NOEND;
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

void send_streamed_query(Shard& shard, const std::string& sql) {
  send_query(shard, sql);
  if (!PQsetSingleRowMode(shard.connection.get())) shard_failed(shard, "could not stream rows");
}

Result next_result(Shard& shard, TimestampTz deadline) {
  PGconn* connection = shard.connection.get();
  for (;;) {
    if (progress_cancel_requested()) throw ReportCanceled();
    uint32 events = WL_SOCKET_READABLE;
    if (shard.step == Shard::Step::idle) return nullptr;
    if (shard.step == Shard::Step::flushing) {
      int flushed = PQflush(connection);
      if (flushed < 0) shard_failed(shard, connection_error(shard));
      if (flushed > 0) events |= WL_SOCKET_WRITEABLE;
      if (flushed == 0) shard.step = Shard::Step::reading;
    }
    if (shard.step == Shard::Step::reading && !PQisBusy(connection)) {
      Result result(PQgetResult(connection));
      relay_notices(shard);
      if (!result) {
        shard.step = Shard::Step::idle;
        return result;
      }
      ExecStatusType status = PQresultStatus(result.get());
      if (status != PGRES_SINGLE_TUPLE && status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
        shard.sqlstate = sqlstate ? sqlstate : "";
        shard_failed(shard, PQresultErrorMessage(result.get()));
      }
      return result;
    }
    long remaining_ms = static_cast<long>((deadline - GetCurrentTimestamp()) / 1000);
    if (remaining_ms <= 0)
      shard_failed(shard, "no answer within store_monitoring.shard_timeout (" +
                              std::to_string(current_settings().shard_timeout_ms) + " ms)");
    pgsocket socket = PQsocket(connection);
    if (socket == PGINVALID_SOCKET) shard_failed(shard, connection_error(shard));
    int occurred = pg_call([&] {
      int rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | WL_TIMEOUT | events,
                                 socket, remaining_ms, PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
      return rc;
    });
    if ((occurred & WL_SOCKET_READABLE) && !PQconsumeInput(connection))
      shard_failed(shard, connection_error(shard));
  }
}

void drop_shard(Shard& shard, std::string message) {
  relay_notices(shard);
  std::string prefix = "shard \"" + shard.name + "\": ";
  if (message.starts_with(prefix)) message.erase(0, prefix.size());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  shard.failure = std::move(message);
  shard.connection.reset();
  shard.step = Shard::Step::idle;
}

void wait_for_all(std::vector<Shard>& shards, TimestampTz deadline, WaitMode mode) {
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
      relay_notices(shard);
      if (!idle) busy.push_back(&shard);
    }
    if (busy.empty()) return;
    TimestampTz now = GetCurrentTimestamp();
    TimestampTz wake = deadline;
    for (size_t i = 0; i < busy.size(); ++i) {
      Shard& shard = *busy[i];
      if (shard.step != Shard::Step::connecting) continue;
      if (shard.connect_by > now) {
        wake = std::min(wake, shard.connect_by);
        continue;
      }
      // An address that takes connections but never answers (or none at
      // all) gives up here, not at shard_timeout.
      std::string message = "could not connect: no answer within connect_timeout (" +
                            std::to_string(connect_timeout_ms(shard.options) / 1000) + " s)";
      if (mode != WaitMode::tolerant) shard_failed(shard, message);
      drop_shard(shard, message);
      busy.erase(busy.begin() + static_cast<long>(i--));
    }
    if (busy.empty()) return;
    long remaining_ms = static_cast<long>((deadline - now) / 1000);
    long wait_ms = std::max<long>(1, static_cast<long>((wake - now + 999) / 1000));
    if (remaining_ms <= 0) {
      std::string message = "no answer within store_monitoring.shard_timeout (" +
                            std::to_string(current_settings().shard_timeout_ms) + " ms)";
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
      int n = WaitEventSetWait(wait.set, wait_ms, occurred.data(),
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

std::string literal(Shard& shard, std::string_view value) {
  char* quoted = PQescapeLiteral(shard.connection.get(), value.data(), value.size());
  if (quoted == nullptr) shard_failed(shard, connection_error(shard));
  std::string result(quoted);
  PQfreemem(quoted);
  return result;
}

std::optional<std::string> single_value(const Shard& shard) {
  if (!shard.last || PQntuples(shard.last.get()) != 1 || PQnfields(shard.last.get()) < 1)
    shard_failed(shard, "unexpected answer");
  if (PQgetisnull(shard.last.get(), 0, 0)) return std::nullopt;
  return std::string(PQgetvalue(shard.last.get(), 0, 0));
}

TimestampTz shard_deadline() {
  return GetCurrentTimestamp() +
         static_cast<TimestampTz>(current_settings().shard_timeout_ms) * 1000;
}

}  // namespace store_monitoring::pg
