#include "pg/common/settings.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
}

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr int64 kMaxExtrapolationLimit = 7 * USECS_PER_DAY;

char* report_time = nullptr;
char* max_extrapolation = nullptr;
int64 max_extrapolation_us = 2 * USECS_PER_HOUR;
int interpolation = static_cast<int>(InterpolationSetting::nearest);
int max_workers = 2;
int max_attempts = 3;
int debug_worker_delay = 0;
int debug_pause_point = static_cast<int>(PausePoint::claimed);
int recovery_interval = 30;
int report_timeout = 60 * 60 * 1000;  // ms; 0: none
int range_read_memory = 64 * 1024;    // kB
int shard_timeout = 10 * 60 * 1000;   // ms
int max_queued_per_role = 100;
int max_stored_per_role = 1024 * 1024;  // kB; 0: none
char* report_retention = nullptr;
int64 report_retention_us = 0;
char* compact_after = nullptr;
int64 compact_after_us = 0;
char* poll_retention = nullptr;
int64 poll_retention_us = 0;

const struct config_enum_entry kPausePointOptions[] = {
    {"claimed", static_cast<int>(PausePoint::claimed), false},
    {"reading", static_cast<int>(PausePoint::reading), false},
    {"writing", static_cast<int>(PausePoint::writing), false},
    {"committing", static_cast<int>(PausePoint::committing), false},
    {nullptr, 0, false}};

const struct config_enum_entry kInterpolationOptions[] = {
    {"nearest", static_cast<int>(InterpolationSetting::nearest), false},
    {"previous", static_cast<int>(InterpolationSetting::previous), false},
    {nullptr, 0, false}};

bool equals_ignoring_case(const char* a, const char* b) noexcept {
  return pg_strcasecmp(a, b) == 0;
}

// A value set for one of our settings before the library was loaded, and how
// it was set: what PostgreSQL needs to check it again.
struct EarlyValue {
  std::string name;
  std::string value;
  GucContext context;
  GucSource source;
  Oid role;
};

// The early values PostgreSQL refused when the library loaded, while they
// are in force (see forget_refused).
std::vector<EarlyValue>& refused_at_load() {
  static std::vector<EarlyValue> values;
  return values;
}

// The settings define_settings defines. Unknown store_monitoring.* names are
// left to PostgreSQL, which warns and removes them at load (the prefix is
// reserved): refusing them here could never be undone, since SET of such a
// name is an error from then on.
constexpr const char* kSettingNames[] = {
    "store_monitoring.report_time",         "store_monitoring.max_extrapolation",
    "store_monitoring.interpolation",       "store_monitoring.max_workers",
    "store_monitoring.max_attempts",        "store_monitoring.recovery_interval",
    "store_monitoring.debug_worker_delay",  "store_monitoring.debug_pause_point",
    "store_monitoring.report_timeout",      "store_monitoring.shard_timeout",
    "store_monitoring.report_retention",    "store_monitoring.range_read_memory",
    "store_monitoring.max_queued_per_role", "store_monitoring.max_stored_per_role",
    "store_monitoring.compact_after",       "store_monitoring.poll_retention"};

bool is_setting_name(const char* name) {
  for (const char* known : kSettingNames)
    if (equals_ignoring_case(known, name)) return true;
  return false;
}

// The placeholders PostgreSQL created for our settings before the library
// was loaded. Reads guc.c's table (from 16 through a palloc'd list of it).
std::vector<EarlyValue> early_values() {
  std::vector<EarlyValue> values;
  int count = 0;
  config_generic** variables = pg_call([&] { return compat::guc_variables(&count); });
  for (int i = 0; i < count; ++i) {
    config_generic* variable = variables[i];
    if ((variable->flags & GUC_CUSTOM_PLACEHOLDER) == 0 || !is_setting_name(variable->name))
      continue;
    // Placeholders are string variables; one never set (or RESET) has no value.
    const char* value = *reinterpret_cast<config_string*>(variable)->variable;
    if (value == nullptr || variable->source == PGC_S_DEFAULT) continue;
    values.push_back(
        {variable->name, value, variable->scontext, variable->source, variable->srole});
  }
  return values;
}

// Checks `early` as guc.c does when it applies the value, reporting at
// `elevel`; false when refused. changeVal = false: nothing is set.
bool accepted(const EarlyValue& early, int elevel) {
  return pg_call([&] {
    return set_config_option_ext(early.name.c_str(), early.value.c_str(), early.context,
                                 early.source, early.role, GUC_ACTION_SET, false, elevel,
                                 false) > 0;
  });
}

// Assign hook of every setting: once a setting is assigned again (SET, RESET,
// a reload, the end of a SET LOCAL), the refused early value is no longer the
// one the user last asked for. Called from C: must not throw (erasing moves
// strings, which does not allocate).
void forget_refused(const char* name) noexcept {
  std::erase_if(refused_at_load(),
                [&](const EarlyValue& v) { return equals_ignoring_case(v.name.c_str(), name); });
}

// A setting's name as a template argument, so that each setting gets an
// assign hook of its own.
template <size_t N>
struct SettingName {
  char text[N];
  constexpr SettingName(const char (&name)[N]) { std::copy_n(name, N, text); }
};

// The assign hook of a setting that needs nothing else on assignment.
template <SettingName name, typename Value>
void forget(Value, void*) noexcept {
  forget_refused(name.text);
}

// Datetime parsing that reports failure instead of raising: check hooks also
// run in the postmaster on reload, where an ERROR is not an option.
bool parse_interval_us(const char* text, int64* out) noexcept {
  char workbuf[256];
  char* fields[MAXDATEFIELDS];
  int field_types[MAXDATEFIELDS];
  int field_count = 0;
  int dtype = 0;
  pg_itm_in parsed{};
  if (std::strlen(text) >= sizeof(workbuf)) return false;
  int err = ParseDateTime(text, workbuf, sizeof(workbuf), fields, field_types, MAXDATEFIELDS,
                          &field_count);
  if (err == 0)
    err = DecodeInterval(fields, field_types, field_count, INTERVAL_FULL_RANGE, &dtype, &parsed);
  if (err != 0) {
    char copy[256];
    strlcpy(copy, text, sizeof(copy));
    parsed = pg_itm_in{};
    err = DecodeISO8601Interval(copy, &dtype, &parsed);
  }
  if (err != 0 || dtype != DTK_DELTA) return false;
  if (parsed.tm_mon != 0 || parsed.tm_year != 0) return false;  // months vary in length
  int64 days_us = static_cast<int64>(parsed.tm_mday) * USECS_PER_DAY;
  int64 total = 0;
  if (__builtin_add_overflow(parsed.tm_usec, days_us, &total)) return false;
  *out = total;
  return true;
}

// Hands a parsed interval to the assign hook (the GUC machinery releases
// extra with free()).
bool pass_interval(int64 value, void** extra) noexcept {
  auto* parsed = static_cast<int64*>(malloc(sizeof(int64)));
  if (parsed == nullptr) return false;
  *parsed = value;
  *extra = parsed;
  return true;
}

bool check_max_extrapolation(char** newval, void** extra, GucSource) noexcept {
  int64 value = 0;
  if (!parse_interval_us(*newval, &value)) {
    GUC_check_errdetail(
        "\"%s\" is not an interval of fixed length such as \"2 hours\" or \"90 min\".", *newval);
    return false;
  }
  if (value < 0 || value > kMaxExtrapolationLimit) {
    GUC_check_errdetail("The maximum extrapolation must be between 0 and 7 days.");
    return false;
  }
  return pass_interval(value, extra);
}

void assign_max_extrapolation(const char*, void* extra) noexcept {
  if (extra != nullptr) max_extrapolation_us = *static_cast<int64*>(extra);
  forget_refused("store_monitoring.max_extrapolation");
}

// Empty: keep every report. Otherwise a positive interval of fixed length.
bool check_report_retention(char** newval, void** extra, GucSource) noexcept {
  int64 value = 0;
  if (**newval != '\0') {
    if (!parse_interval_us(*newval, &value) || value <= 0) {
      GUC_check_errdetail(
          "\"%s\" is not a positive interval of fixed length such as \"30 days\"; use an empty "
          "string to keep every report.",
          *newval);
      return false;
    }
  }
  return pass_interval(value, extra);
}

void assign_report_retention(const char*, void* extra) noexcept {
  if (extra != nullptr) report_retention_us = *static_cast<int64*>(extra);
  forget_refused("store_monitoring.report_retention");
}

// compact_after and poll_retention: empty (off), or a positive interval of
// fixed length, as report_retention.
bool check_poll_interval(char** newval, void** extra, GucSource) noexcept {
  int64 value = 0;
  if (**newval != '\0') {
    if (!parse_interval_us(*newval, &value) || value <= 0) {
      GUC_check_errdetail(
          "\"%s\" is not a positive interval of fixed length such as \"2 days\"; use an empty "
          "string to turn it off.",
          *newval);
      return false;
    }
  }
  return pass_interval(value, extra);
}

void assign_compact_after(const char*, void* extra) noexcept {
  if (extra != nullptr) compact_after_us = *static_cast<int64*>(extra);
  forget_refused("store_monitoring.compact_after");
}

void assign_poll_retention(const char*, void* extra) noexcept {
  if (extra != nullptr) poll_retention_us = *static_cast<int64*>(extra);
  forget_refused("store_monitoring.poll_retention");
}

bool check_report_time(char** newval, void**, GucSource) noexcept {
  const char* value = *newval;
  if (equals_ignoring_case(value, "latest") || equals_ignoring_case(value, "now")) return true;
  char workbuf[MAXDATELEN + MAXDATEFIELDS];
  char* fields[MAXDATEFIELDS];
  int field_types[MAXDATEFIELDS];
  int field_count = 0;
  int dtype = 0;
  pg_tm tm{};
  fsec_t fsec = 0;
  int tz = 0;
  bool ok =
      std::strlen(value) < sizeof(workbuf) &&
      ParseDateTime(value, workbuf, sizeof(workbuf), fields, field_types, MAXDATEFIELDS,
                    &field_count) == 0 &&
      compat::decode_date_time(fields, field_types, field_count, &dtype, &tm, &fsec, &tz) == 0 &&
      dtype == DTK_DATE;
  if (!ok) {
    GUC_check_errdetail(
        "Use \"latest\" (newest poll), \"now\" (time of the trigger) or a finite timestamp with "
        "time zone.");
    return false;
  }
  return true;
}

}  // namespace

void define_settings() {
  // Only a backend's own session can have set values early; the postmaster
  // (shared_preload_libraries) reads postgresql.conf, whose refused values
  // it logs.
  std::vector<EarlyValue> early;
  if (IsUnderPostmaster) {
    try {
      early = early_values();
    } catch (const std::bad_alloc&) {
      // A PgError propagates (no abort would follow here).
      early.clear();  // nothing remembered: PostgreSQL's warnings stand
    }
  }
  // No C++ object lives in this frame: a definition may raise.
  pg_call([] {
    DefineCustomStringVariable(
        "store_monitoring.report_time",
        "Instant T a report is computed for: latest, now, or a timestamp with time zone.",
        "latest is the newest poll (now when there are no polls); now is the time of the "
        "transaction that triggers the report.",
        &report_time, "latest", PGC_USERSET, 0, check_report_time,
        forget<"store_monitoring.report_time", const char*>, nullptr);
    DefineCustomStringVariable(
        "store_monitoring.max_extrapolation",
        "How far from a poll its status is assumed to hold (H).",
        "An interval of fixed length between 0 and 7 days; open time farther from every poll is "
        "unknown and counts as downtime.",
        &max_extrapolation, "2 hours", PGC_USERSET, 0, check_max_extrapolation,
        assign_max_extrapolation, nullptr);
    DefineCustomEnumVariable(
        "store_monitoring.interpolation", "How the status between polls is estimated.",
        "nearest: the status of the nearest poll; previous: the status of the latest earlier poll.",
        &interpolation, static_cast<int>(InterpolationSetting::nearest), kInterpolationOptions,
        PGC_USERSET, 0, nullptr, forget<"store_monitoring.interpolation", int>, nullptr);
    DefineCustomIntVariable(
        "store_monitoring.max_workers", "Maximum number of report workers per database.",
        "Reports beyond this wait in the queue (phase 'queued').", &max_workers, 2, 1, 64,
        PGC_SIGHUP, 0, nullptr, forget<"store_monitoring.max_workers", int>, nullptr);
    DefineCustomIntVariable("store_monitoring.max_attempts",
                            "Interrupted runs of a report before it is marked Failed.", nullptr,
                            &max_attempts, 3, 1, 100, PGC_SIGHUP, 0, nullptr,
                            forget<"store_monitoring.max_attempts", int>, nullptr);
    DefineCustomIntVariable("store_monitoring.recovery_interval",
                            "Seconds between the launcher's checks for reports without a worker.",
                            "Used only with shared_preload_libraries = 'store_monitoring'.",
                            &recovery_interval, 30, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr,
                            forget<"store_monitoring.recovery_interval", int>, nullptr);
    DefineCustomIntVariable(
        "store_monitoring.report_timeout",
        "Longest time a report's worker may spend reading and computing one report.",
        "A report that takes longer ends Failed, freeing its worker: a source whose functions "
        "sleep or wait on a lock cannot hold a worker for ever. 0 means no limit.",
        &report_timeout, 60 * 60 * 1000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
        forget<"store_monitoring.report_timeout", int>, nullptr);
    DefineCustomIntVariable(
        "store_monitoring.range_read_memory",
        "Most memory a report's worker may use to hold the polls of its evidence range.",
        "A report reads only the polls of its evidence range, in the order they lie on disk, "
        "holding them (8 bytes each) until the read ends. When they would need more, the default "
        "polls table is read store by store instead: memory then follows the stores alone, but "
        "the read covers every poll stored. 0 always reads store by store.",
        &range_read_memory, 64 * 1024, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_KB, nullptr,
        forget<"store_monitoring.range_read_memory", int>, nullptr);
    DefineCustomIntVariable("store_monitoring.debug_worker_delay",
                            "Testing aid: a worker sleeps this long after claiming a report.",
                            nullptr, &debug_worker_delay, 0, 0, 3600 * 1000, PGC_SUSET,
                            GUC_UNIT_MS | GUC_NOT_IN_SAMPLE, nullptr,
                            forget<"store_monitoring.debug_worker_delay", int>, nullptr);
    DefineCustomEnumVariable("store_monitoring.debug_pause_point",
                             "Testing aid: where a worker sleeps for debug_worker_delay.",
                             "claimed, reading (snapshot taken), writing (computed), committing.",
                             &debug_pause_point, static_cast<int>(PausePoint::claimed),
                             kPausePointOptions, PGC_SUSET, GUC_NOT_IN_SAMPLE, nullptr,
                             forget<"store_monitoring.debug_pause_point", int>, nullptr);
    DefineCustomIntVariable(
        "store_monitoring.shard_timeout",
        "How long a report across shards waits for its shards, from connecting to the last row.",
        "A shard that has not answered by then fails the report, naming the shard.", &shard_timeout,
        10 * 60 * 1000, 1, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    // Superusers only: workers apply it to every role's reports. Read by the
    // workers from the server configuration or ALTER DATABASE ... SET.
    DefineCustomStringVariable(
        "store_monitoring.report_retention",
        "Finished reports older than this are deleted by the workers after each report.",
        "An interval of fixed length such as \"30 days\", counted from a report's finished_at; "
        "empty (the default) keeps every report.",
        &report_retention, "", PGC_SUSET, 0, check_report_retention, assign_report_retention,
        nullptr);
    // Superusers only: compaction moves every role's polls, retention
    // removes them.
    DefineCustomStringVariable(
        "store_monitoring.compact_after",
        "The workers seal the polls of UTC days that ended this long ago, after each report.",
        "An interval of fixed length such as \"2 days\"; empty (the default) leaves "
        "compaction to store_monitoring.compact_polls().",
        &compact_after, "", PGC_SUSET, 0, check_poll_interval, assign_compact_after, nullptr);
    DefineCustomStringVariable(
        "store_monitoring.poll_retention",
        "Every compaction removes the sealed days that ended this long before the newest poll.",
        "An interval of fixed length such as \"400 days\"; empty (the default) keeps every "
        "poll.",
        &poll_retention, "", PGC_SUSET, 0, check_poll_interval, assign_poll_retention, nullptr);
    // Superusers only, so that a role cannot raise its own limit; a superuser
    // may lower it for one role with ALTER ROLE ... SET.
    DefineCustomIntVariable("store_monitoring.max_queued_per_role",
                            "Most reports one role may have Running (queued or computing) at once.",
                            "trigger_report() refuses a report beyond it. 0 means no limit.",
                            &max_queued_per_role, 100, 0, INT_MAX, PGC_SUSET, 0, nullptr,
                            forget<"store_monitoring.max_queued_per_role", int>, nullptr);
    DefineCustomIntVariable(
        "store_monitoring.max_stored_per_role",
        "Most space the stored results of one role's reports may take.",
        "trigger_report() refuses a report once the role's stored results reach it, and a report "
        "whose results would take the role beyond it ends Failed instead of being stored. The "
        "workers enforce the value of the server configuration or ALTER DATABASE ... SET. 0 "
        "means no limit.",
        &max_stored_per_role, 1024 * 1024, 0, INT_MAX, PGC_SUSET, GUC_UNIT_KB, nullptr,
        forget<"store_monitoring.max_stored_per_role", int>, nullptr);
    MarkGUCPrefixReserved("store_monitoring");
  });
  // PostgreSQL has applied the early values, warning about and skipping
  // those it refused. Remember those, checked again the same way.
  // A value refused at DEBUG5 returns false; a PostgreSQL error (out of
  // memory) propagates to _PG_init's pg_entry, since no abort would follow
  // a catch here.
  for (EarlyValue& value : early) {
    bool ok = accepted(value, DEBUG5);
    try {
      if (!ok) refused_at_load().push_back(std::move(value));
    } catch (const std::bad_alloc&) {
      return;  // PostgreSQL's warning stands
    }
  }
}

void refuse_settings_refused_at_load(std::initializer_list<const char*> replaced) {
  // A copy: the error path must not run while iterating over the list.
  std::vector<EarlyValue> refused = refused_at_load();
  for (const EarlyValue& value : refused) {
    bool is_replaced = false;
    for (const char* name : replaced)
      if (name != nullptr && equals_ignoring_case(value.name.c_str(), name)) is_replaced = true;
    if (!is_replaced) (void)accepted(value, ERROR);
  }
}

Settings current_settings() {
  return Settings{report_time,
                  max_extrapolation_us,
                  static_cast<InterpolationSetting>(interpolation),
                  max_workers,
                  max_attempts,
                  debug_worker_delay,
                  recovery_interval,
                  static_cast<PausePoint>(debug_pause_point),
                  report_timeout,
                  report_retention_us,
                  range_read_memory,
                  max_queued_per_role,
                  max_stored_per_role,
                  shard_timeout,
                  compact_after_us,
                  poll_retention_us};
}

const char* interpolation_name(InterpolationSetting value) {
  return value == InterpolationSetting::previous ? "previous" : "nearest";
}

// ---------------------------------------------------------------------------
// Settings given as trigger_report's arguments

namespace {

// Checks `value` with the setting's own checks (its check hook or enum
// values) and raises the error SET would raise; changes nothing
// (changeVal = false).
void check_as_setting(const char* name, const char* value) {
  pg_call([&] {
    (void)set_config_option_ext(name, value, PGC_USERSET, PGC_S_SESSION, GetUserId(),
                                GUC_ACTION_SET, false, ERROR, false);
  });
}

}  // namespace

int64 max_extrapolation_argument(const char* value) {
  check_as_setting("store_monitoring.max_extrapolation", value);
  int64 parsed = 0;
  if (!parse_interval_us(value, &parsed))  // the check above parsed it already
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "max_extrapolation is not an interval");
  return parsed;
}

InterpolationSetting interpolation_argument(const char* value) {
  check_as_setting("store_monitoring.interpolation", value);
  // An enum setting takes its names in any case.
  return equals_ignoring_case(value, "previous") ? InterpolationSetting::previous
                                                 : InterpolationSetting::nearest;
}

void check_report_time_argument(const char* value) {
  check_as_setting("store_monitoring.report_time", value);
}

}  // namespace store_monitoring::pg
