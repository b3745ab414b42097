#include "pg/read/sealed_read.hpp"

#include "core/poll_segment.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/date.h"
}

#include <algorithm>
#include <string>

namespace store_monitoring::pg {
namespace {


int32_t core_day(Datum date) {
  std::optional<int32_t> day = sealed_day(DatumGetDateADT(date));
  if (!day)
    throw UserError(ERRCODE_DATA_CORRUPTED, "store_monitoring.sealed_polls has a day out of range");
  return *day;
}

// The date of the UTC day of `at`.
Datum day_of(TimestampTz at) {
  return DateADTGetDatum(segment_day(at + kPgEpochInUnixMicros) - kPgEpochInUnixDays);
}

// Sealed rows are read as the table's owner (the extension's): nothing on
// the table is granted to anyone. Every read below follows a check of the
// reading role's privileges on store_status (check_source), and its SQL is
// the extension's own on the extension's table: no role's code runs.
class AsSealedOwner {
 public:
  AsSealedOwner() : role_(extension_owner()) {}

 private:
  ActAsRole role_;
};

// The polls of one row (day, packed polls) between from and to, to sink,
// at once; `polls` is room reused from row to row.
void deliver_row(std::string_view store_id, Datum day, Datum packed, TimestampTz from,
                 TimestampTz to, PollSink& sink, std::vector<Poll>& polls) {
  const Micros lo = from + kPgEpochInUnixMicros;
  const Micros hi = to + kPgEpochInUnixMicros;
  polls.clear();
  try {
    decode_segment(core_day(day), text_bytes(packed), [&](Micros at, PollStatus status) {
      if (at >= lo && at <= hi) polls.push_back({at, status});
    });
  } catch (const CorruptSegment& error) {
    throw UserError(ERRCODE_DATA_CORRUPTED, "the sealed polls of store " + std::string(store_id) +
                                                " are corrupt: " + error.what());
  }
  if (!polls.empty()) sink.store_polls(store_id, polls);
}

}  // namespace

bool reads_sealed_polls(const SourceShape& source) {
  if (source.input != Input::polls || source.relation != default_source(Input::polls)) return false;
  AsSealedOwner owner;
  spi_execute(
      "SELECT EXISTS (SELECT FROM store_monitoring.sealed_polls), c.relrowsecurity"
      " FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1",
      {{OIDOID, ObjectIdGetDatum(source.relation)}}, true, 1);
  bool is_null = true;
  const bool sealed = DatumGetBool(spi_value(0, 1, &is_null)) && !is_null;
  const bool row_security = DatumGetBool(spi_value(0, 2, &is_null)) && !is_null;
  if (sealed && row_security) refuse_sealed_under_row_security(source.name);
  return sealed;
}

void refuse_sealed_under_row_security(const std::string& relation) {
  throw UserError(ERRCODE_FEATURE_NOT_SUPPORTED,
                  relation + " has row-level security, and sealed polls cannot follow its policies",
                  "Disable row-level security on store_status, or copy the sealed polls back "
                  "(INSERT INTO store_monitoring.store_status SELECT store_id, status, "
                  "timestamp_utc FROM store_monitoring.polls WHERE sealed) and delete them.");
}

std::optional<int32_t> sealed_day(DateADT date) {
  if (DATE_NOT_FINITE(date) || date < kMinSegmentDay - kPgEpochInUnixDays ||
      date > kMaxSegmentDay - kPgEpochInUnixDays)
    return std::nullopt;
  return date + kPgEpochInUnixDays;
}

std::string store_polls_relation(const SourceShape& source) {
  if (!reads_sealed_polls(source)) return source.name;
  return "(SELECT r.store_id, r.status, r.timestamp_utc FROM " + source.name +
         " r UNION ALL SELECT p.store_id, p.status, p.timestamp_utc"
         " FROM store_monitoring.sealed_poll_rows($1, $2, $3) p)";
}

void read_sealed_in_range(TimestampTz from, TimestampTz to, PollSink& sink) {
  AsSealedOwner owner;
  // The day index names the rows; a bitmap scan reads their pages once each.
  spi_stream(
      "SELECT g.store_id, g.day, g.polls FROM store_monitoring.sealed_polls g"
      " WHERE g.day OPERATOR(pg_catalog.>=) $1 AND g.day OPERATOR(pg_catalog.<=) $2",
      {{DATEOID, day_of(from)}, {DATEOID, day_of(to)}},
      [&, polls = std::vector<Poll>()](const Datum* values, const bool*) mutable {
        deliver_row(text_bytes(values[0]), values[1], values[2], from, to, sink, polls);
      });
}

void read_sealed_store_ids(PollSink& sink) {
  AsSealedOwner owner;
  spi_stream(
      "WITH RECURSIVE ids(store_id) AS ("
      " (SELECT g.store_id FROM store_monitoring.sealed_polls g ORDER BY g.store_id LIMIT 1)"
      " UNION ALL"
      " SELECT (SELECT g.store_id FROM store_monitoring.sealed_polls g"
      "  WHERE g.store_id OPERATOR(pg_catalog.>) ids.store_id ORDER BY g.store_id LIMIT 1)"
      " FROM ids WHERE ids.store_id IS NOT NULL) "
      "SELECT store_id FROM ids WHERE store_id IS NOT NULL",
      {}, [&](const Datum* values, const bool*) { sink.store(text_bytes(values[0])); });
}

void read_sealed_store_in_range(std::string_view store_id, TimestampTz from, TimestampTz to,
                                PollSink& sink) {
  AsSealedOwner owner;
  spi_stream(
      "SELECT g.store_id, g.day, g.polls FROM store_monitoring.sealed_polls g"
      " WHERE g.store_id OPERATOR(pg_catalog.=) $1 AND g.day OPERATOR(pg_catalog.>=) $2"
      " AND g.day OPERATOR(pg_catalog.<=) $3 ORDER BY g.day",
      {{TEXTOID, text_datum(store_id)}, {DATEOID, day_of(from)}, {DATEOID, day_of(to)}},
      [&, polls = std::vector<Poll>()](const Datum* values, const bool*) mutable {
        deliver_row(text_bytes(values[0]), values[1], values[2], from, to, sink, polls);
      });
}

namespace {

// The statement of SealedRows: its bounds are $1 (lo) and then $2 (hi) when
// set, as the table's statement has them.
std::string sealed_rows_query(bool lo, bool hi) {
  std::string sql = "SELECT g.store_id, g.day, g.polls FROM store_monitoring.sealed_polls g";
  if (lo) sql += " WHERE g.store_id OPERATOR(pg_catalog.>=) $1";
  if (hi) sql += std::string(lo ? " AND" : " WHERE") + " g.store_id OPERATOR(pg_catalog.<) " +
                 (lo ? "$2" : "$1");
  return sql + " ORDER BY g.store_id, g.day";
}

SpiCursor open_sealed_rows(const std::string& lo, const std::string& hi) {
  AsSealedOwner owner;  // the cursor's privileges are checked as it opens
  const std::string sql = sealed_rows_query(!lo.empty(), !hi.empty());
  if (!lo.empty() && !hi.empty())
    return SpiCursor(sql.c_str(), {{TEXTOID, text_datum(lo)}, {TEXTOID, text_datum(hi)}});
  if (!lo.empty() || !hi.empty())
    return SpiCursor(sql.c_str(), {{TEXTOID, text_datum(lo.empty() ? hi : lo)}});
  return SpiCursor(sql.c_str(), {});
}

}  // namespace

SealedRows::SealedRows(const std::string& lo, const std::string& hi)
    : cursor_(open_sealed_rows(lo, hi)) {}

std::string_view SealedRows::store_id() const {
  bool is_null = true;
  return text_bytes(cursor_.value(0, &is_null));  // short and inline: a key
}

void SealedRows::polls(std::vector<Poll>& out) const {
  bool is_null = true;
  const Datum day = cursor_.value(1, &is_null);
  const Datum packed = pg_call([&] {
    return PointerGetDatum(pg_detoast_datum_packed(
        reinterpret_cast<struct varlena*>(DatumGetPointer(cursor_.value(2, &is_null)))));
  });
  try {
    decode_segment(core_day(day), text_bytes(packed), out);
  } catch (const CorruptSegment& error) {
    throw UserError(ERRCODE_DATA_CORRUPTED, "the sealed polls of store " +
                                                std::string(store_id()) +
                                                " are corrupt: " + error.what());
  }
}

bool store_has_sealed_polls(std::string_view store_id) {
  AsSealedOwner owner;
  return spi_execute(
             "SELECT 1 FROM store_monitoring.sealed_polls g"
             " WHERE g.store_id OPERATOR(pg_catalog.=) $1 LIMIT 1",
             {{TEXTOID, text_datum(store_id)}}, true, 1) > 0;
}

std::optional<TimestampTz> newest_sealed_poll() {
  AsSealedOwner owner;
  // The newest day's rows, each unpacked: the day index finds them.
  std::optional<Micros> newest;
  spi_stream(
      "SELECT g.day, g.polls FROM store_monitoring.sealed_polls g WHERE g.day OPERATOR(pg_catalog.=)"
      " (SELECT pg_catalog.max(d.day) FROM store_monitoring.sealed_polls d)",
      {}, [&](const Datum* values, const bool*) {
        try {
          decode_segment(core_day(values[0]), text_bytes(values[1]), [&](Micros at, PollStatus) {
            newest = std::max(newest.value_or(at), at);
          });
        } catch (const CorruptSegment& error) {
          throw UserError(ERRCODE_DATA_CORRUPTED,
                          std::string("store_monitoring.sealed_polls holds corrupt polls: ") +
                              error.what());
        }
      });
  if (!newest) return std::nullopt;
  return *newest - kPgEpochInUnixMicros;
}

}  // namespace store_monitoring::pg
