// Merging the reports of several shards into one: each shard computed its
// own stores; the coordinator pulls their rows, which arrive in store_id byte
// order, one row per shard at a time, and encodes each merged store straight
// into the stored form, so that it holds that form and one row per shard.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "report_codec.hpp"
#include "report_engine.hpp"

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

struct ShardRow {
  std::string store_id;
  ReportUnitValues values{};
};

// One shard's rows, pulled one at a time: `next` overwrites the row with the
// shard's next one and returns true, or returns false once there are no more.
// It may throw (the shard failed); the merge lets that through.
struct ShardStream {
  std::string shard;  // name used in errors
  std::function<bool(ShardRow&)> next;
};

// Thrown when the shards' rows cannot form one report; the message names the
// shards (and the store) concerned.
class ShardMergeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One report from every shard's rows: a k-way merge in store_id byte order,
// each store added to `encoder` as it is merged. A store on two shards, rows
// out of order or values that are not durations throw ShardMergeError.
// Returns the number of stores merged. The stored form renders the CSV from
// the exact durations, as a single node holding every store renders it.
std::size_t merge_shard_streams(std::vector<ShardStream>& shards, ReportEncoder& encoder);

}  // namespace store_monitoring
