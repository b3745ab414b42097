// Deleting shard reports left behind (see cleanup.hpp and docs/scale-out.md).
#include "pg/shards/cleanup.hpp"

#include "pg/common/datum.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/shards/catalog.hpp"
#include "pg/shards/fanout.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/timestamp.h"
}

#include <algorithm>

namespace store_monitoring::pg {
namespace {

// Leftovers tried after one report: bounded, so that a backlog (a purge of
// many coordinator reports) drains over several reports.
constexpr long kLeftoversPerPass = 200;

// A lock on the shard (a session there holding a report's row, such as the
// mapped role's own uncommitted delete) fails the statement after this
// long, not at shard_timeout: the workers clean up after every report, and
// one role's lock must not hold them. The report stays noted.
constexpr const char* kCleanupLockTimeout = "SET lock_timeout = '1s'";

// Statements that delete, on a shard, the reports of `items` (indices into
// `all`): those still running are canceled and waited for first. Each
// statement reads anew which reports match: the mapped role's own (a
// shard's superuser's: all), labeled with a coordinator report or recorded
// by it, less the one a Complete report keeps.
std::string deleting_sql(Shard& shard, const std::vector<ShardCleanup>& all,
                         const std::vector<size_t>& items, long wait_ms) {
  std::string todo = "WITH todo(label, recorded, keep) AS (VALUES ";
  for (size_t n = 0; n < items.size(); ++n) {
    const ShardCleanup& item = all[items[n]];
    std::string recorded = item.recorded.empty() ? "NULL" : literal(shard, item.recorded);
    todo += (n ? ", (" : "(") + literal(shard, shard_report_label(item.report_id)) + "::text, " +
            recorded + "::text, " + (item.keep_recorded ? recorded : std::string("NULL")) +
            "::text)";
  }
  todo +=
      "), mine AS (SELECT DISTINCT l.report_id, l.status FROM store_monitoring.list_reports() l "
      "JOIN todo t ON l.label = t.label OR l.report_id = t.recorded "
      "WHERE l.report_id IS DISTINCT FROM t.keep) ";
  // Once per report (a LATERAL call), whatever the functions return.
  auto each = [&](const std::string& call, const char* where) {
    return todo + "SELECT count(*) FROM mine m CROSS JOIN LATERAL (SELECT " + call + ") f" + where;
  };
  return each("store_monitoring.cancel_report(m.report_id)", " WHERE m.status = 'Running'; ") +
         each("store_monitoring.wait_report(m.report_id, " +
                  literal(shard, std::to_string(wait_ms) + " milliseconds") + ")",
              "; ") +
         each("store_monitoring.delete_report(m.report_id)", "");
}

void warn(const ShardCleanup& item, const std::string& failure) {
  std::string what = item.recorded.empty()
                         ? "the reports labeled \"" + shard_report_label(item.report_id) + "\""
                         : "report \"" + item.recorded + "\"";
  std::string message =
      "could not delete " + what + " on shard \"" + item.server + "\": " + failure;
  pg_call([&] { ereport(WARNING, (errmsg("%s", message.c_str()))); });
}

// Reads the rows of a statement that selects report_id, server, owner,
// recorded (NULL: none) and whether it is kept.
std::vector<ShardCleanup> read_cleanups(uint64 rows) {
  std::vector<ShardCleanup> items(rows);
  for (uint64 i = 0; i < rows; ++i) {
    bool is_null = false;
    items[i].report_id = text_bytes(spi_value(i, 1, &is_null));
    items[i].server = text_bytes(spi_value(i, 2, &is_null));
    items[i].owner = DatumGetObjectId(spi_value(i, 3, &is_null));
    Datum recorded = spi_value(i, 4, &is_null);
    if (!is_null) items[i].recorded = text_bytes(recorded);
    items[i].keep_recorded = DatumGetBool(spi_value(i, 5, &is_null)) && !is_null;
  }
  return items;
}

}  // namespace

void delete_on_shards(std::vector<ShardCleanup>& items, const TransactionRunner* in_transaction) {
  // One connection per shard and owner.
  std::vector<Shard> shards;
  std::vector<Oid> owners;
  std::vector<std::vector<size_t>> members;
  auto connect_as_owners = [&] {
    for (size_t i = 0; i < items.size(); ++i) {
      size_t group = 0;
      while (group < shards.size() &&
             (shards[group].name != items[i].server || owners[group] != items[i].owner))
        ++group;
      if (group == shards.size()) {
        shards.emplace_back();
        shards.back().name = items[i].server;
        owners.push_back(items[i].owner);
        members.emplace_back();
        try {
          shards.back().options = connection_options(items[i].server, items[i].owner);
        } catch (const UserError& error) {
          shards.back().failure = error.what();
        }
      }
      members[group].push_back(i);
    }
  };
  if (in_transaction == nullptr) {
    connect_as_owners();
  } else if (std::optional<std::string> error = (*in_transaction)(connect_as_owners)) {
    for (const ShardCleanup& item : items) warn(item, *error);
    return;
  }
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
  each_connected([](Shard& shard) {
    send_query(shard, std::string(kSessionSetup) + "; " + kCleanupLockTimeout);
  });
  wait_for_all(shards, deadline, WaitMode::tolerant);
  long wait_ms = std::max<long>(0, static_cast<long>((deadline - GetCurrentTimestamp()) / 1000));
  for (size_t group = 0; group < shards.size(); ++group) {
    Shard& shard = shards[group];
    if (!shard.failure.empty()) continue;
    try {
      send_query(shard, deleting_sql(shard, items, members[group], wait_ms));
    } catch (const UserError& error) {
      drop_shard(shard, error.what());
    }
  }
  wait_for_all(shards, deadline, WaitMode::tolerant);
  for (size_t group = 0; group < shards.size(); ++group) {
    shards[group].connection.reset();
    for (size_t i : members[group]) {
      items[i].done = shards[group].failure.empty();
      if (!items[i].done) warn(items[i], shards[group].failure);
    }
  }
}

std::string shard_report_label(std::string_view report_id) {
  return "coordinator report " + std::string(report_id);
}

std::vector<ShardCleanup> cleanups_of(std::string_view report_id) {
  uint64 rows = spi_execute(
      "SELECT t.report_id, t.server::text, pg_catalog.min(t.owner), "
      "pg_catalog.max(t.recorded), pg_catalog.bool_or(r.status OPERATOR(pg_catalog.=) "
      "'Complete') "
      "FROM (SELECT c.report_id, c.server, c.owner, c.shard_report_id AS recorded "
      "      FROM _store_monitoring_internal.shard_cleanup c "
      "      WHERE c.report_id OPERATOR(pg_catalog.=) $1 "
      "      UNION ALL SELECT s.report_id, s.server, o.owner, s.shard_report_id "
      "      FROM _store_monitoring_internal.shard_report s "
      "      JOIN _store_monitoring_internal.report o USING (report_id) "
      "      WHERE s.report_id OPERATOR(pg_catalog.=) $1) t "
      "LEFT JOIN _store_monitoring_internal.report r USING (report_id) "
      "GROUP BY t.report_id, t.server ORDER BY t.server",
      {{TEXTOID, text_datum(report_id)}}, false);
  return read_cleanups(rows);
}

void forget_done(const std::vector<ShardCleanup>& items) {
  for (const ShardCleanup& item : items)
    spi_execute(
        item.done ? "DELETE FROM _store_monitoring_internal.shard_cleanup WHERE report_id "
                    "OPERATOR(pg_catalog.=) $1 AND server OPERATOR(pg_catalog.=) $2"
                  : "UPDATE _store_monitoring_internal.shard_cleanup SET noted_at = "
                    "pg_catalog.now() WHERE report_id OPERATOR(pg_catalog.=) $1 AND "
                    "server OPERATOR(pg_catalog.=) $2",
        {{TEXTOID, text_datum(item.report_id)}, {NAMEOID, CStringGetDatum(item.server.c_str())}},
        false);
}

void clean_up_shard_reports(std::string_view report_id) {
  std::vector<ShardCleanup> items = cleanups_of(report_id);
  if (items.empty()) return;
  delete_on_shards(items);
  forget_done(items);
}

void clean_up_leftovers(const TransactionRunner& in_transaction) {
  std::vector<ShardCleanup> items;
  std::optional<std::string> error = in_transaction([&] {
    // Those that can never be done: their server is no longer a shard, or
    // their owner is gone (its user mapping with it).
    spi_execute(
        "DELETE FROM _store_monitoring_internal.shard_cleanup c WHERE NOT EXISTS (SELECT FROM "
        "_store_monitoring_internal.shard s WHERE s.server OPERATOR(pg_catalog.=) c.server) "
        "OR NOT EXISTS (SELECT FROM pg_catalog.pg_roles a WHERE a.oid OPERATOR(pg_catalog.=) "
        "c.owner)",
        {}, false);
    items = read_cleanups(spi_execute(
        "SELECT c.report_id, c.server::text, c.owner, "
        "COALESCE(s.shard_report_id, c.shard_report_id), "
        "r.status IS NOT DISTINCT FROM 'Complete' "
        "FROM _store_monitoring_internal.shard_cleanup c "
        "LEFT JOIN _store_monitoring_internal.report r USING (report_id) "
        "LEFT JOIN _store_monitoring_internal.shard_report s USING (report_id, server) "
        "WHERE r.status IS DISTINCT FROM 'Running' ORDER BY c.noted_at, c.report_id, c.server",
        {}, false, kLeftoversPerPass));
  });
  if (!error && !items.empty()) {
    try {
      delete_on_shards(items, &in_transaction);
      error = in_transaction([&] { forget_done(items); });
    } catch (const UserError& e) {
      error = e.what();  // not a shard's (those are WARNINGs): tried again later
    }
  }
  if (error)
    pg_call([&] {
      ereport(WARNING, (errmsg("store_monitoring could not delete shard reports left behind: %s",
                               error->c_str())));
    });
}

}  // namespace store_monitoring::pg
