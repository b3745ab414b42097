// The strict import views: store_monitoring.store_status_import,
// business_hours_import and store_timezone_import take every column as text,
// in the order of the base tables and of the public CSV files. Their INSTEAD
// OF INSERT trigger, here, checks each raw value with the core's strict
// syntax (src/core/input_syntax.hpp), converts it with PostgreSQL's own input
// function, and inserts the typed row into the base table, whose constraints
// then apply as to any other row.
//
// Why: PostgreSQL's types accept some input silently. '09:00+02'::time drops
// the offset, and a timestamptz without a zone is read in the session's
// TimeZone. The views refuse both, naming the column and the value.
//
// The insert runs as the role that inserts into the view, with its own
// privileges: it needs INSERT on the view and on the base table. It never
// runs as the view's owner (a superuser): triggers, rules, CHECK constraints
// and index expressions on the base table are code that other roles can
// attach (a role with TRIGGER on it, or a delegated owner), and lending them
// a superuser identity would make those roles superusers.
#include "core/input_syntax.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {
namespace {

namespace in = store_monitoring::input;

constexpr int kMaxColumns = 4;

struct Target {
  const char* table;  // base table in schema store_monitoring, also the trigger argument
  const char* view;
  int columns;
  std::array<const char*, kMaxColumns> column_names;
  const char* insert_sql;
  std::array<Oid, kMaxColumns> argument_types;
};

// Statuses go in as text and are cast in SQL, so that the saved plan never
// holds the enum's OID (it changes when the extension is re-created).
const Target kTargets[] = {
    {"store_status",
     "store_status_import",
     3,
     {"store_id", "status", "timestamp_utc", nullptr},
     "INSERT INTO store_monitoring.store_status (store_id, status, timestamp_utc) "
     "VALUES ($1, $2::store_monitoring.poll_status, $3)",
     {TEXTOID, TEXTOID, TIMESTAMPTZOID, InvalidOid}},
    {"business_hours",
     "business_hours_import",
     4,
     {"store_id", "day_of_week", "start_time_local", "end_time_local"},
     "INSERT INTO store_monitoring.business_hours "
     "(store_id, day_of_week, start_time_local, end_time_local) VALUES ($1, $2, $3, $4)",
     {TEXTOID, INT2OID, TIMEOID, TIMEOID}},
    {"store_timezone",
     "store_timezone_import",
     2,
     {"store_id", "timezone_str", nullptr, nullptr},
     "INSERT INTO store_monitoring.store_timezone (store_id, timezone_str) VALUES ($1, $2)",
     {TEXTOID, TEXTOID, InvalidOid, InvalidOid}},
};
constexpr int kTargetCount = sizeof(kTargets) / sizeof(kTargets[0]);

// Plans prepared once per backend (SPI_keepplan); the plan cache re-plans
// them after DDL on the tables.
SPIPlanPtr saved_plans[kTargetCount];

[[noreturn]] void refuse(int sqlstate, const Target& target, const char* column,
                         std::string_view value, const std::string& problem) {
  throw UserError(sqlstate, std::string("invalid ") + column + " " + in::quote_for_message(value) +
                                " in store_monitoring." + target.view + ": " + problem);
}

// One column of the view's row: its text, or nullopt for NULL.
std::optional<std::string_view> column_text(HeapTuple row, TupleDesc desc, int column) {
  bool is_null = false;
  const char* data = nullptr;
  int length = 0;
  pg_call([&] {
    Datum value = heap_getattr(row, column, desc, &is_null);
    if (!is_null) {
      text* t = pg_detoast_datum_packed(reinterpret_cast<varlena*>(DatumGetPointer(value)));
      data = VARDATA_ANY(t);
      length = VARSIZE_ANY_EXHDR(t);
    }
  });
  if (is_null) return std::nullopt;
  return std::string_view(data, length);
}

// Runs PostgreSQL's input function `input` on text that passed the strict
// check; an error it raises (say, February 30) is reported for the column.
Datum convert(PGFunction input, const Target& target, const char* column, std::string_view value) {
  std::string terminated(value);
  try {
    return pg_call([&] {
      return DirectFunctionCall3(input, CStringGetDatum(terminated.c_str()),
                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    });
  } catch (const PgError& e) {
    refuse(e.data() ? e.data()->sqlerrcode : ERRCODE_INVALID_DATETIME_FORMAT, target, column, value,
           e.what());
  }
}

const Target& target_of(TriggerData* trigger) {
  const Trigger* t = trigger->tg_trigger;
  if (t->tgnargs == 1)
    for (const Target& target : kTargets)
      if (std::strcmp(t->tgargs[0], target.table) == 0) return target;
  throw UserError(
      ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
      "_store_monitoring_internal._import_row() needs one argument naming the base table: "
      "store_status, business_hours or store_timezone");
}

Datum import_row(FunctionCallInfo fcinfo) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw UserError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "_store_monitoring_internal._import_row() must be called as a trigger");
  auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
  if (!TRIGGER_FIRED_INSTEAD(trigger->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigger->tg_event) ||
      !TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
    throw UserError(
        ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
        "_store_monitoring_internal._import_row() must fire INSTEAD OF INSERT FOR EACH ROW");
  const Target& target = target_of(trigger);
  const int index = static_cast<int>(&target - kTargets);
  TupleDesc desc = RelationGetDescr(trigger->tg_relation);
  bool shape_ok = desc->natts == target.columns;
  for (int i = 0; shape_ok && i < target.columns; ++i)
    shape_ok = TupleDescAttr(desc, i)->atttypid == TEXTOID && !TupleDescAttr(desc, i)->attisdropped;
  if (!shape_ok)
    throw UserError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    std::string("_store_monitoring_internal._import_row() expects ") +
                        std::to_string(target.columns) + " text columns on " + target.view);

  // Every column, checked before anything is converted or inserted.
  std::array<std::string_view, kMaxColumns> raw{};
  for (int i = 0; i < target.columns; ++i) {
    auto value = column_text(trigger->tg_trigtuple, desc, i + 1);
    if (!value)
      throw UserError(ERRCODE_NOT_NULL_VIOLATION, std::string("null value in column \"") +
                                                      target.column_names[i] +
                                                      "\" of store_monitoring." + target.view);
    raw[i] = *value;
  }
  const int encoding = GetDatabaseEncoding();
  const bool must_be_utf8 = encoding == PG_UTF8 || encoding == PG_SQL_ASCII;
  if (auto problem = in::problem_with_store_id(raw[0], must_be_utf8))
    refuse(must_be_utf8 && !in::is_valid_utf8(raw[0]) ? ERRCODE_CHARACTER_NOT_IN_REPERTOIRE
                                                      : ERRCODE_INVALID_TEXT_REPRESENTATION,
           target, "store_id", raw[0], *problem);

  std::array<Datum, kMaxColumns> values{};
  values[0] = text_datum(raw[0]);
  switch (index) {
    case 0:  // store_status
      if (auto problem = in::problem_with_status(raw[1]))
        refuse(ERRCODE_INVALID_TEXT_REPRESENTATION, target, "status", raw[1], *problem);
      if (auto problem = in::problem_with_poll_timestamp(raw[2]))
        refuse(ERRCODE_INVALID_DATETIME_FORMAT, target, "timestamp_utc", raw[2], *problem);
      values[1] = text_datum(raw[1]);
      values[2] = convert(timestamptz_in, target, "timestamp_utc", raw[2]);
      break;
    case 1:  // business_hours
      if (auto problem = in::problem_with_weekday(raw[1]))
        refuse(ERRCODE_INVALID_TEXT_REPRESENTATION, target, "day_of_week", raw[1], *problem);
      for (int i : {2, 3})
        if (auto problem = in::problem_with_local_time(raw[i]))
          refuse(ERRCODE_INVALID_DATETIME_FORMAT, target, target.column_names[i], raw[i], *problem);
      values[1] = Int16GetDatum(static_cast<int16>(raw[1][0] - '0'));
      values[2] = convert(time_in, target, "start_time_local", raw[2]);
      values[3] = convert(time_in, target, "end_time_local", raw[3]);
      // The base table refuses it too; here the message names the row.
      if (DatumGetTimeADT(values[2]) == in::kEndOfDayMicroseconds)
        refuse(ERRCODE_CHECK_VIOLATION, target, "start_time_local", raw[2],
               std::string(in::kShiftStartsAtEndOfDay) + "; the row: store " +
                   in::quote_for_message(raw[0]) + ", day_of_week " + std::string(raw[1]) + ", " +
                   in::quote_for_message(raw[2]) + " to " + in::quote_for_message(raw[3]));
      break;
    default:  // store_timezone: the base table's CHECK names an unknown zone
      values[1] = text_datum(raw[1]);
      break;
  }

  {
    SpiConnection spi;
    PinnedSearchPath safe_names;  // the caller's identity, but our names
    if (saved_plans[index] == nullptr) {
      saved_plans[index] = pg_call([&] {
        SPIPlanPtr plan = SPI_prepare(target.insert_sql, target.columns,
                                      const_cast<Oid*>(target.argument_types.data()));
        if (plan == nullptr || SPI_keepplan(plan) != 0)
          elog(ERROR, "could not prepare the insert into store_monitoring.%s: %s", target.table,
               SPI_result_code_string(SPI_result));
        return plan;
      });
    }
    SPIPlanPtr plan = saved_plans[index];
    int result = pg_call([&] { return SPI_execute_plan(plan, values.data(), nullptr, false, 0); });
    if (result != SPI_OK_INSERT)
      throw std::runtime_error(std::string("insert into store_monitoring.") + target.table +
                               " failed: " + SPI_result_code_string(result));
  }
  return PointerGetDatum(trigger->tg_trigtuple);
}

}  // namespace
}  // namespace store_monitoring::pg

// INSTEAD OF INSERT trigger of the three import views; its argument names the
// base table.
SM_PG_FUNCTION(store_monitoring_import_row, store_monitoring::pg::import_row)
