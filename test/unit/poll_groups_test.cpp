// PollGroups gives back, per store, exactly the polls added in any order,
// and every store known, in byte order.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "poll_groups.hpp"
#include "test_util.hpp"

namespace {

using namespace store_monitoring;
using sm_test::kMin;
using sm_test::utc;

bool earlier(const Poll& a, const Poll& b) {
  return a.at != b.at ? a.at < b.at : a.status < b.status;
}

TEST(PollGroups, InterleavedStoresComeBackWhole) {
  const Span range{utc(2023, 1, 18), utc(2023, 1, 25) + 1};
  PollGroups groups(range);
  const std::vector<std::string> names = {"s0", "s1", "s2", "s3", "s4", "s5", "s6"};
  std::vector<std::vector<Poll>> expected(7);
  // 100 polls per store (more than one block), stores interleaved, times not
  // in order, both ends of the range.
  for (int i = 0; i < 700; ++i) {
    int store = (i * 3) % 7;
    Micros at = (i % 2) ? range.end - 1 - i * kMin : range.begin + i * kMin;
    Poll poll{at, (i % 3 == 0) ? PollStatus::inactive : PollStatus::active};
    expected[store].push_back(poll);
    groups.add(names[store], poll);
  }
  groups.add_store("no_polls");
  groups.add_store("s3");  // known already: no second entry
  EXPECT_EQ(groups.store_count(), 8U);
  EXPECT_EQ(groups.poll_count(), 700U);
  std::vector<std::string_view> ids = groups.sorted_store_ids();
  std::vector<std::string> got_ids(ids.begin(), ids.end());
  EXPECT_EQ(got_ids,
            (std::vector<std::string>{"no_polls", "s0", "s1", "s2", "s3", "s4", "s5", "s6"}));
  std::vector<Poll> polls;
  for (int store = 0; store < 7; ++store) {
    groups.polls_of(names[store], polls);
    ASSERT_EQ(polls.size(), expected[store].size());
    std::sort(polls.begin(), polls.end(), earlier);
    std::sort(expected[store].begin(), expected[store].end(), earlier);
    for (size_t k = 0; k < polls.size(); ++k) {
      EXPECT_EQ(polls[k].at, expected[store][k].at);
      EXPECT_EQ(polls[k].status, expected[store][k].status);
    }
  }
  groups.polls_of("no_polls", polls);
  EXPECT_TRUE(polls.empty());
  groups.polls_of("unknown", polls);
  EXPECT_TRUE(polls.empty());
}

TEST(PollGroups, ByteOrderAndRangeChecked) {
  const Span range{utc(2023, 1, 18), utc(2023, 1, 19)};
  PollGroups groups(range);
  groups.add_store("\xc3\xa9");  // bytes above 0x7f sort after ASCII
  groups.add_store("z");
  groups.add_store("A");
  std::vector<std::string_view> ids = groups.sorted_store_ids();
  ASSERT_EQ(ids.size(), 3U);
  EXPECT_EQ(ids[0], "A");
  EXPECT_EQ(ids[1], "z");
  EXPECT_EQ(ids[2], "\xc3\xa9");
  EXPECT_THROW(groups.add("z", {range.begin - 1, PollStatus::active}), std::out_of_range);
  EXPECT_THROW(groups.add("z", {range.end, PollStatus::active}), std::out_of_range);
  groups.add("z", {range.end - 1, PollStatus::active});
  EXPECT_EQ(groups.poll_count(), 1U);
}

// Enough stores for the table to grow many times and rows in batches that
// mix known stores, new ones and the same store twice: every poll comes back
// to its own store, against a plain map.
TEST(PollGroups, ManyStoresInRandomOrderMatchAMap) {
  const Span range{utc(2023, 1, 18), utc(2023, 1, 25) + 1};
  PollGroups groups(range);
  std::map<std::string, std::vector<Poll>> expected;
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<Micros> when(range.begin, range.end - 1);
  for (int i = 0; i < 300000; ++i) {
    // ids of varied lengths (1 to 36 bytes), many sharing their first bytes
    const uint64_t n = rng() % 60000;
    std::string id = (n % 3 == 0)   ? std::to_string(1000000000000000000ULL + n * 7919)
                     : (n % 3 == 1) ? "store-" + std::to_string(n) + std::string(n % 20, 'x')
                                    : std::to_string(n);
    if (i % 97 == 0) {
      groups.add_store(id);
      expected[id];
      continue;
    }
    Poll poll{when(rng), (rng() & 1) ? PollStatus::active : PollStatus::inactive};
    groups.add(id, poll);
    expected[id].push_back(poll);
  }
  ASSERT_EQ(groups.store_count(), expected.size());
  std::vector<std::string_view> ids = groups.sorted_store_ids();
  ASSERT_EQ(ids.size(), expected.size());
  size_t k = 0;
  std::vector<Poll> polls;
  for (auto& [id, want] : expected) {
    ASSERT_EQ(ids[k++], id);
    groups.polls_of(id, polls);
    ASSERT_EQ(polls.size(), want.size()) << id;
    for (size_t j = 0; j < polls.size(); ++j) {  // arrival order is kept
      EXPECT_EQ(polls[j].at, want[j].at);
      EXPECT_EQ(polls[j].status, want[j].status);
    }
  }
}

// Groups read by several participants, each over its own share of the rows,
// then handed over to one (in parts, as the read's messages carry them), hold
// what one PollGroups fed every row holds: the same stores, each with the
// same polls (in another order), and stores without polls too.
TEST(PollGroups, PartsHandedOverMergeIntoTheWhole) {
  const Span range{utc(2023, 1, 18), utc(2023, 1, 25) + 1};
  PollGroups whole(range);
  PollGroups merged(range);
  std::vector<PollGroups> parts;
  for (int p = 0; p < 3; ++p) parts.emplace_back(range);
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<Micros> when(range.begin, range.end - 1);
  for (int i = 0; i < 50000; ++i) {
    std::string id = "store-" + std::to_string(rng() % 2000);
    Poll poll{when(rng), (rng() & 1) ? PollStatus::active : PollStatus::inactive};
    whole.add(id, poll);
    (i % 7 == 0 ? merged : parts[rng() % 3]).add(id, poll);  // the receiver reads too
  }
  whole.add_store("only-an-id");
  parts[2].add_store("only-an-id");
  std::vector<uint64_t> packed;
  for (const PollGroups& part : parts)
    for (size_t s = 0; s < part.store_count(); ++s) {
      packed.clear();
      part.packed_polls_at(s, packed);
      // in two parts, the second possibly empty
      const size_t half = packed.size() / 2;
      merged.add_packed(part.store_id_at(s), std::span(packed).first(half));
      merged.add_packed(part.store_id_at(s), std::span(packed).subspan(half));
    }
  EXPECT_EQ(merged.poll_count(), whole.poll_count());
  ASSERT_EQ(merged.sorted_store_ids(), whole.sorted_store_ids());
  std::vector<Poll> got, want;
  for (std::string_view id : whole.sorted_store_ids()) {
    merged.polls_of(id, got);
    whole.polls_of(id, want);
    std::sort(got.begin(), got.end(), earlier);
    std::sort(want.begin(), want.end(), earlier);
    ASSERT_EQ(got.size(), want.size()) << id;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].at, want[k].at);
      EXPECT_EQ(got[k].status, want[k].status);
    }
  }
  const uint64_t outside = static_cast<uint64_t>(range.end - range.begin) << 1;
  EXPECT_THROW(merged.add_packed("x", std::vector<uint64_t>{outside}), std::out_of_range);
  EXPECT_THROW((void)merged.store_id_at(merged.store_count()), std::out_of_range);
}

}  // namespace
