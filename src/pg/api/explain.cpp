// The timeline behind one store's numbers (explain_store): a pure function of
// its arguments (store_timeline), and the read of one store's inputs from the
// relations a report read (explain_store_inputs). The SQL wrapper
// store_monitoring.explain_store() passes the second's result to the first.
#include "core/report_engine.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/read/report_compute.hpp"
#include "pg/read/sealed_read.hpp"
#include "pg/store/visibility.hpp"
#include "pg/common/datum.hpp"
#include "pg/read/sources.hpp"
#include "pg/common/spi.hpp"

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
  const int64 h_us = interval_us(h);
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

// For messages, in Input order.
constexpr const char* kInputLabels[3] = {"polls", "business hours", "time zones"};

// The statements reading one store's rows of each input: each column cast
// to what explain_store() passes on, every name and operator qualified.

std::string zone_query(const std::string& relation) {
  return "SELECT z.timezone_str::pg_catalog.text FROM " + relation +
         " z WHERE z.store_id::pg_catalog.text COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1";
}

std::string hours_query(const std::string& relation) {
  const char* order = " ORDER BY b.day_of_week, b.start_time_local, b.end_time_local)";
  return std::string("SELECT pg_catalog.array_agg(b.day_of_week::pg_catalog.int2") + order +
         ", pg_catalog.array_agg(b.start_time_local" + order +
         ", pg_catalog.array_agg(b.end_time_local" + order + " FROM " + relation +
         " b WHERE b.store_id::pg_catalog.text COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1";
}

// A status other than active/inactive becomes NULL, which store_timeline()
// refuses.
std::string polls_query(const std::string& relation) {
  return "SELECT pg_catalog.array_agg(s.timestamp_utc),"
         " pg_catalog.array_agg(CASE WHEN s.status::pg_catalog.text OPERATOR(pg_catalog.=) 'active'"
         " THEN true WHEN s.status::pg_catalog.text OPERATOR(pg_catalog.=) 'inactive' THEN false"
         " END) FROM " +
         relation +
         " s WHERE s.store_id::pg_catalog.text COLLATE pg_catalog.\"C\" OPERATOR(pg_catalog.=) $1"
         " AND s.timestamp_utc OPERATOR(pg_catalog.>=) $2"
         " AND s.timestamp_utc OPERATOR(pg_catalog.<=) $3";
}

// store_inputs(report_id, store_id): one store's inputs, as explain_store()
// shows them, from the relations the report recorded, found by their OIDs (a
// relation renamed since is still the one read; one put under the old name
// never is), read as the report's owner (OwnerRead) whoever calls: a caller
// who may see the report (a superuser, a member of the owner) never lends
// its own identity to the views and functions the owner wrote.
Datum explain_store_inputs(FunctionCallInfo fcinfo) {
  text* id = report_id_argument(fcinfo);
  if (PG_ARGISNULL(1)) throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "store_id must not be NULL");
  Datum store_id = PG_GETARG_DATUM(1);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  // The evidence range as explain_store has always computed it.
  VisibleReport report(
      report_row_sql("r.owner, r.source_relations, r.sources,"
                     " r.as_of OPERATOR(pg_catalog.-) '168 hours'::pg_catalog.interval"
                     " OPERATOR(pg_catalog.-) r.max_extrapolation, r.as_of"),
      id);
  bool is_null = false;
  Oid owner = DatumGetObjectId(spi_value(0, 1, &is_null));
  Datum relations_datum = spi_value(0, 2, &is_null);
  Datum names_datum = spi_value(0, 3, &is_null);
  Datum from = spi_value(0, 4, &is_null);
  Datum to = spi_value(0, 5, &is_null);
  if (is_null)
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + shown_id(id) + "\" has no time T yet");
  Sources relations{};
  std::string names[3];
  pg_call([&] {
    Datum* values;
    bool* nulls;
    int count;
    deconstruct_array(DatumGetArrayTypeP(relations_datum), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
                      &values, &nulls, &count);
    for (int i = 0; i < count && i < 3; ++i)
      relations[i] = nulls[i] ? InvalidOid : DatumGetObjectId(values[i]);
  });
  pg_call([&] {
    Datum* values;
    bool* nulls;
    int count;
    deconstruct_array(DatumGetArrayTypeP(names_datum), TEXTOID, -1, false, TYPALIGN_INT, &values,
                      &nulls, &count);
    for (int i = 0; i < count && i < 3; ++i)
      if (!nulls[i]) names[i] = TextDatumGetCString(values[i]);
  });
  check_owner_exists(owner);

  Datum values[6];
  bool nulls[6] = {true, true, true, true, true, true};
  // Each input in a read of its own: nothing one relation's code sets
  // reaches the statement that reads the next. Its first row's columns go
  // to values[first...], copied out of SPI's memory into the function's.
  auto read = [&](Input input, std::string (*query)(const std::string&),
                  std::initializer_list<SqlArg> args, int first, int columns) {
    int i = static_cast<int>(input);
    OwnerRead reader(owner);
    SourceShape shape;
    try {
      shape = check_source(input, relations[i], owner);
    } catch (const UserError& error) {
      if (error.sqlstate() != ERRCODE_UNDEFINED_TABLE) throw;
      throw UserError(ERRCODE_UNDEFINED_TABLE,
                      "the relation that report \"" + shown_id(id) + "\" read for " +
                          kInputLabels[i] + " (" + names[i] + ", OID " +
                          std::to_string(relations[i]) + ") no longer exists",
                      "explain_store() reads only the relations the report read; a new report "
                      "reads the current sources.");
    }
    // The default polls table's sealed polls of the store and range too.
    std::string sql = query(input == Input::polls ? store_polls_relation(shape) : shape.name);
    if (spi_execute(sql.c_str(), args, true, 1) == 0) return;
    for (int c = 0; c < columns; ++c) {
      bool is_null = true;
      Datum value = spi_value(0, c + 1, &is_null);
      nulls[first + c] = is_null;
      if (!is_null)
        values[first + c] = pg_call([&] { return SPI_datumTransfer(value, false, -1); });
    }
  };
  read(Input::time_zones, zone_query, {{TEXTOID, store_id}}, 0, 1);
  read(Input::business_hours, hours_query, {{TEXTOID, store_id}}, 1, 3);
  read(Input::polls, polls_query,
       {{TEXTOID, store_id}, {TIMESTAMPTZOID, from}, {TIMESTAMPTZOID, to}}, 4, 2);
  pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  return Datum(0);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_store_timeline, store_monitoring::pg::store_timeline)
SM_PG_FUNCTION(store_monitoring_explain_store_inputs, store_monitoring::pg::explain_store_inputs)
