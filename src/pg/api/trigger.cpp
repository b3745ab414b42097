// SQL-callable report functions: trigger_report and the helpers behind
// get_report / wait_report. A worker starts only once the triggering
// transaction commits, so it always sees the report row; a rollback leaves
// neither the row nor a worker behind.
#include "pg/api/trigger.hpp"

#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/store/states.hpp"
#include "pg/store/write.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/settings.hpp"
#include "pg/shards/catalog.hpp"
#include "pg/read/sources.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/store_report.hpp"
#include "pg/worker/worker.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/base64.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr int kReportIdBytes = 12;  // 96 random bits -> 16 URL-safe characters
constexpr int kReportIdLength = 16;

// Reports triggered by the current top-level transaction, with the
// subtransaction that inserted each, so that ROLLBACK TO SAVEPOINT forgets
// them. Plain C++ state of this backend; cleared at every transaction end.
struct Triggered {
  std::string report_id;
  SubTransactionId subtransaction;
};

std::vector<Triggered>& triggered_in_transaction() {
  static std::vector<Triggered> reports;
  return reports;
}

// Transaction callbacks (called from C): noexcept; erasing moves strings and
// launch_report_worker raises nothing.
void at_subtransaction_end(SubXactEvent event, SubTransactionId subtransaction,
                           SubTransactionId parent, void*) noexcept {
  auto& reports = triggered_in_transaction();
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    std::erase_if(reports, [&](const Triggered& r) { return r.subtransaction == subtransaction; });
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    for (Triggered& r : reports)
      if (r.subtransaction == subtransaction) r.subtransaction = parent;
  }
}

void at_transaction_end(XactEvent event, void*) noexcept {
  auto& reports = triggered_in_transaction();
  if (reports.empty()) return;
  if (event == XACT_EVENT_COMMIT) {
    // One worker per report up to the cap; the workers share the queue.
    size_t workers = std::min<size_t>(reports.size(), current_settings().max_workers);
    for (size_t i = 0; i < workers; ++i)
      if (!launch_report_worker(MyDatabaseId)) break;  // queued; resumed later
    reports.clear();
  } else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE) {
    // Prepared: the row commits later, maybe elsewhere; get_report resumes it.
    reports.clear();
  }
}

void remember_for_commit(std::string id) {
  static bool callbacks_registered = false;
  if (!callbacks_registered) {
    pg_call([] {
      RegisterXactCallback(at_transaction_end, nullptr);
      RegisterSubXactCallback(at_subtransaction_end, nullptr);
    });
    callbacks_registered = true;
  }
  triggered_in_transaction().push_back({std::move(id), GetCurrentSubTransactionId()});
}

std::string random_report_id() {
  unsigned char random_bytes[kReportIdBytes];
  if (!pg_strong_random(random_bytes, sizeof(random_bytes)))
    throw UserError(ERRCODE_INTERNAL_ERROR, "could not generate a random report id");
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id;
  id.reserve(kReportIdLength);
  for (int i = 0; i < kReportIdBytes; i += 3) {
    uint32 group = (random_bytes[i] << 16) | (random_bytes[i + 1] << 8) | random_bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) id.push_back(kAlphabet[(group >> shift) & 63]);
  }
  return id;
}

// An id never starts with '-' (shells and option parsers take it for an
// option) nor '_': such draws are drawn again, so every id that remains is
// as likely as any other (1 in 32 draws is redrawn).
std::string new_report_id() {
  for (;;) {
    std::string id = random_report_id();
    if (id.front() != '-' && id.front() != '_') return id;
  }
}

// Refuse at once what the worker would refuse later: the caller's sources
// must exist, be readable by the caller and have the right shape. The worker
// checks them again when it starts (relations change meanwhile). Without
// waiting: while another transaction holds a source locked against reads (a
// loader's TRUNCATE and reload), the check is left to the worker, so that
// trigger_report() returns at once.
std::array<SourceShape, 3> check_can_read_inputs(Oid role) {
  Sources sources;
  {
    SpiScope spi;
    sources = configured_sources(role);
  }
  if (auto shapes = check_sources_without_waiting(sources, role)) return *shapes;
  std::array<SourceShape, 3> unchecked;
  for (Input input : kInputs) {
    SourceShape& shape = unchecked[static_cast<int>(input)];
    shape.input = input;
    shape.relation = sources[static_cast<int>(input)];
    shape.name = source_name(shape.relation);
  }
  return unchecked;
}

struct AsOfChoice {
  bool resolved;  // false: "latest", resolved by the worker in its snapshot
  TimestampTz value;
  const char* recorded_setting;
};

// as_of NULL (or omitted): store_monitoring.report_time decides. `arg`: the
// position of as_of.
AsOfChoice choose_as_of(FunctionCallInfo fcinfo, const Settings& settings, int arg = 0) {
  // 1.0's trigger_report() had no arguments (a stale schema still calls so).
  if (PG_NARGS() > arg && !PG_ARGISNULL(arg)) {
    TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(arg);
    if (TIMESTAMP_NOT_FINITE(as_of))
      throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "as_of must be a finite timestamp");
    return {true, as_of, "as_of argument"};
  }
  const char* setting = settings.report_time;
  if (pg_strcasecmp(setting, "latest") == 0) return {false, 0, "latest"};
  if (pg_strcasecmp(setting, "now") == 0)
    return {true, GetCurrentTransactionStartTimestamp(), "now"};
  TimestampTz as_of = DatumGetTimestampTz(pg_call([&] {
    return DirectFunctionCall3(timestamptz_in, CStringGetDatum(setting),
                               ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
  }));
  if (TIMESTAMP_NOT_FINITE(as_of))
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE,
                    "store_monitoring.report_time must be latest, now or a finite timestamp");
  return {true, as_of, setting};
}

Datum interval_datum(int64 microseconds) {
  return pg_call([&] {
    auto* span = static_cast<Interval*>(palloc0(sizeof(Interval)));
    span->time = microseconds;
    return IntervalPGetDatum(span);
  });
}

// The argument `arg` as a C string, or nullptr for NULL or an argument the
// calling SQL declaration does not have (an older schema).
const char* text_argument(FunctionCallInfo fcinfo, int arg) {
  if (PG_NARGS() <= arg || PG_ARGISNULL(arg)) return nullptr;
  return pg_call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(arg)); });
}

// The setting `name` when the argument `arg` gives it, else nullptr.
const char* given_setting(FunctionCallInfo fcinfo, int arg, const char* name) {
  return arg >= 0 && PG_NARGS() > arg && !PG_ARGISNULL(arg) ? name : nullptr;
}

// trigger_report(as_of, label, max_extrapolation, interpolation, report_time):
// a setting given as an argument replaces the session's for this report, so
// one statement carries everything the report records, and a pooled
// connection's leftover SETs cannot reach it. Each is checked as its SET is.
// The positions of the arguments (store_report has no report_time: -1).
void apply_setting_arguments(FunctionCallInfo fcinfo, Settings& settings,
                             int max_extrapolation_arg = 2, int interpolation_arg = 3,
                             int report_time_arg = 4) {
  if (PG_NARGS() > max_extrapolation_arg && !PG_ARGISNULL(max_extrapolation_arg)) {
    // As text, checked and parsed as the setting is (a month is refused,
    // since months vary in length).
    const char* extrapolation = DatumGetCString(pg_call(
        [&] { return DirectFunctionCall1(interval_out, PG_GETARG_DATUM(max_extrapolation_arg)); }));
    settings.max_extrapolation_us = max_extrapolation_argument(extrapolation);
  }
  if (const char* interpolation = text_argument(fcinfo, interpolation_arg))
    settings.interpolation = interpolation_argument(interpolation);
  if (report_time_arg < 0) return;
  if (const char* report_time = text_argument(fcinfo, report_time_arg)) {
    check_report_time_argument(report_time);
    settings.report_time = report_time;
  }
}

Datum trigger_report(FunctionCallInfo fcinfo) {
  // A standby can read reports but never compute them: its workers would not
  // start, and it could not write the result. (RecoveryInProgress() raises no
  // error: called bare here and below.)
  if (RecoveryInProgress())
    throw UserError(ERRCODE_READ_ONLY_SQL_TRANSACTION, "reports are computed on the primary",
                    "Call trigger_report() on the primary server; get_report(), wait_report(), "
                    "report_rows() and list_reports() work on a standby too.");
  // A value refused at load that an argument replaces does not matter (a
  // pooled connection may carry one from another client).
  refuse_settings_refused_at_load({given_setting(fcinfo, 2, "store_monitoring.max_extrapolation"),
                                   given_setting(fcinfo, 3, "store_monitoring.interpolation"),
                                   given_setting(fcinfo, 4, "store_monitoring.report_time")});
  Settings settings = current_settings();
  apply_setting_arguments(fcinfo, settings);
  AsOfChoice as_of = choose_as_of(fcinfo, settings);
  std::optional<std::string> label = label_argument(fcinfo, 1);
  Oid owner = GetUserId();
  // A coordinator reads nothing itself: its shards read their own sources
  // as the user mapping, and it records its configured ones unchecked.
  std::array<SourceShape, 3> sources;
  if (check_role_can_reach_shards(owner)) {
    Sources configured;
    {
      SpiScope spi;
      configured = configured_sources(owner);
    }
    for (Input input : kInputs) {
      SourceShape& shape = sources[static_cast<int>(input)];
      shape.input = input;
      shape.relation = configured[static_cast<int>(input)];
      shape.name = "(read on the shards)";
    }
  } else {
    sources = check_can_read_inputs(owner);
  }
  std::string id = new_report_id();
  {
    SpiScope spi;
    check_role_limits(owner);
    spi_execute(
        "INSERT INTO _store_monitoring_internal.report (report_id, owner, as_of, report_time, "
        "max_extrapolation, interpolation, requested_at, source_relations, sources, label) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, ARRAY[$8, $9, $10]::oid[], "
        "ARRAY[$11, $12, $13]::text[], $14)",
        {{TEXTOID, text_datum(id)},
         {OIDOID, ObjectIdGetDatum(owner)},
         {TIMESTAMPTZOID, TimestampTzGetDatum(as_of.value), !as_of.resolved},
         {TEXTOID, text_datum(as_of.recorded_setting)},
         {INTERVALOID, interval_datum(settings.max_extrapolation_us)},
         {TEXTOID, text_datum(interpolation_name(settings.interpolation))},
         {TIMESTAMPTZOID, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())},
         {OIDOID, ObjectIdGetDatum(sources[0].relation)},
         {OIDOID, ObjectIdGetDatum(sources[1].relation)},
         {OIDOID, ObjectIdGetDatum(sources[2].relation)},
         {TEXTOID, text_datum(sources[0].name)},
         {TEXTOID, text_datum(sources[1].name)},
         {TEXTOID, text_datum(sources[2].name)},
         {TEXTOID, label ? text_datum(*label) : Datum(0), !label}},
        false);
  }
  remember_for_commit(id);
  return text_datum(id);
}

constexpr int kStoreRowColumns = 10;

// store_report(store_id, as_of, max_extrapolation, interpolation): the row a
// report with this T and these settings gives for the store, computed now,
// in this transaction, from the caller's own sources read as the caller,
// with a report's checks and errors; no row for a store no source knows.
Datum store_report(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "store_id must not be NULL");
  std::string store_id = text_string(PG_GETARG_DATUM(0));
  refuse_settings_refused_at_load({given_setting(fcinfo, 2, "store_monitoring.max_extrapolation"),
                                   given_setting(fcinfo, 3, "store_monitoring.interpolation")});
  Settings settings = current_settings();
  apply_setting_arguments(fcinfo, settings, 2, 3, -1);
  AsOfChoice as_of = choose_as_of(fcinfo, settings, 1);
  Oid caller = GetUserId();
  bool coordinator = false;
  {
    SpiScope spi;
    coordinator = database_has_shards();
  }
  if (coordinator)
    throw UserError(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "store_report() reads this database's sources, and a coordinator's stores "
                    "are on its shards",
                    "Call store_report() on the shard that holds the store, or trigger a report.");
  std::optional<StoreDurations> durations = compute_store_now(
      store_id, as_of.resolved ? std::optional<TimestampTz>(as_of.value) : std::nullopt,
      GetCurrentTransactionStartTimestamp(), settings.max_extrapolation_us, settings.interpolation,
      caller);
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  if (!durations) return Datum(0);
  auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Datum id = text_datum(store_id);
  pg_call([&] {
    Datum values[kStoreRowColumns];
    bool nulls[kStoreRowColumns] = {};
    values[0] = id;
    for (int w = 0; w < 3; ++w) {
      values[1 + w] = Float8GetDatum(to_report_unit(Window(w), durations->uptime[w]));
      values[4 + w] = Float8GetDatum(to_report_unit(Window(w), durations->downtime[w]));
      values[7 + w] = Float8GetDatum(to_report_unit(Window(w), durations->unknown[w]));
    }
    tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
  });
  return Datum(0);
}

}  // namespace

bool triggered_in_this_transaction(std::string_view report_id) {
  for (const Triggered& triggered : triggered_in_transaction())
    if (triggered.report_id == report_id) return true;
  return false;
}

void resume_orphaned_reports() {
  // On a standby the primary's workers hold the reports, invisibly from here.
  if (RecoveryInProgress()) return;
  bool orphaned = false;
  {
    SpiScope spi;
    orphaned = any_orphaned_report();
  }
  if (orphaned) (void)launch_report_worker(MyDatabaseId);
}

}  // namespace store_monitoring::pg

using store_monitoring::pg::trigger_report;

SM_PG_FUNCTION(store_monitoring_trigger_report, trigger_report)
SM_PG_FUNCTION(store_monitoring_store_report, store_monitoring::pg::store_report)
SM_PG_FUNCTION(store_monitoring_resume_orphaned_reports, [](FunctionCallInfo) {
  store_monitoring::pg::resume_orphaned_reports();
  return Datum(0);
})
