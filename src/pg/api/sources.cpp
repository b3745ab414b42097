// Sources' SQL functions: set_sources, sources, check_sources (every row of
// the caller's sources that a report would refuse) and source_query.
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/source_read.hpp"
#include "pg/read/sources.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <array>
#include <optional>
#include <string>

namespace store_monitoring::pg {
namespace {

// The sources `role` configured, read from the extension's table.
Sources sources_of(Oid role) {
  SpiScope spi;  // after the caller's identity was taken: it acts as the table owner
  return configured_sources(role);
}

// set_sources(polls, business_hours, time_zones): NULL means the default
// table. Stored for the calling role; checked first.
Datum set_sources(FunctionCallInfo fcinfo) {
  Oid role = GetUserId();
  Datum stored[3];
  bool is_default[3];
  for (Input input : kInputs) {
    int i = static_cast<int>(input);
    is_default[i] = PG_ARGISNULL(i);
    Oid relation = is_default[i] ? default_source(input) : PG_GETARG_OID(i);
    (void)check_source(input, relation, role);
    stored[i] = ObjectIdGetDatum(relation);
  }
  SpiScope spi;
  if (is_default[0] && is_default[1] && is_default[2]) {
    spi_execute(
        "DELETE FROM _store_monitoring_internal.sources WHERE role OPERATOR(pg_catalog.=) $1",
        {{OIDOID, ObjectIdGetDatum(role)}}, false);
  } else {
    spi_execute(
        "INSERT INTO _store_monitoring_internal.sources AS s "
        "(role, polls, business_hours, time_zones, set_at) "
        "VALUES ($1, $2, $3, $4, pg_catalog.statement_timestamp()) "
        "ON CONFLICT (role) DO UPDATE SET polls = excluded.polls, "
        "business_hours = excluded.business_hours, time_zones = excluded.time_zones, "
        "set_at = excluded.set_at",
        {{REGROLEOID, ObjectIdGetDatum(role)},
         {REGCLASSOID, stored[0], is_default[0]},
         {REGCLASSOID, stored[1], is_default[1]},
         {REGCLASSOID, stored[2], is_default[2]}},
        false);
  }
  return Datum(0);
}

Datum sources(FunctionCallInfo fcinfo) {
  ReturnSetInfo* result = materialized_rows(fcinfo);
  Oid role = GetUserId();
  Sources configured = sources_of(role);
  Datum values[3];
  bool nulls[3] = {false, false, false};
  for (int i = 0; i < 3; ++i) values[i] = ObjectIdGetDatum(configured[i]);
  pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  return Datum(0);
}

Datum text_or_null(const std::optional<std::string>& value, bool* is_null) {
  *is_null = !value.has_value();
  return value ? text_datum(*value) : Datum(0);
}

// Every row of the caller's sources that a report would refuse.
Datum check_sources_rows(FunctionCallInfo fcinfo) {
  ReturnSetInfo* result = materialized_rows(fcinfo);
  Oid role = GetUserId();
  Sources configured = sources_of(role);
  std::array<SourceShape, 3> shapes = check_sources(configured, role);
  BadRows bad(true);
  {
    SpiScope spi(role);
    OwnerRead reader(role);
    struct IgnorePolls final : PollSink {
      void poll(std::string_view, TimestampTz, PollStatus) override {}
    } ignore;
    read_polls(shapes[0], ignore, bad);
    (void)read_business_hours(shapes[1], bad);
    (void)read_time_zones(shapes[2], bad);
  }
  for (const BadRow& row : bad.rows()) {
    Oid relation = InvalidOid;
    for (const SourceShape& shape : shapes)
      if (shape.name == row.relation) relation = shape.relation;
    Datum values[5];
    bool nulls[5] = {false, false, false, false, false};
    values[0] = ObjectIdGetDatum(relation);
    values[1] = text_or_null(row.store_id, &nulls[1]);
    values[2] = text_datum(row.column);
    values[3] = text_or_null(row.value, &nulls[3]);
    values[4] = text_datum(row.problem);
    pg_call([&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
  }
  return Datum(0);
}

// Internal, for tests: the statement a report runs to read `relation` as
// `input` ('polls', 'business_hours' or 'time_zones').
Datum source_query(FunctionCallInfo fcinfo) {
  std::string input = pg_call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(0)); });
  Oid relation = PG_GETARG_OID(1);
  Input which = input == "polls"            ? Input::polls
                : input == "business_hours" ? Input::business_hours
                : input == "time_zones"
                    ? Input::time_zones
                    : throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                                      "input must be polls, business_hours or time_zones");
  SourceShape shape = check_source(which, relation, GetUserId());
  SpiConnection spi;  // whether sealed polls are read too is looked up
  return text_datum(read_query(shape));
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_set_sources, store_monitoring::pg::set_sources)
SM_PG_FUNCTION(store_monitoring_sources, store_monitoring::pg::sources)
SM_PG_FUNCTION(store_monitoring_check_sources, store_monitoring::pg::check_sources_rows)
SM_PG_FUNCTION(store_monitoring_source_query, store_monitoring::pg::source_query)
