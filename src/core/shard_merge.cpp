#include "shard_merge.hpp"

#include <cmath>
#include <queue>

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

std::size_t merge_shard_streams(std::vector<ShardStream>& shards, ReportEncoder& encoder) {
  std::vector<ShardRow> heads(shards.size());
  // Shard indices, the smallest head on top; of equal heads the first
  // shard's, so that an error names the shards in their order.
  auto later = [&](std::size_t a, std::size_t b) {
    int order = heads[a].store_id.compare(heads[b].store_id);
    return order != 0 ? order > 0 : a > b;
  };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(later)> next(later);
  for (std::size_t s = 0; s < shards.size(); ++s)
    if (shards[s].next(heads[s])) next.push(s);

  std::string previous;  // the store merged last, and whose it was
  std::size_t previous_shard = 0;
  std::size_t merged = 0;
  while (!next.empty()) {
    std::size_t s = next.top();
    next.pop();
    ShardRow& row = heads[s];
    if (merged > 0 && row.store_id == previous)
      throw ShardMergeError("store \"" + row.store_id + "\" is on shard \"" +
                            shards[previous_shard].shard + "\" and on shard \"" + shards[s].shard +
                            "\"; each store must live on exactly one shard");
    StoreDurations d;
    try {
      d = durations_from_report_units(row.values);
    } catch (const std::invalid_argument& e) {
      throw ShardMergeError("shard \"" + shards[s].shard + "\" returned store \"" + row.store_id +
                            "\": " + e.what());
    }
    encoder.add(row.store_id, d);
    previous.assign(row.store_id);
    previous_shard = s;
    ++merged;
    if (!shards[s].next(row)) continue;
    // The shard's previous row is the store just merged.
    if (!(previous < row.store_id))
      throw ShardMergeError("shard \"" + shards[s].shard +
                            "\" returned its stores out of store_id byte order at \"" +
                            row.store_id + "\"");
    next.push(s);
  }
  return merged;
}

}  // namespace store_monitoring
