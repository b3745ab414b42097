#include "pg/read/source_read.hpp"

#include "core/input_syntax.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/sealed_read.hpp"

extern "C" {
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "utils/date.h"
#include "utils/timestamp.h"
}

#include <cstring>
#include <string>
#include <algorithm>
#include <unordered_set>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr size_t kMaxStoreIdBytes = 255;

// ORDER BY store_id COLLATE "C": reports are in byte order whatever the
// column's collation; on the default table (already "C") the covering index
// still serves the order.
// one_store: only the rows of store $1 (its bytes, as a report tells stores
// apart); keys: only those of its key range, its bounds $1 (lo) and then $2
// (hi) when set.
std::string query_for(const SourceShape& source, bool one_store = false,
                      const StoreKeyRange& keys = {}) {
  auto where = [&](const char* alias) {
    const std::string id = std::string(alias) + ".store_id COLLATE pg_catalog.\"C\" ";
    if (one_store) return " WHERE " + id + "OPERATOR(pg_catalog.=) $1";
    const bool lo = !keys.lo.empty();
    std::string sql = lo ? " WHERE " + id + "OPERATOR(pg_catalog.>=) $1" : "";
    if (!keys.hi.empty())
      sql += (lo ? " AND " : " WHERE ") + id + "OPERATOR(pg_catalog.<) " + (lo ? "$2" : "$1");
    return sql;
  };
  switch (source.input) {
    case Input::polls:
      return "SELECT s.store_id, s.timestamp_utc, s.status FROM " + source.name + " s" +
             where("s") + " ORDER BY s.store_id COLLATE pg_catalog.\"C\", s.timestamp_utc";
    case Input::business_hours:
      return "SELECT h.store_id, h.day_of_week, h.start_time_local, h.end_time_local FROM " +
             source.name + " h" + where("h") + " ORDER BY h.store_id COLLATE pg_catalog.\"C\"";
    case Input::time_zones:
      break;
  }
  // The zone as a second key: with two rows for a store, the same one is
  // reported as the second every time.
  return "SELECT z.store_id, z.timezone_str FROM " + source.name + " z" + where("z") +
         " ORDER BY z.store_id COLLATE pg_catalog.\"C\", z.timezone_str COLLATE pg_catalog.\"C\"";
}

// Runs query_for(source, one_store, keys) with its arguments.
template <typename Fn>
void stream_query(const std::string& sql, std::optional<std::string_view> store_id,
                  const StoreKeyRange& keys, Fn&& on_row) {
  const bool lo = !keys.lo.empty();
  const bool hi = !keys.hi.empty();
  if (store_id)
    spi_stream(sql.c_str(), {{TEXTOID, text_datum(*store_id)}}, on_row);
  else if (lo && hi)
    spi_stream(sql.c_str(), {{TEXTOID, text_datum(keys.lo)}, {TEXTOID, text_datum(keys.hi)}},
               on_row);
  else if (lo || hi)
    spi_stream(sql.c_str(), {{TEXTOID, text_datum(lo ? keys.lo : keys.hi)}}, on_row);
  else
    spi_stream(sql.c_str(), {}, on_row);
}

// Checks the store_id of a row; false (after reporting it) when unusable.
bool good_store_id(const SourceShape& source, const Datum* values, const bool* nulls,
                   BadRows& bad) {
  if (nulls[0]) {
    bad.add({source.name, std::nullopt, "store_id", std::nullopt, "is NULL"});
    return false;
  }
  std::string_view id = text_bytes(values[0]);
  if (id.empty()) {
    bad.add({source.name, std::string(id), "store_id", std::string(id), "is empty"});
    return false;
  }
  if (id.size() > kMaxStoreIdBytes) {
    bad.add(
        {source.name, std::string(id), "store_id", std::string(id), "is longer than 255 bytes"});
    return false;
  }
  return true;
}

// Reports every NULL among `columns` (0-based, after store_id); true when none.
bool no_nulls(const SourceShape& source, std::string_view store_id, const bool* nulls,
              std::initializer_list<std::pair<int, const char*>> columns, BadRows& bad) {
  bool ok = true;
  for (const auto& [index, name] : columns)
    if (nulls[index]) {
      bad.add({source.name, std::string(store_id), name, std::nullopt, "is NULL"});
      ok = false;
    }
  return ok;
}

// The merge of the three inputs needs byte order: the queries ask for it.
[[noreturn]] void throw_out_of_order(const SourceShape& source) {
  throw std::runtime_error("the rows of " + source.name + " did not arrive in store_id byte order");
}

}  // namespace

void BadRows::add(BadRow&& row) {
  if (!collect_) throw UserError(ERRCODE_DATA_EXCEPTION, bad_row_message(row));
  rows_.push_back(std::move(row));
}

std::string bad_row_message(const BadRow& row) {
  std::string message = "bad row in " + row.relation;
  if (row.store_id) message += " for store " + input::quote_for_message(*row.store_id);
  message += ": " + row.column;
  if (row.value) message += " " + input::quote_for_message(*row.value);
  message += " " + row.problem;
  message += "; store_monitoring.check_sources() lists every bad row";
  return message;
}

std::string read_query(const SourceShape& source) { return query_for(source); }

StoreHoursTable read_business_hours(const SourceShape& source, BadRows& bad,
                                    std::optional<std::string_view> store_id_only,
                                    const StoreKeyRange& keys) {
  StoreHoursTable stores;
  std::string sql = query_for(source, store_id_only.has_value(), keys);
  const Oid weekday_type = source.weekday_type;
  stream_query(sql, store_id_only, keys, [&](const Datum* values, const bool* nulls) {
    if (!good_store_id(source, values, nulls, bad)) return;
    std::string_view store_id = text_bytes(values[0]);
    if (!no_nulls(source, store_id, nulls,
                  {{1, "day_of_week"}, {2, "start_time_local"}, {3, "end_time_local"}}, bad))
      return;
    int64 weekday = weekday_type == INT2OID   ? DatumGetInt16(values[1])
                    : weekday_type == INT4OID ? DatumGetInt32(values[1])
                                              : DatumGetInt64(values[1]);
    if (weekday < 0 || weekday > 6) {
      bad.add({source.name, std::string(store_id), "day_of_week", std::to_string(weekday),
               "is not 0 (Monday) to 6 (Sunday)"});
      return;
    }
    const TimeADT start = DatumGetTimeADT(values[2]);
    // The default table and its import view refuse it; a report keeps it, as
    // the rules say (an end from 23:59:00 on means midnight before start =
    // end means 24 hours, so 24:00-24:00 is empty), so as not to change the
    // numbers of rows written before.
    if (start == input::kEndOfDayMicroseconds)
      bad.note({source.name, std::string(store_id), "start_time_local", "24:00:00",
                input::kShiftStartsAtEndOfDay});
    if (store_id < stores.last_store_id()) throw_out_of_order(source);
    stores.add(store_id, {static_cast<int>(weekday), start, DatumGetTimeADT(values[3])});
  });
  stores.finish();
  return stores;
}

StoreZoneTable read_time_zones(const SourceShape& source, BadRows& bad,
                               std::optional<std::string_view> store_id_only,
                               const StoreKeyRange& keys) {
  StoreZoneTable rows;
  std::unordered_set<std::string> known;  // zones checked once each
  std::string sql = query_for(source, store_id_only.has_value(), keys);
  stream_query(sql, store_id_only, keys, [&](const Datum* values, const bool* nulls) {
    if (!good_store_id(source, values, nulls, bad)) return;
    std::string_view store_id = text_bytes(values[0]);
    if (!no_nulls(source, store_id, nulls, {{1, "timezone_str"}}, bad)) return;
    // Arrived detoasted: no PostgreSQL call inside the executor's callback.
    std::string zone(text_bytes(values[1]));
    if (!known.contains(zone)) {
      if (!is_known_time_zone(zone)) {
        bad.add(
            {source.name, std::string(store_id), "timezone_str", zone, "is not a known time zone"});
        return;
      }
      known.insert(zone);
    }
    std::string_view last = rows.size() > 0 ? rows.store_id(rows.size() - 1) : std::string_view();
    if (rows.size() > 0 && store_id < last) throw_out_of_order(source);
    if (rows.size() > 0 && last == store_id) {
      bad.add({source.name, std::string(store_id), "timezone_str", zone,
               "is a second time-zone row for the store"});
      return;
    }
    rows.add(store_id, zone);
  });
  rows.finish();
  return rows;
}

namespace {

// The polls a report reads: those of its evidence range [$1, $2], and every
// poll no range holds (NULL or infinite time: bad rows, refused below).
// The default table has an index on timestamp_utc: the polls with no range
// are a few descents of it, and the range alone, without them in an OR, is
// an index scan that follows the heap in arrival order (a bitmap OR of the
// four conditions cost half as much again on months of history). Any other
// relation reads both at once: it may have no such index, and a second
// statement would read it twice.
constexpr const char* kPollColumns = "SELECT s.store_id, s.timestamp_utc, s.status FROM ";
constexpr const char* kNoRangeCondition =
    "s.timestamp_utc IS NULL OR s.timestamp_utc OPERATOR(pg_catalog.=) "
    "'infinity'::pg_catalog.timestamptz"
    " OR s.timestamp_utc OPERATOR(pg_catalog.=) '-infinity'::pg_catalog.timestamptz";

std::string range_query_for(const SourceShape& source, bool alone) {
  std::string sql = kPollColumns + source.name +
                    " s WHERE (s.timestamp_utc OPERATOR(pg_catalog.>=) $1 AND s.timestamp_utc "
                    "OPERATOR(pg_catalog.<=) $2)";
  if (!alone) sql += std::string(" OR ") + kNoRangeCondition;
  return sql;
}

// One row of a polls statement (store_id, timestamp_utc, status), checked,
// to sink.poll().
void deliver_poll(const SourceShape& source, const Datum* values, const bool* nulls, PollSink& sink,
                  BadRows& bad) {
  if (!good_store_id(source, values, nulls, bad)) return;
  std::string_view store_id = text_bytes(values[0]);
  if (nulls[1] || nulls[2]) {
    no_nulls(source, store_id, nulls, {{1, "timestamp_utc"}, {2, "status"}}, bad);
    return;
  }
  TimestampTz at = DatumGetTimestampTz(values[1]);
  if (TIMESTAMP_NOT_FINITE(at)) {
    bad.add({source.name, std::string(store_id), "timestamp_utc",
             TIMESTAMP_IS_NOBEGIN(at) ? "-infinity" : "infinity", "is not a finite time"});
    return;
  }
  PollStatus status;
  if (source.status_is_enum) {
    Oid label = DatumGetObjectId(values[2]);
    if (label == source.active_label || label == source.inactive_label) {
      status = label == source.active_label ? PollStatus::active : PollStatus::inactive;
    } else {
      std::string shown = std::to_string(label);
      for (const auto& [oid, name] : source.enum_labels)
        if (oid == label) shown = name;
      bad.add(
          {source.name, std::string(store_id), "status", shown, "is neither active nor inactive"});
      return;
    }
  } else {
    std::string_view text = text_bytes(values[2]);
    if (text == "active") {
      status = PollStatus::active;
    } else if (text == "inactive") {
      status = PollStatus::inactive;
    } else {
      bad.add({source.name, std::string(store_id), "status", std::string(text),
               "is neither active nor inactive"});
      return;
    }
  }
  sink.poll(store_id, at, status);
}

void stream_polls(const SourceShape& source, const std::string& sql,
                  std::initializer_list<SqlArg> args, PollSink& sink, BadRows& bad) {
  spi_stream(sql.c_str(), args, [&](const Datum* values, const bool* nulls) {
    deliver_poll(source, values, nulls, sink, bad);
  });
}

// A valid, non-partial B-tree index of `relation` whose first key is its
// store_id column in byte order ("C"): the loose scan can use it.
bool has_store_id_index(Oid relation) {
  uint64 found = spi_execute(
      "SELECT 1 FROM pg_catalog.pg_index i"
      " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid"
      " JOIN pg_catalog.pg_am am ON am.oid OPERATOR(pg_catalog.=) c.relam"
      " JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND "
      "a.attname OPERATOR(pg_catalog.=) 'store_id'"
      " WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND am.amname OPERATOR(pg_catalog.=) 'btree' "
      "AND i.indisvalid AND i.indpred IS NULL"
      " AND i.indkey[0] OPERATOR(pg_catalog.=) a.attnum AND i.indcollation[0] "
      "OPERATOR(pg_catalog.=) $2 LIMIT 1",
      {{OIDOID, ObjectIdGetDatum(relation)}, {OIDOID, ObjectIdGetDatum(C_COLLATION_OID)}}, true, 1);
  return found > 0;
}

}  // namespace

namespace {

// A store's polls, gathered before they are merged with its sealed ones.
class StoreBuffer final : public PollSink {
 public:
  void poll(std::string_view, TimestampTz at, PollStatus status) override {
    polls.push_back({at, status});
  }
  std::vector<Poll> polls;  // PostgreSQL time
};

// read_polls_in_keys of the default table when it has sealed polls: its
// rows (through the covering index) and its sealed rows (through their key),
// both in store order, merged store by store, each store's polls in time
// order. Both are read through cursors, in step.
void read_polls_with_sealed(const SourceShape& source, const StoreKeyRange& keys, PollSink& sink,
                            BadRows& bad) {
  const std::string sql = query_for(source, false, keys);
  const bool lo = !keys.lo.empty();
  const bool hi = !keys.hi.empty();
  SpiCursor rows =
      lo && hi ? SpiCursor(sql.c_str(), {{TEXTOID, text_datum(keys.lo)}, {TEXTOID, text_datum(keys.hi)}})
      : lo || hi ? SpiCursor(sql.c_str(), {{TEXTOID, text_datum(lo ? keys.lo : keys.hi)}})
                 : SpiCursor(sql.c_str(), {});
  SealedRows sealed(keys.lo, keys.hi);
  bool row = rows.next();
  bool sealed_row = sealed.next();
  Datum values[3];
  bool nulls[3];
  auto load_row = [&] {
    for (int i = 0; i < 3; ++i) values[i] = rows.value(i, &nulls[i]);
  };
  if (row) load_row();
  StoreBuffer raw;
  std::vector<Poll> packed;  // core time
  std::string store;
  while (row || sealed_row) {
    check_for_interrupts();
    // A NULL id sorts last: a bad row, reported as the row read does.
    if (row && nulls[0]) {
      deliver_poll(source, values, nulls, sink, bad);
      if ((row = rows.next())) load_row();
      continue;
    }
    if (row && sealed_row)
      store = std::min(text_bytes(values[0]), sealed.store_id());
    else
      store = row ? text_bytes(values[0]) : sealed.store_id();
    raw.polls.clear();
    packed.clear();
    while (row && !nulls[0] && text_bytes(values[0]) == store) {
      deliver_poll(source, values, nulls, raw, bad);
      if ((row = rows.next())) load_row();
    }
    while (sealed_row && sealed.store_id() == store) {
      sealed.polls(packed);
      sealed_row = sealed.next();
    }
    // Both in time order: merged, the table's first at equal times.
    size_t s = 0;
    for (const Poll& poll : raw.polls) {
      for (; s < packed.size() && packed[s].at - kPgEpochInUnixMicros < poll.at; ++s)
        sink.poll(store, packed[s].at - kPgEpochInUnixMicros, packed[s].status);
      sink.poll(store, poll.at, poll.status);
    }
    for (; s < packed.size(); ++s)
      sink.poll(store, packed[s].at - kPgEpochInUnixMicros, packed[s].status);
  }
}

}  // namespace

void read_polls(const SourceShape& source, PollSink& sink, BadRows& bad) {
  read_polls_in_keys(source, {}, sink, bad);
}

void read_polls_in_keys(const SourceShape& source, const StoreKeyRange& keys, PollSink& sink,
                        BadRows& bad) {
  if (reads_sealed_polls(source)) {
    read_polls_with_sealed(source, keys, sink, bad);
    return;
  }
  stream_query(query_for(source, false, keys), std::nullopt, keys,
               [&](const Datum* values, const bool* nulls) {
                 deliver_poll(source, values, nulls, sink, bad);
               });
}

void read_polls_in_range(const SourceShape& source, TimestampTz from, TimestampTz to,
                         PollSink& sink, BadRows& bad) {
  const bool split = source.relation == default_source(Input::polls);
  if (!split) {
    stream_polls(
        source, range_query_for(source, false),
        {{TIMESTAMPTZOID, TimestampTzGetDatum(from)}, {TIMESTAMPTZOID, TimestampTzGetDatum(to)}},
        sink, bad);
    return;
  }
  // First: a bad row ends the report before the long read.
  read_polls_without_range(source, sink, bad);
  // The range in heap order: a sequential scan when it is most of the table,
  // else a bitmap heap scan of the pages the block-range index
  // (store_status_timestamp_utc_brin) names. The B-tree index scan the
  // planner prefers (rows in time order lie in heap order, so it costs them
  // little) visits the heap once per row: about 1.5 times as long on a
  // table holding months of polls (bench/README.md).
  {
    ScopedSetting heap_order("enable_indexscan", "off");
    stream_polls(
        source, range_query_for(source, true),
        {{TIMESTAMPTZOID, TimestampTzGetDatum(from)}, {TIMESTAMPTZOID, TimestampTzGetDatum(to)}},
        sink, bad);
  }
  if (reads_sealed_polls(source)) read_sealed_in_range(from, to, sink);
}

void read_polls_without_range(const SourceShape& source, PollSink& sink, BadRows& bad) {
  stream_polls(source, kPollColumns + source.name + " s WHERE " + kNoRangeCondition, {}, sink, bad);
}

void read_polls_in_blocks(const SourceShape& source, TimestampTz from, TimestampTz to,
                          uint32_t first, std::optional<uint32_t> end, PollSink& sink,
                          BadRows& bad) {
  std::string sql = kPollColumns + source.name + " s WHERE s.ctid OPERATOR(pg_catalog.>=) '(" +
                    std::to_string(first) + ",0)'::pg_catalog.tid";
  if (end)
    sql += " AND s.ctid OPERATOR(pg_catalog.<) '(" + std::to_string(*end) + ",0)'::pg_catalog.tid";
  // A TID range scan of the blocks: neither the whole table's sequential
  // scan nor an index.
  ScopedSetting no_seqscan("enable_seqscan", "off");
  ScopedSetting no_bitmapscan("enable_bitmapscan", "off");
  ScopedSetting no_indexscan("enable_indexscan", "off");
  // Every row of the blocks: those of the range are polls, and those no
  // range holds bad rows, as read_polls_in_range() reads them; any other
  // gives its store id, as read_poll_store_ids() would (a NULL id skipped
  // there and here).
  spi_stream(sql.c_str(), {}, [&](const Datum* values, const bool* nulls) {
    TimestampTz at = nulls[1] ? 0 : DatumGetTimestampTz(values[1]);
    if (nulls[1] || TIMESTAMP_NOT_FINITE(at) || (at >= from && at <= to)) {
      deliver_poll(source, values, nulls, sink, bad);  // a NULL or infinite time: a bad row
      return;
    }
    if (nulls[0] || !good_store_id(source, values, nulls, bad)) return;
    sink.store(text_bytes(values[0]));
  });
}

void read_poll_store_ids(const SourceShape& source, PollSink& sink, BadRows& bad) {
  std::string sql;
  if (has_store_id_index(source.relation)) {
    // A loose index scan: one descent per store, whatever its polls.
    sql =
        "WITH RECURSIVE ids(store_id) AS ("
        " (SELECT s.store_id FROM " +
        source.name +
        " s WHERE s.store_id IS NOT NULL"
        "  ORDER BY s.store_id COLLATE pg_catalog.\"C\" LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT s.store_id FROM " +
        source.name +
        " s"
        "  WHERE s.store_id COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.>) ids.store_id COLLATE "
        "pg_catalog.\"C\""
        "  ORDER BY s.store_id COLLATE pg_catalog.\"C\" LIMIT 1)"
        " FROM ids WHERE ids.store_id IS NOT NULL) "
        "SELECT store_id FROM ids WHERE store_id IS NOT NULL";
  } else {
    // No such index (a view, or a table without one): one pass over every
    // row, whatever its time.
    // In byte order ("C"): a nondeterministic collation would merge ids.
    sql = "SELECT DISTINCT s.store_id COLLATE pg_catalog.\"C\" FROM " + source.name +
          " s WHERE s.store_id IS NOT NULL";
  }
  spi_stream(sql.c_str(), {}, [&](const Datum* values, const bool* nulls) {
    if (!good_store_id(source, values, nulls, bad)) return;
    sink.store(text_bytes(values[0]));
  });
  if (reads_sealed_polls(source)) read_sealed_store_ids(sink);
}

void read_store_polls_in_range(const SourceShape& source, std::string_view store_id,
                               TimestampTz from, TimestampTz to, PollSink& sink, BadRows& bad) {
  // As a report reads them (its polls of the range and those no range
  // holds), in time order; on the default table through its index on
  // (store_id, timestamp_utc).
  stream_polls(source,
               kPollColumns + source.name +
                   " s WHERE s.store_id COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $3 AND ("
                   "(s.timestamp_utc OPERATOR(pg_catalog.>=) $1 AND s.timestamp_utc "
                   "OPERATOR(pg_catalog.<=) $2) OR " +
                   kNoRangeCondition + ") ORDER BY s.timestamp_utc",
               {{TIMESTAMPTZOID, TimestampTzGetDatum(from)},
                {TIMESTAMPTZOID, TimestampTzGetDatum(to)},
                {TEXTOID, text_datum(store_id)}},
               sink, bad);
  if (reads_sealed_polls(source)) read_sealed_store_in_range(store_id, from, to, sink);
}

bool store_has_polls(const SourceShape& source, std::string_view store_id) {
  std::string sql =
      "SELECT 1 FROM " + source.name +
      " s WHERE s.store_id COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1 LIMIT 1";
  return spi_execute(sql.c_str(), {{TEXTOID, text_datum(store_id)}}, true, 1) > 0 ||
         (reads_sealed_polls(source) && store_has_sealed_polls(store_id));
}

std::optional<TimestampTz> newest_poll(const SourceShape& source) {
  std::string sql =
      "SELECT pg_catalog.max(p.timestamp_utc) FROM " + source.name +
      " p WHERE p.timestamp_utc OPERATOR(pg_catalog.<) 'infinity'::pg_catalog.timestamptz";
  spi_execute(sql.c_str(), {}, true);
  bool is_null = true;
  Datum latest = spi_value(0, 1, &is_null);
  std::optional<TimestampTz> newest;
  if (!is_null) newest = DatumGetTimestampTz(latest);
  if (reads_sealed_polls(source)) {
    std::optional<TimestampTz> sealed = newest_sealed_poll();
    if (sealed && (!newest || *sealed > *newest)) newest = sealed;
  }
  return newest;
}

}  // namespace store_monitoring::pg
