// The timeline behind one store's numbers (explain_store): a pure function of
// its arguments. The SQL wrapper store_monitoring.explain_store() reads the
// report's settings and the store's inputs and passes them here.
#include "core/report_engine.hpp"
#include "pg/extension.hpp"
#include "pg/pg_boundary.hpp"
#include "pg/report_store.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

// The most polls and business-hours rows store_timeline takes: its working
// memory (C++ containers that PostgreSQL's memory accounting does not see)
// stays bounded (some 100 MB at the limit) whatever a caller passes.
// explain_store passes a store's polls of the report's range only: a poll
// every 3 s over a week and a week's max_extrapolation is some 400 000.
constexpr int kMaxTimelinePolls = 500'000;
constexpr int kMaxTimelineHours = 1'000;

// The elements of a one-dimensional array argument without NULLs (an empty
// list for a NULL array, which array_agg gives for no rows); at most `limit`.
std::vector<Datum> array_elements(FunctionCallInfo fcinfo, int arg, Oid type, const char* name,
                                  int limit) {
  std::vector<Datum> out;
  if (PG_ARGISNULL(arg)) return out;
  pg_call([&] {
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(arg);
    // Before deconstruct_array copies it (the count is the header's).
    const int elements = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
    if (elements > limit)
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("store_timeline takes at most %d elements in %s, not %d", limit, name,
                             elements)));
    int16 length;
    bool by_value;
    char align;
    get_typlenbyvalalign(type, &length, &by_value, &align);
    Datum* values;
    bool* nulls;
    int count;
    deconstruct_array(array, type, length, by_value, align, &values, &nulls, &count);
    out.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      CHECK_FOR_INTERRUPTS();  // bare: in pg_call, in a frame without destructors
      if (nulls[i])
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("%s must not contain NULL", name)));
      out.push_back(values[i]);
    }
  });
  return out;
}

const char* kind_name(TimelineKind kind) {
  switch (kind) {
    case TimelineKind::closed:
      return "closed";
    case TimelineKind::up:
      return "up";
    case TimelineKind::down:
      return "down";
    case TimelineKind::unknown:
      return "unknown";
    case TimelineKind::ignored_poll:
      break;
  }
  return "ignored_poll";
}

Datum store_timeline(FunctionCallInfo fcinfo) {
  for (int arg = 0; arg < 4; ++arg)
    if (PG_ARGISNULL(arg))
      throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                      "as_of, max_extrapolation, interpolation and time_zone must not be NULL");
  const TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(0);
  if (TIMESTAMP_NOT_FINITE(as_of))
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "as_of must be a finite time");
  // As store_monitoring.max_extrapolation: fixed length, 0 to 7 days.
  const Interval* h = PG_GETARG_INTERVAL_P(1);
  const int64 h_us = h->time + h->day * USECS_PER_DAY;
  if (h->month != 0 || h->day < 0 || h->day > 7 || h_us < 0 || h_us > 7 * USECS_PER_DAY)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                    "max_extrapolation must be an interval of fixed length between 0 and 7 days");
  const std::string interpolation(text_string(PG_GETARG_DATUM(2)));
  if (interpolation != "nearest" && interpolation != "previous")
    throw UserError(
        ERRCODE_INVALID_PARAMETER_VALUE,
        "interpolation must be nearest or previous, not \"" + interpolation.substr(0, 64) + "\"");
  const std::string zone(text_string(PG_GETARG_DATUM(3)));
  std::vector<Datum> days = array_elements(fcinfo, 4, INT2OID, "day_of_week", kMaxTimelineHours);
  std::vector<Datum> starts =
      array_elements(fcinfo, 5, TIMEOID, "start_time_local", kMaxTimelineHours);
  std::vector<Datum> ends = array_elements(fcinfo, 6, TIMEOID, "end_time_local", kMaxTimelineHours);
  std::vector<Datum> poll_at =
      array_elements(fcinfo, 7, TIMESTAMPTZOID, "poll_at", kMaxTimelinePolls);
  std::vector<Datum> poll_active =
      array_elements(fcinfo, 8, BOOLOID, "poll_active", kMaxTimelinePolls);
  if (days.size() != starts.size() || days.size() != ends.size() ||
      poll_at.size() != poll_active.size())
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "array arguments differ in length");

  std::vector<BusinessHours> hours;
  for (size_t i = 0; i < days.size(); ++i) {
    check_for_interrupts();
    int16 day = DatumGetInt16(days[i]);
    if (day < 0 || day > 6)  // as a report refuses such a business-hours row
      throw UserError(
          ERRCODE_INVALID_PARAMETER_VALUE,
          "day_of_week must lie between 0 (Monday) and 6 (Sunday), not " + std::to_string(day));
    hours.push_back({day, DatumGetTimeADT(starts[i]), DatumGetTimeADT(ends[i])});
  }
  std::vector<Poll> polls;
  polls.reserve(poll_at.size());
  for (size_t i = 0; i < poll_at.size(); ++i) {
    check_for_interrupts();
    TimestampTz at = DatumGetTimestampTz(poll_at[i]);
    if (TIMESTAMP_NOT_FINITE(at))
      throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "poll_at must hold finite times");
    polls.push_back({at + kPgEpochInUnixMicros,
                     DatumGetBool(poll_active[i]) ? PollStatus::active : PollStatus::inactive});
  }

  ReportEngine engine(
      {as_of + kPgEpochInUnixMicros, h_us,
       interpolation == "previous" ? Interpolation::previous : Interpolation::nearest});
  engine.set_interrupt_check([] { check_for_interrupts(); });
  // What the engine no longer needs goes before it builds the timeline.
  std::vector<Datum>().swap(poll_at);
  std::vector<Datum>().swap(poll_active);
  const std::vector<TimelineEntry> timeline = engine.explain_store(zone, hours, polls);

  pg_call([&] {
    InitMaterializedSRF(fcinfo, 0);
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const TimelineEntry& e : timeline) {
      CHECK_FOR_INTERRUPTS();  // bare: in pg_call, in a frame without destructors
      Datum values[8];
      bool nulls[8] = {};
      values[0] = CStringGetTextDatum(kind_name(e.kind));
      values[1] = TimestampTzGetDatum(e.utc.begin - kPgEpochInUnixMicros);
      values[2] = TimestampTzGetDatum(e.utc.end - kPgEpochInUnixMicros);
      values[3] = TimestampGetDatum(e.local.begin - kPgEpochInUnixMicros);
      values[4] = TimestampGetDatum(e.local.end - kPgEpochInUnixMicros);
      values[5] = Int32GetDatum(e.hours_row + 1);  // SQL arrays count from 1
      nulls[5] = e.hours_row < 0;
      values[6] = TimestampTzGetDatum(e.poll.at - kPgEpochInUnixMicros);
      values[7] = CStringGetTextDatum(e.poll.status == PollStatus::active ? "active" : "inactive");
      nulls[6] = nulls[7] = !e.has_poll;
      tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
    }
  });
  return static_cast<Datum>(0);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_store_timeline, store_monitoring::pg::store_timeline)
