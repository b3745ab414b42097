// The extension's settings (GUCs): definitions and their parsed values.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include <initializer_list>

namespace store_monitoring::pg {

enum class InterpolationSetting { nearest = 0, previous = 1 };

// Testing aid: where a worker sleeps for debug_worker_delay, so that tests can
// kill it at a chosen point of a report.
enum class PausePoint {
  claimed = 0,     // after claiming, before the computing transaction
  reading = 1,     // in the computing transaction, snapshot taken, inputs unread
  writing = 2,     // inputs read and computed, rows not yet written
  committing = 3,  // rows written and status Complete, not yet committed
};

struct Settings {
  const char* report_time;     // "latest", "now" or a timestamptz literal
  int64 max_extrapolation_us;  // store_monitoring.max_extrapolation, parsed
  InterpolationSetting interpolation;
  int max_workers;         // per database
  int max_attempts;        // interrupted runs before a report fails
  int debug_worker_delay;  // ms a worker sleeps at debug_pause_point (tests only)
  int recovery_interval;   // s between the launcher's recovery rounds
  PausePoint debug_pause_point;
  int report_timeout_ms;       // longest a report may compute; 0: no limit
  int64 report_retention_us;   // finished reports older than this are deleted; 0: kept
  int range_read_memory_kb;    // most memory for the polls of a range read
  int max_queued_per_role;     // Running reports one role may have; 0: no limit
  int max_stored_kb_per_role;  // kB of stored results one role may hold; 0: no limit
  int shard_timeout_ms;        // longest a coordinator waits for its shards
  int64 compact_after_us;      // workers seal days ended this long ago; 0: they do not
  int64 poll_retention_us;     // sealed days this far before the newest poll go; 0: kept
};

// Registers the settings; called from _PG_init. A value set before the
// library was loaded (a placeholder: SET in the session, ALTER ROLE ... SET,
// postgresql.conf) that the settings refuse is only warned about by
// PostgreSQL, which then uses the default; define_settings remembers it.
void define_settings();

// Raises the error PostgreSQL gives for the first such remembered value still
// in force (not replaced since by a SET, RESET or reload of that setting):
// the same error a SET gives once the library is loaded. Called before a
// report is triggered, so that a report never silently uses a default.
// `replaced`: settings the call gives as arguments instead (nullptr: none),
// whose refused values do not matter to it.
void refuse_settings_refused_at_load(std::initializer_list<const char*> replaced = {});

// The values in force in this backend.
Settings current_settings();

const char* interpolation_name(InterpolationSetting value);

// A setting's value given as an argument of trigger_report instead: checked
// exactly as the setting checks a SET (same errors), without changing the
// setting; returns the value parsed.
int64 max_extrapolation_argument(const char* value);
InterpolationSetting interpolation_argument(const char* value);
void check_report_time_argument(const char* value);

}  // namespace store_monitoring::pg
