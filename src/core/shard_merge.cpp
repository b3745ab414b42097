#include "shard_merge.hpp"

#include <cmath>
#include <functional>
#include <queue>
#include <utility>

namespace store_monitoring {
namespace {

constexpr std::array<Micros, 3> kUnit = {kMicrosPerMinute, kMicrosPerHour, kMicrosPerHour};

Micros to_micros(double value, Window window) {
  if (!std::isfinite(value)) throw std::invalid_argument("a value is not a finite number");
  double scaled = std::round(value * static_cast<double>(kUnit[window]));
  if (scaled < 0 || scaled > static_cast<double>(kWindowLength[window]))
    throw std::invalid_argument("a value lies outside its window");
  return static_cast<Micros>(scaled);
}

}  // namespace

StoreDurations durations_from_report_units(const ReportUnitValues& values) {
  StoreDurations d;
  for (int w = 0; w < 3; ++w) {
    d.uptime[w] = to_micros(values[w], Window(w));
    d.downtime[w] = to_micros(values[3 + w], Window(w));
    d.unknown[w] = to_micros(values[6 + w], Window(w));
  }
  return d;
}

ReportOutput merge_shard_rows(const std::vector<ShardRows>& shards) {
  size_t total = 0;
  for (const ShardRows& shard : shards) {
    if (shard.store_ids.size() != shard.values.size())
      throw ShardMergeError("shard \"" + shard.shard + "\" returned mismatched rows");
    for (size_t i = 1; i < shard.store_ids.size(); ++i)
      if (!(shard.store_ids[i - 1] < shard.store_ids[i]))
        throw ShardMergeError("shard \"" + shard.shard +
                              "\" returned its stores out of store_id byte order at \"" +
                              shard.store_ids[i] + "\"");
    total += shard.store_ids.size();
  }
  ReportOutput out;
  out.store_ids.reserve(total);
  out.durations.reserve(total);
  out.csv.append(csv_header());
  out.csv.push_back('\n');

  // (shard index, row index): the smallest store id on top.
  using Cursor = std::pair<size_t, size_t>;
  auto later = [&](const Cursor& a, const Cursor& b) {
    return shards[a.first].store_ids[a.second] > shards[b.first].store_ids[b.second];
  };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(later)> heads(later);
  for (size_t s = 0; s < shards.size(); ++s)
    if (!shards[s].store_ids.empty()) heads.push({s, 0});
  size_t previous_shard = 0;
  while (!heads.empty()) {
    auto [s, i] = heads.top();
    heads.pop();
    const std::string& store_id = shards[s].store_ids[i];
    if (!out.store_ids.empty() && out.store_ids.back() == store_id)
      throw ShardMergeError("store \"" + store_id + "\" is on shard \"" +
                            shards[previous_shard].shard + "\" and on shard \"" + shards[s].shard +
                            "\"; each store must live on exactly one shard");
    StoreDurations d;
    try {
      d = durations_from_report_units(shards[s].values[i]);
    } catch (const std::invalid_argument& e) {
      throw ShardMergeError("shard \"" + shards[s].shard + "\" returned store \"" + store_id +
                            "\": " + e.what());
    }
    append_csv_row(out.csv, store_id, d);
    out.store_ids.push_back(store_id);
    out.durations.push_back(d);
    previous_shard = s;
    if (i + 1 < shards[s].store_ids.size()) heads.push({s, i + 1});
  }
  return out;
}

}  // namespace store_monitoring
