// One report's computation inside the worker's transaction: read the inputs
// in one snapshot as the role that triggered the report, drive the core store
// by store, and write the rows and the Complete status in the same commit.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include <string>

#include "pg/settings.hpp"

namespace store_monitoring::pg {

struct ReportJob {
  std::string report_id;
  Oid owner;
  TimestampTz as_of;
  int64 max_extrapolation_us;
  InterpolationSetting interpolation;
};

// Needs an open transaction, a connected SPI and an active snapshot; throws
// PgError or std::exception on failure (the caller rolls back).
void compute_and_store_report(const ReportJob& job);

// T for report_time = 'latest': the newest poll the owner can see in the
// report's polls relation, or `fallback` when there is none. Same
// preconditions.
TimestampTz resolve_latest_as_of(const ReportJob& job, TimestampTz fallback);

}  // namespace store_monitoring::pg
