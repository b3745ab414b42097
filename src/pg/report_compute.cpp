#include "pg/report_compute.hpp"

#include "core/report_engine.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <span>
#include <string_view>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr int64 kPgEpochInUnixMicros =
    static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
constexpr long kPollBatchRows = 20000;
constexpr size_t kResultChunkRows = 10000;

Micros to_unix_micros(TimestampTz value) { return value + kPgEpochInUnixMicros; }
TimestampTz to_pg_timestamp(Micros value) { return value - kPgEpochInUnixMicros; }

// Text datum as a view into tuple memory (store ids and zone names are short
// and never toasted-out-of-line, but detoast anyway for safety).
std::string_view text_view(Datum value) {
  text* t = pg_call([&] { return DatumGetTextPP(value); });
  return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
}

struct HoursRow {
  std::string store_id;
  BusinessHours hours;
};
struct ZoneRow {
  std::string store_id;
  std::string zone;
};

std::vector<HoursRow> read_business_hours() {
  uint64 count = spi_execute(
      "SELECT store_id, day_of_week, start_time_local, end_time_local "
      "FROM store_monitoring.business_hours",
      {}, true);
  std::vector<HoursRow> rows;
  rows.reserve(count);
  bool is_null = false;
  for (uint64 i = 0; i < count; ++i) {
    HoursRow row{std::string(text_view(spi_value(i, 1, &is_null))), {}};
    row.hours.day_of_week = DatumGetInt16(spi_value(i, 2, &is_null));
    row.hours.start_local = DatumGetTimeADT(spi_value(i, 3, &is_null));
    row.hours.end_local = DatumGetTimeADT(spi_value(i, 4, &is_null));
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const HoursRow& a, const HoursRow& b) { return a.store_id < b.store_id; });
  pg_call([] { SPI_freetuptable(SPI_tuptable); });
  return rows;
}

std::vector<ZoneRow> read_time_zones() {
  uint64 count =
      spi_execute("SELECT store_id, timezone_str FROM store_monitoring.store_timezone", {}, true);
  std::vector<ZoneRow> rows;
  rows.reserve(count);
  bool is_null = false;
  for (uint64 i = 0; i < count; ++i)
    rows.push_back({std::string(text_view(spi_value(i, 1, &is_null))),
                    std::string(text_view(spi_value(i, 2, &is_null)))});
  std::sort(rows.begin(), rows.end(),
            [](const ZoneRow& a, const ZoneRow& b) { return a.store_id < b.store_id; });
  pg_call([] { SPI_freetuptable(SPI_tuptable); });
  return rows;
}

// The polls in the evidence range, store by store in store_id byte order.
class PollStream {
 public:
  PollStream(TimestampTz from, TimestampTz to) {
    Oid types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
    Datum values[2] = {TimestampTzGetDatum(from), TimestampTzGetDatum(to)};
    portal_ = pg_call([&] {
      return SPI_cursor_open_with_args("store_monitoring_polls",
                                       "SELECT store_id, timestamp_utc, status = 'active' "
                                       "FROM store_monitoring.store_status "
                                       "WHERE timestamp_utc >= $1 AND timestamp_utc <= $2 "
                                       "ORDER BY store_id, timestamp_utc",
                                       2, types, values, nullptr, true, 0);
    });
    fetch();
  }
  ~PollStream() {
    if (batch_ != nullptr) SPI_freetuptable(batch_);
    if (portal_ != nullptr) SPI_cursor_close(portal_);
  }
  PollStream(const PollStream&) = delete;
  PollStream& operator=(const PollStream&) = delete;

  bool done() const { return position_ >= batch_rows_; }
  std::string_view next_store_id() const { return current_store_id_; }

  // Moves all polls of next_store_id() into `polls`.
  void take_store(std::vector<Poll>& polls) {
    polls.clear();
    std::string store_id = current_store_id_;
    while (!done() && current_store_id_ == store_id) {
      polls.push_back(current_poll_);
      advance();
    }
  }

 private:
  void fetch() {
    if (batch_ != nullptr) pg_call([&] { SPI_freetuptable(batch_); });
    batch_ = nullptr;
    pg_call([&] {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(portal_, true, kPollBatchRows);
    });
    batch_ = SPI_tuptable;
    batch_rows_ = SPI_processed;
    position_ = 0;
    if (!done()) decode();
  }
  void advance() {
    if (++position_ < batch_rows_)
      decode();
    else
      fetch();
  }
  void decode() {
    HeapTuple tuple = batch_->vals[position_];
    TupleDesc desc = batch_->tupdesc;
    bool is_null = false;
    Datum id = pg_call([&] { return SPI_getbinval(tuple, desc, 1, &is_null); });
    current_store_id_.assign(text_view(id));
    Datum at = pg_call([&] { return SPI_getbinval(tuple, desc, 2, &is_null); });
    Datum active = pg_call([&] { return SPI_getbinval(tuple, desc, 3, &is_null); });
    current_poll_ = {to_unix_micros(DatumGetTimestampTz(at)),
                     DatumGetBool(active) ? PollStatus::active : PollStatus::inactive};
  }

  Portal portal_ = nullptr;
  SPITupleTable* batch_ = nullptr;
  uint64 batch_rows_ = 0;
  uint64 position_ = 0;
  std::string current_store_id_;
  Poll current_poll_{};
};

struct StoreResult {
  std::string store_id;
  StoreDurations durations;
};

struct ComputedReport {
  std::vector<StoreResult> stores;
  std::string csv;
};

ComputedReport compute(const ReportJob& job) {
  ReportSettings settings{to_unix_micros(job.as_of), job.max_extrapolation_us,
                          job.interpolation == InterpolationSetting::previous
                              ? Interpolation::previous
                              : Interpolation::nearest};
  ReportEngine engine(settings);
  Span range = engine.evidence_range();

  std::vector<HoursRow> hours = read_business_hours();
  std::vector<ZoneRow> zones = read_time_zones();
  PollStream polls(to_pg_timestamp(range.begin), to_pg_timestamp(range.end - 1));

  ComputedReport report;
  report.csv.append(csv_header()).push_back('\n');
  std::vector<BusinessHours> store_hours;
  std::vector<Poll> store_polls;
  size_t next_hours = 0;
  size_t next_zone = 0;
  for (;;) {
    // The next store in byte order among the three inputs.
    const std::string* candidate = nullptr;
    auto consider = [&candidate](const std::string& id) {
      if (candidate == nullptr || id < *candidate) candidate = &id;
    };
    std::string poll_store;
    if (!polls.done()) {
      poll_store.assign(polls.next_store_id());
      consider(poll_store);
    }
    if (next_hours < hours.size()) consider(hours[next_hours].store_id);
    if (next_zone < zones.size()) consider(zones[next_zone].store_id);
    if (candidate == nullptr) break;
    std::string store_id = *candidate;

    store_hours.clear();
    while (next_hours < hours.size() && hours[next_hours].store_id == store_id)
      store_hours.push_back(hours[next_hours++].hours);
    std::string_view zone;
    if (next_zone < zones.size() && zones[next_zone].store_id == store_id)
      zone = zones[next_zone++].zone;
    if (!polls.done() && polls.next_store_id() == store_id)
      polls.take_store(store_polls);
    else
      store_polls.clear();

    StoreDurations durations = engine.compute_store(zone, store_hours, store_polls);
    append_csv_row(report.csv, store_id, durations);
    report.stores.push_back({std::move(store_id), durations});
  }
  return report;
}

void insert_result_rows(const std::string& report_id, std::span<const StoreResult> rows) {
  int count = static_cast<int>(rows.size());
  Datum arrays[7];
  pg_call([&] {
    Datum* ids = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    Datum* values[6];
    for (auto& column : values) column = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    for (int i = 0; i < count; ++i) {
      const StoreResult& row = rows[i];
      ids[i] = PointerGetDatum(
          cstring_to_text_with_len(row.store_id.data(), static_cast<int>(row.store_id.size())));
      for (int w = 0; w < 3; ++w) {
        values[w][i] = Float8GetDatum(to_report_unit(Window(w), row.durations.uptime[w]));
        values[3 + w][i] = Float8GetDatum(to_report_unit(Window(w), row.durations.downtime[w]));
      }
    }
    arrays[0] = PointerGetDatum(construct_array(ids, count, TEXTOID, -1, false, TYPALIGN_INT));
    for (int c = 0; c < 6; ++c)
      arrays[1 + c] = PointerGetDatum(construct_array(values[c], count, FLOAT8OID, sizeof(float8),
                                                      FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
  });
  Datum id = pg_call([&] { return PointerGetDatum(cstring_to_text(report_id.c_str())); });
  spi_execute(
      "INSERT INTO store_monitoring.report_result "
      "SELECT $1, u.* FROM unnest($2::text[], $3::float8[], $4::float8[], $5::float8[], "
      "$6::float8[], $7::float8[], $8::float8[]) AS u",
      {{TEXTOID, id},
       {TEXTARRAYOID, arrays[0]},
       {FLOAT8ARRAYOID, arrays[1]},
       {FLOAT8ARRAYOID, arrays[2]},
       {FLOAT8ARRAYOID, arrays[3]},
       {FLOAT8ARRAYOID, arrays[4]},
       {FLOAT8ARRAYOID, arrays[5]},
       {FLOAT8ARRAYOID, arrays[6]}},
      false);
}

void check_owner_exists(Oid owner) {
  bool exists = pg_call([&] { return SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)); });
  if (!exists)
    throw UserError(ERRCODE_UNDEFINED_OBJECT,
                    "the role that triggered the report no longer exists");
}

}  // namespace

TimestampTz resolve_latest_as_of(Oid owner, TimestampTz fallback) {
  check_owner_exists(owner);
  ActAsRole reader(owner);
  spi_execute("SELECT max(timestamp_utc) FROM store_monitoring.store_status", {}, true);
  bool is_null = true;
  Datum latest = spi_value(0, 1, &is_null);
  return is_null ? fallback : DatumGetTimestampTz(latest);
}

void compute_and_store_report(const ReportJob& job) {
  check_owner_exists(job.owner);
  pause_for_testing(PausePoint::reading);
  ComputedReport report;
  {
    ActAsRole reader(job.owner);  // privileges and row-level security of the owner
    report = compute(job);
  }
  pause_for_testing(PausePoint::writing);
  std::span<const StoreResult> rows(report.stores);
  for (size_t start = 0; start < rows.size(); start += kResultChunkRows)
    insert_result_rows(job.report_id,
                       rows.subspan(start, std::min(kResultChunkRows, rows.size() - start)));

  Datum id = pg_call([&] { return PointerGetDatum(cstring_to_text(job.report_id.c_str())); });
  Datum csv = pg_call([&] {
    return PointerGetDatum(
        cstring_to_text_with_len(report.csv.data(), static_cast<int>(report.csv.size())));
  });
  spi_execute(
      "UPDATE store_monitoring.report SET status = 'Complete', phase = 'done', "
      "finished_at = pg_catalog.clock_timestamp(), csv = $2, store_count = $3, error = NULL "
      "WHERE report_id = $1",
      {{TEXTOID, id}, {TEXTOID, csv}, {INT4OID, Int32GetDatum(static_cast<int32>(rows.size()))}},
      false);
  pause_for_testing(PausePoint::committing);
}

}  // namespace store_monitoring::pg
