#include "pg/seal/compaction.hpp"

#include "core/poll_segment.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/parallel_store_order_read.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace store_monitoring::pg {
namespace {

// Rows of sealed_polls written per statement.
constexpr size_t kRowsPerInsert = 10000;

TimestampTz day_start(int32_t day) {
  return static_cast<TimestampTz>(day) * kMicrosPerDay - kPgEpochInUnixMicros;
}
int32_t day_of(TimestampTz at) { return segment_day(at + kPgEpochInUnixMicros); }
Datum date_datum(int32_t day) { return DateADTGetDatum(day - kPgEpochInUnixDays); }

std::optional<TimestampTz> timestamp_result() {
  bool is_null = true;
  Datum value = spi_value(0, 1, &is_null);
  if (is_null) return std::nullopt;
  return DatumGetTimestampTz(value);
}

// What sealing would get wrong: polls a policy hides from some roles (sealed
// rows show every poll to every reader of the table), DELETE triggers (a
// move is no delete), a partitioned or inherited table (its rows lie
// elsewhere).
void check_sealable() {
  spi_execute(
      "SELECT c.relrowsecurity, c.relhassubclass OR c.relkind OPERATOR(pg_catalog.<>) 'r',"
      " (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(t.tgname), ', ')"
      "  FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid"
      "  AND NOT t.tgisinternal AND t.tgenabled OPERATOR(pg_catalog.<>) 'D'"
      "  AND (t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 8) OPERATOR(pg_catalog.<>) 0)"
      " FROM pg_catalog.pg_class c"
      " WHERE c.oid OPERATOR(pg_catalog.=) 'store_monitoring.store_status'::pg_catalog.regclass",
      {}, true, 1);
  bool is_null = true;
  if (DatumGetBool(spi_value(0, 1, &is_null)))
    throw UserError(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "cannot seal the polls of store_monitoring.store_status: it has row-level "
                    "security, and sealed polls could not follow its policies");
  if (DatumGetBool(spi_value(0, 2, &is_null)))
    throw UserError(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "cannot seal the polls of store_monitoring.store_status: it is partitioned or "
                    "has inheritance children",
                    "On a coordinator, seal the polls on each shard.");
  Datum triggers = spi_value(0, 3, &is_null);
  if (!is_null)
    throw UserError(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "cannot seal the polls of store_monitoring.store_status: its triggers " +
                        std::string(text_bytes(triggers)) +
                        " fire on DELETE, and sealing deletes its rows",
                    "Disable them (ALTER TABLE ... DISABLE TRIGGER) while polls are sealed.");
}

// One day's polls as the DELETE returns them.
struct DayPolls {
  std::unordered_map<std::string, uint32_t> index;
  std::vector<std::string> ids;
  struct Row {
    uint32_t store;
    Poll poll;
  };
  std::vector<Row> rows;
  void add(std::string_view id, Poll poll) {
    auto [it, fresh] = index.try_emplace(std::string(id), static_cast<uint32_t>(ids.size()));
    if (fresh) ids.emplace_back(id);
    rows.push_back({it->second, poll});
  }
};

// Writes rows of sealed_polls for `day`; a store that has one already gets
// the two merged (a late poll, sealed after its day).
void write_rows(int32_t day, const std::vector<std::string_view>& ids,
                const std::vector<std::string>& packed) {
  Datum ids_array = 0;
  Datum packed_array = 0;
  pg_call_void([&] {
    std::vector<Datum> id_datums(ids.size());
    std::vector<Datum> packed_datums(packed.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      id_datums[i] = text_datum(ids[i]);
      packed_datums[i] = bytea_datum(packed[i]);
    }
    ids_array = PointerGetDatum(construct_array(id_datums.data(), static_cast<int>(ids.size()),
                                                TEXTOID, -1, false, TYPALIGN_INT));
    packed_array = PointerGetDatum(construct_array(
        packed_datums.data(), static_cast<int>(packed.size()), BYTEAOID, -1, false, TYPALIGN_INT));
  });
  spi_execute(
      "INSERT INTO store_monitoring.sealed_polls AS g (day, store_id, polls)"
      " SELECT $1, u.store_id, u.polls"
      " FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.text[]),"
      "  pg_catalog.unnest($3::pg_catalog.bytea[])) AS u(store_id, polls)"
      " ON CONFLICT (store_id, day) DO UPDATE"
      " SET polls = _store_monitoring_internal.merge_polls(g.day, g.polls, excluded.polls)",
      {{DATEOID, date_datum(day)},
       {TEXTARRAYOID, ids_array},
       {BYTEAARRAYOID, packed_array}},
      false);
}

// The key ranges of store_id the day [start, end) is sealed in: one unless
// its polls would take more than maintenance_work_mem while held (about 16
// bytes each), as the planner estimates the day's rows from the statistics
// of timestamp_utc (a few outlying polls, which any writer may add, barely
// move its histogram; without statistics it guesses high); cut at the
// histogram of store_id.
constexpr double kHeldBytesPerPoll = 16;

std::vector<std::string> batch_bounds(TimestampTz start, TimestampTz end) {
  const double rows = spi_planned_rows(
      "SELECT FROM store_monitoring.store_status s WHERE s.timestamp_utc OPERATOR(pg_catalog.>=) $1"
      " AND s.timestamp_utc OPERATOR(pg_catalog.<) $2",
      {{TIMESTAMPTZOID, TimestampTzGetDatum(start)}, {TIMESTAMPTZOID, TimestampTzGetDatum(end)}});
  // Bare: reads a setting's variable (kB).
  const double budget = static_cast<double>(maintenance_work_mem) * 1024.0;
  const double held = rows * kHeldBytesPerPoll;
  if (!(held > budget)) return {};
  // As many as the histogram cuts into ranges (25 with the default statistics).
  const int parts = static_cast<int>(std::min(25.0, std::ceil(held / budget)));
  std::vector<std::string> bounds = store_key_bounds(
      pg_call([] {
        return get_relname_relid("store_status", get_namespace_oid("store_monitoring", false));
      }),
      parts);
  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring: a day of polls takes about %.0f kB while sealed, over "
         "maintenance_work_mem: sealing it in %zu key ranges of store_id",
         held / 1024, bounds.size() + 1);
  });
  return bounds;
}

// What sealing one day gave: polls, and the newest.
struct DayTotals {
  int64 polls = 0;
  Micros newest = std::numeric_limits<Micros>::min();
};

// Seals the polls of [day's start, end) of the stores of [lo, hi) (an
// empty bound: none on that side).
void seal_stores_of_day(int32_t day, TimestampTz end, const std::string& lo,
                        const std::string& hi, DayTotals& totals) {
  DayPolls polls;
  std::string sql =
      "DELETE FROM store_monitoring.store_status s"
      " WHERE s.timestamp_utc OPERATOR(pg_catalog.>=) $1 AND s.timestamp_utc OPERATOR(pg_catalog.<) $2";
  if (!lo.empty()) sql += " AND s.store_id OPERATOR(pg_catalog.>=) $3";
  if (!hi.empty()) sql += " AND s.store_id OPERATOR(pg_catalog.<) $4";
  sql += " RETURNING s.store_id, s.timestamp_utc,"
         " s.status OPERATOR(pg_catalog.=) 'active'::store_monitoring.poll_status";
  spi_stream(
      sql.c_str(),
      {{TIMESTAMPTZOID, TimestampTzGetDatum(day_start(day))},
       {TIMESTAMPTZOID, TimestampTzGetDatum(end)},
       {TEXTOID, lo.empty() ? Datum(0) : text_datum(lo), lo.empty()},
       {TEXTOID, hi.empty() ? Datum(0) : text_datum(hi), hi.empty()}},
      [&](const Datum* values, const bool*) {
        polls.add(text_bytes(values[0]),
                  {DatumGetTimestampTz(values[1]) + kPgEpochInUnixMicros,
                   DatumGetBool(values[2]) ? PollStatus::active : PollStatus::inactive});
      },
      false);
  if (polls.rows.empty()) return;
  // Stores in byte order (the table's key), each store's polls in time order.
  std::vector<uint32_t> rank(polls.ids.size());
  {
    std::vector<uint32_t> order(polls.ids.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return polls.ids[a] < polls.ids[b]; });
    for (uint32_t i = 0; i < order.size(); ++i) rank[order[i]] = i;
  }
  std::sort(polls.rows.begin(), polls.rows.end(), [&](const auto& a, const auto& b) {
    return rank[a.store] != rank[b.store] ? rank[a.store] < rank[b.store] : a.poll.at < b.poll.at;
  });
  std::vector<std::string_view> ids;
  std::vector<std::string> packed;
  std::vector<Poll> store_polls;
  Micros newest = polls.rows.front().poll.at;
  for (size_t i = 0; i < polls.rows.size();) {
    size_t j = i;
    store_polls.clear();
    for (; j < polls.rows.size() && polls.rows[j].store == polls.rows[i].store; ++j) {
      store_polls.push_back(polls.rows[j].poll);
      newest = std::max(newest, polls.rows[j].poll.at);
    }
    ids.push_back(polls.ids[polls.rows[i].store]);
    packed.push_back(encode_segment(day, store_polls));
    if (ids.size() == kRowsPerInsert) {
      write_rows(day, ids, packed);
      ids.clear();
      packed.clear();
    }
    i = j;
    check_for_interrupts();
  }
  if (!ids.empty()) write_rows(day, ids, packed);
  totals.polls += static_cast<int64>(polls.rows.size());
  totals.newest = std::max(totals.newest, newest);
}

// Seals the polls of [day's start, end), in key ranges if it is large:
// returns how many.
int64 seal_day(int32_t day, TimestampTz end) {
  const std::vector<std::string> bounds = batch_bounds(day_start(day), end);
  DayTotals totals;
  for (size_t i = 0; i <= bounds.size(); ++i)
    seal_stores_of_day(day, end, i == 0 ? std::string() : bounds[i - 1],
                       i == bounds.size() ? std::string() : bounds[i], totals);
  if (totals.polls == 0) return 0;
  const Micros newest = totals.newest;
  const int64 count = totals.polls;
  spi_execute(
      "INSERT INTO _store_monitoring_internal.sealed_day AS d (day, polls, newest)"
      " VALUES ($1, $2, $3) ON CONFLICT (day) DO UPDATE"
      " SET polls = d.polls OPERATOR(pg_catalog.+) excluded.polls,"
      " newest = GREATEST(d.newest, excluded.newest)",
      {{DATEOID, date_datum(day)},
       {INT8OID, Int64GetDatum(count)},
       {TIMESTAMPTZOID, TimestampTzGetDatum(newest - kPgEpochInUnixMicros)}},
      false);
  return count;
}

}  // namespace

int64 seal_polls_before(TimestampTz before, int max_days, bool wait) {
  check_sealable();
  // One compaction at a time (they would seal the same rows twice over);
  // reports and inserts do not wait for this lock.
  try {
    spi_execute(wait ? "LOCK TABLE _store_monitoring_internal.sealed_day IN SHARE ROW EXCLUSIVE MODE"
                     : "LOCK TABLE _store_monitoring_internal.sealed_day IN SHARE ROW EXCLUSIVE "
                       "MODE NOWAIT",
                {}, false);
  } catch (const PgError& error) {
    if (wait || error.data() == nullptr || error.data()->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
      throw;
    throw UserError(ERRCODE_LOCK_NOT_AVAILABLE, "another compaction is sealing polls");
  }
  const TimestampTz cut = day_start(day_of(before));
  int64 sealed = 0;
  TimestampTz from = DT_NOBEGIN;
  for (int days = 0; max_days == 0 || days < max_days; ++days) {
    // The oldest poll left before the cut: one descent of the time index,
    // from the end of the day sealed last (not through the index entries of
    // the rows this transaction deleted).
    spi_execute(
        "SELECT pg_catalog.min(s.timestamp_utc) FROM store_monitoring.store_status s"
        " WHERE s.timestamp_utc OPERATOR(pg_catalog.>=) $1 AND s.timestamp_utc"
        " OPERATOR(pg_catalog.<) $2",
        {{TIMESTAMPTZOID, TimestampTzGetDatum(from)}, {TIMESTAMPTZOID, TimestampTzGetDatum(cut)}},
        false);
    std::optional<TimestampTz> oldest = timestamp_result();
    if (!oldest) break;
    const int32_t day = day_of(*oldest);
    from = std::min(day_start(day + 1), cut);
    sealed += seal_day(day, from);
  }
  (void)apply_poll_retention();
  return sealed;
}

bool seal_one_due_day() {
  const int64 after = current_settings().compact_after_us;
  if (after <= 0) return false;
  try {
    check_sealable();
  } catch (const UserError&) {
    return false;  // compact_polls() says why; the workers leave it
  }
  // A role that may update store_status can hold its rows (SELECT ... FOR
  // UPDATE) or the table: the worker waits a second at most for any lock,
  // then leaves the day to a later report (the transaction's error says so).
  ScopedSetting bounded_wait("lock_timeout", "1s");
  return seal_polls_before(GetCurrentTimestamp() - after, 1, false) > 0;
}

int64 apply_poll_retention() {
  const int64 retention = current_settings().poll_retention_us;
  if (retention <= 0) return 0;
  // The newest poll not later than now: a poll dated in the future (any
  // writer may add one) must not move the horizon past every sealed day.
  spi_execute_latest(
      "SELECT LEAST(GREATEST((SELECT pg_catalog.max(s.timestamp_utc)"
      "  FROM store_monitoring.store_status s"
      "  WHERE s.timestamp_utc OPERATOR(pg_catalog.<=) pg_catalog.now()),"
      " (SELECT pg_catalog.max(d.newest) FROM _store_monitoring_internal.sealed_day d)),"
      " pg_catalog.now())",
      {});
  std::optional<TimestampTz> newest = timestamp_result();
  if (!newest) return 0;
  // Whole days: those that ended by the horizon.
  const Datum first_kept = date_datum(day_of(*newest - retention));
  spi_execute(
      "DELETE FROM store_monitoring.sealed_polls g WHERE g.day OPERATOR(pg_catalog.<) $1",
      {{DATEOID, first_kept}}, false);
  spi_execute(
      "WITH gone AS (DELETE FROM _store_monitoring_internal.sealed_day d"
      " WHERE d.day OPERATOR(pg_catalog.<) $1 RETURNING d.polls)"
      " SELECT COALESCE(pg_catalog.sum(polls), 0)::pg_catalog.int8 FROM gone",
      {{DATEOID, first_kept}}, false);
  bool is_null = true;
  return DatumGetInt64(spi_value(0, 1, &is_null));
}

}  // namespace store_monitoring::pg
