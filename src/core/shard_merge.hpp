// Merging the reports of several shards into one: each shard
// computed its own stores; the coordinator joins their rows, which arrive in
// store_id byte order, and renders the one CSV a single node would have.
#pragma once

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "report_engine.hpp"
#include "report_pipeline.hpp"

namespace store_monitoring {

// A store's nine values as report_rows() returns them: uptime for the last
// hour (minutes), day and week (hours), then downtime, then unknown time, in
// the same units.
using ReportUnitValues = std::array<double, 9>;

// The exact durations behind report-unit values. A value is an integer count
// of microseconds divided by 60e6 or 3600e6 and rounded to a double; within a
// week that count is below 2^40, so multiplying back and rounding recovers it
// exactly. Throws std::invalid_argument for a value that is not finite or
// lies outside [0, window length] (a shard's row is input like any other).
StoreDurations durations_from_report_units(const ReportUnitValues& values);

struct ShardRows {
  std::string shard;  // name used in errors
  std::vector<std::string> store_ids;
  std::vector<ReportUnitValues> values;  // same length as store_ids
};

// Thrown when the shards' rows cannot form one report; the message names the
// shards (and the store) concerned.
class ShardMergeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One report from every shard's rows: a k-way merge in store_id byte order.
// A store on two shards, rows out of order or values that are not durations
// throw ShardMergeError. The CSV is rendered from the exact durations, as a
// single node holding every store renders it.
ReportOutput merge_shard_rows(const std::vector<ShardRows>& shards);

}  // namespace store_monitoring
