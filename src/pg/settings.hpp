// The extension's settings (GUCs): definitions and their parsed values.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace store_monitoring::pg {

enum class InterpolationSetting { nearest = 0, previous = 1 };

struct Settings {
  const char* report_time;        // "latest", "now" or a timestamptz literal
  const char* max_extrapolation;  // as written by the user, e.g. "2 hours"
  int64 max_extrapolation_us;     // the same, parsed
  InterpolationSetting interpolation;
  int max_workers;         // per database
  int max_attempts;        // interrupted runs before a report fails
  int debug_worker_delay;  // ms a worker sleeps after claiming (tests only)
  int recovery_interval;   // s between the launcher's recovery rounds
};

// Registers the settings; called from _PG_init.
void define_settings();

// The values in force in this backend.
Settings current_settings();

const char* interpolation_name(InterpolationSetting value);

}  // namespace store_monitoring::pg
