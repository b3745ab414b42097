// Merging shard reports: exact durations from report units, k-way merge in
// byte order, and the errors that name the shards.
#include "shard_merge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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

// A shard's rows held in vectors, pulled one at a time; `pulled` counts the
// rows handed out.
struct Rows {
  std::string shard;
  std::vector<std::string> store_ids;
  std::vector<ReportUnitValues> values;
  std::size_t pulled = 0;
};

std::vector<ShardStream> streams(std::vector<Rows>& shards) {
  std::vector<ShardStream> result;
  for (Rows& rows : shards)
    result.push_back({rows.shard, [&rows](ShardRow& row) {
                        if (rows.pulled == rows.store_ids.size()) return false;
                        row.store_id = rows.store_ids[rows.pulled];
                        row.values = rows.values[rows.pulled];
                        ++rows.pulled;
                        return true;
                      }});
  return result;
}

std::string merge(std::vector<Rows>& shards) {
  std::vector<ShardStream> pulled = streams(shards);
  ReportEncoder encoder;
  merge_shard_streams(pulled, encoder);
  return encoder.finish();
}

// Stores dealt to three shards at random: the merge equals the report of one
// node holding them all (ids and CSV byte for byte).
TEST(ShardMerge, MergeEqualsOneNode) {
  std::mt19937_64 rng(7);
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back("s" + std::to_string(i * 7919 % 10007));
  ids.push_back("a,b\"c");    // quoted in the CSV
  ids.push_back("\xc3\xa9");  // above every ASCII byte
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<Rows> shards(3);
  for (int s = 0; s < 3; ++s) shards[s].shard = "shard" + std::to_string(s);
  std::vector<StoreDurations> durations;
  for (const std::string& id : ids) {
    StoreDurations d = random_durations(rng);
    durations.push_back(d);
    Rows& shard = shards[rng() % 3];
    shard.store_ids.push_back(id);
    shard.values.push_back(units(d));
  }
  std::string stored = merge(shards);
  EXPECT_EQ(stored, encode_report(ids, durations));
  StoredReport decoded = decode_report(stored);
  EXPECT_EQ(decoded.store_ids, ids);
  std::string one_node(csv_header());
  one_node.push_back('\n');
  for (std::size_t i = 0; i < ids.size(); ++i) append_csv_row(one_node, ids[i], durations[i]);
  EXPECT_EQ(render_csv(stored), one_node);
}

// The merge streams: a shard's next row is pulled only once its previous row
// is encoded, so the merge holds at most one row per shard, and the encoder
// has every store pulled but those.
TEST(ShardMerge, HoldsOneRowPerShard) {
  std::vector<Rows> shards(4);
  for (int i = 0; i < 4000; ++i) {
    Rows& shard = shards[(i * 7) % 13 % 4];
    char id[16];
    snprintf(id, sizeof(id), "%06d", i);
    shard.store_ids.push_back(id);
    shard.values.push_back({});
  }
  for (int s = 0; s < 4; ++s) shards[s].shard = "shard" + std::to_string(s);
  std::vector<ShardStream> pulled = streams(shards);
  ReportEncoder encoder;
  std::size_t most_held = 0;
  for (ShardStream& stream : pulled)
    stream.next = [&encoder, &shards, &most_held, next = stream.next](ShardRow& row) {
      std::size_t total = 0;
      for (const Rows& rows : shards) total += rows.pulled;
      most_held = std::max(most_held, total - encoder.store_count());
      return next(row);
    };
  EXPECT_EQ(merge_shard_streams(pulled, encoder), 4000u);
  EXPECT_LE(most_held, shards.size());
  EXPECT_EQ(encoder.store_count(), 4000u);
}

TEST(ShardMerge, NoShardsOrEmptyShardsGiveTheHeaderOnly) {
  std::vector<Rows> shards(2);
  shards[0].shard = "a";
  shards[1].shard = "b";
  std::string stored = merge(shards);
  EXPECT_TRUE(decode_report(stored).store_ids.empty());
  EXPECT_EQ(render_csv(stored), std::string(csv_header()) + "\n");
  std::vector<Rows> none;
  EXPECT_EQ(merge(none), stored);
}

std::string merge_error(std::vector<Rows>& shards) {
  try {
    merge(shards);
  } catch (const ShardMergeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ShardMergeError";
  return "";
}

TEST(ShardMerge, AStoreOnTwoShardsNamesTheStoreAndBothShards) {
  std::vector<Rows> shards(2);
  shards[0] = {"east", {"a", "dup", "z"}, {{}, {}, {}}};
  shards[1] = {"west", {"b", "dup"}, {{}, {}}};
  EXPECT_EQ(merge_error(shards),
            "store \"dup\" is on shard \"east\" and on shard \"west\"; each store must live on "
            "exactly one shard");
}

TEST(ShardMerge, RowsOutOfOrderOrBadValuesNameTheShard) {
  std::vector<Rows> shards(1);
  shards[0] = {"east", {"b", "a"}, {{}, {}}};
  EXPECT_EQ(merge_error(shards),
            "shard \"east\" returned its stores out of store_id byte order at \"a\"");
  shards[0] = {"east", {"a", "a"}, {{}, {}}};
  EXPECT_NE(merge_error(shards).find("out of store_id byte order"), std::string::npos);
  shards[0] = {"east", {"a"}, {{-1, 0, 0, 0, 0, 0}}};
  EXPECT_NE(merge_error(shards).find("shard \"east\" returned store \"a\""), std::string::npos);
}

// What a stream throws (its shard failed) ends the merge as it is.
TEST(ShardMerge, AStreamsErrorPassesThrough) {
  std::vector<ShardStream> failing(1);
  failing[0] = {"east", [](ShardRow&) -> bool { throw std::runtime_error("lost"); }};
  ReportEncoder encoder;
  EXPECT_THROW(merge_shard_streams(failing, encoder), std::runtime_error);
}

}  // namespace
