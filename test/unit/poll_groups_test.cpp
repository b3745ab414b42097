// PollGroups gives back, per store, exactly the polls added in any order,
// and every store known, in byte order.
#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace
