// One report's computation inside the worker's transaction: read the inputs
// in one snapshot as the role that triggered the report, drive the core store
// by store, and write the rows and the Complete status in the same commit.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include <optional>
#include <string>

#include "core/report_pipeline.hpp"
#include "pg/common/settings.hpp"
#include "pg/read/sources.hpp"

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

// The worker's private memory at its largest during one report, in kB (-1
// when the system does not say), from its construction on. Samples of the
// private resident size at the points where the most is held catch what
// stays; the kernel's peak resident size, reset at construction, catches
// short peaks between samples (the row holding the CSV, formed while it is
// written). That peak includes shared memory; less the shared and file pages
// resident at the end (never fewer than at the peak, as they stay mapped),
// it never overstates.
class PeakMemory {
 public:
  PeakMemory();
  void sample();
  int64 largest_kb();

 private:
  bool peak_resettable_ = false;
  int64 largest_ = -1;
};

// Writes a computed report's rows and marks it Complete, in the caller's
// transaction (the one step local and sharded reports share), recording
// what `memory` saw as the worker's peak. Consumes `report` (its memory is
// freed as it is written).
void store_complete_report(const ReportJob& job, ReportOutput& report, PeakMemory& memory);

// Locks the report's row; throws unless it is still Running. Returns the
// sources recorded when the report was triggered.
Sources lock_running_report(Datum report_id);

// Raises a clear error when the role that triggered a report is gone.
void check_owner_exists(Oid owner);

// T for report_time = 'latest': the newest poll the owner can see in the
// report's polls relation, or `fallback` when there is none. Same
// preconditions.
TimestampTz resolve_latest_as_of(const ReportJob& job, TimestampTz fallback);

// The newest poll `role` can see in the polls relation it has configured
// (what 'latest' means for its next report); none when there are no polls.
// Needs a SpiScope that may read the internal tables.
std::optional<TimestampTz> newest_poll_for(Oid role);

}  // namespace store_monitoring::pg
