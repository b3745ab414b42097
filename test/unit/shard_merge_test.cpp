// Merging shard reports: exact durations from report units, k-way merge in
// byte order, and the errors that name the shards.
#include "shard_merge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>

namespace {

using namespace store_monitoring;

ReportUnitValues units(const StoreDurations& d) {
  ReportUnitValues v{};
  for (int w = 0; w < 3; ++w) {
    v[w] = to_report_unit(Window(w), d.uptime[w]);
    v[3 + w] = to_report_unit(Window(w), d.downtime[w]);
    v[6 + w] = to_report_unit(Window(w), d.unknown[w]);
  }
  return v;
}

StoreDurations random_durations(std::mt19937_64& rng) {
  StoreDurations d;
  for (int w = 0; w < 3; ++w) {
    std::uniform_int_distribution<Micros> any(0, kWindowLength[w]);
    d.uptime[w] = any(rng);
    d.downtime[w] = any(rng);
    d.unknown[w] = std::uniform_int_distribution<Micros>(0, d.downtime[w])(rng);
  }
  return d;
}

TEST(ShardMerge, ReportUnitsGiveBackTheExactMicroseconds) {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 200000; ++i) {
    StoreDurations d = random_durations(rng);
    EXPECT_EQ(durations_from_report_units(units(d)), d);
  }
  StoreDurations edges;
  for (int w = 0; w < 3; ++w) {
    edges.uptime[w] = kWindowLength[w];
    edges.downtime[w] = kWindowLength[w] - 1;
    edges.unknown[w] = kWindowLength[w] - 1;
  }
  EXPECT_EQ(durations_from_report_units(units(edges)), edges);
}

TEST(ShardMerge, RefusesValuesThatAreNotDurations) {
  ReportUnitValues v{};
  v[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(durations_from_report_units(v), std::invalid_argument);
  v[0] = -0.5;
  EXPECT_THROW(durations_from_report_units(v), std::invalid_argument);
  v[0] = 60.0001;  // more than an hour in minutes
  EXPECT_THROW(durations_from_report_units(v), std::invalid_argument);
  v[0] = 60;
  EXPECT_NO_THROW(durations_from_report_units(v));
}

// Stores dealt to three shards at random: the merge equals the report of one
// node holding them all (ids and CSV byte for byte).
TEST(ShardMerge, MergeEqualsOneNode) {
  std::mt19937_64 rng(7);
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back("s" + std::to_string(i * 7919 % 10007));
  ids.push_back("a,b\"c");  // quoted in the CSV
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<ShardRows> shards(3);
  for (int s = 0; s < 3; ++s) shards[s].shard = "shard" + std::to_string(s);
  std::string one_node(csv_header());
  one_node.push_back('\n');
  for (const std::string& id : ids) {
    StoreDurations d = random_durations(rng);
    append_csv_row(one_node, id, d);
    ShardRows& shard = shards[rng() % 3];
    shard.store_ids.push_back(id);
    shard.values.push_back(units(d));
  }
  ReportOutput merged = merge_shard_rows(shards);
  EXPECT_EQ(merged.store_ids, ids);
  EXPECT_EQ(merged.csv, one_node);
}

TEST(ShardMerge, NoShardsOrEmptyShardsGiveTheHeaderOnly) {
  std::vector<ShardRows> shards(2);
  shards[0].shard = "a";
  shards[1].shard = "b";
  ReportOutput merged = merge_shard_rows(shards);
  EXPECT_TRUE(merged.store_ids.empty());
  EXPECT_EQ(merged.csv, std::string(csv_header()) + "\n");
}

TEST(ShardMerge, AStoreOnTwoShardsNamesTheStoreAndBothShards) {
  std::vector<ShardRows> shards(2);
  shards[0] = {"east", {"a", "dup", "z"}, {{}, {}, {}}};
  shards[1] = {"west", {"b", "dup"}, {{}, {}}};
  try {
    merge_shard_rows(shards);
    FAIL() << "expected ShardMergeError";
  } catch (const ShardMergeError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("\"dup\""), std::string::npos) << message;
    EXPECT_NE(message.find("\"east\""), std::string::npos) << message;
    EXPECT_NE(message.find("\"west\""), std::string::npos) << message;
  }
}

TEST(ShardMerge, RowsOutOfOrderOrBadValuesNameTheShard) {
  std::vector<ShardRows> shards(1);
  shards[0] = {"east", {"b", "a"}, {{}, {}}};
  EXPECT_THROW(merge_shard_rows(shards), ShardMergeError);
  shards[0] = {"east", {"a"}, {{-1, 0, 0, 0, 0, 0}}};
  try {
    merge_shard_rows(shards);
    FAIL() << "expected ShardMergeError";
  } catch (const ShardMergeError& e) {
    EXPECT_NE(std::string(e.what()).find("\"east\""), std::string::npos) << e.what();
  }
}

}  // namespace
