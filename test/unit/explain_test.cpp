// ReportEngine::explain_store on hand-checked stores; the property test
// (property_test.cpp) checks it against compute_store on generated ones.
#include "report_engine.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace store_monitoring;
using namespace sm_test;

// The worked example: UTC, Mondays 09:00-12:00, polls Monday 2023-01-23
// 10:14 active and 11:15 inactive, T = 12:00. The week starts at the
// previous Monday's closing time, so: closed until 09:00, up until the
// midpoint 10:44:30, down until T.
TEST(Explain, WorkedExample) {
  const Micros t = utc(2023, 1, 23, 12);
  const std::vector<BusinessHours> hours = {{0, hms(9, 0), hms(12, 0)}};
  const std::vector<Poll> polls = {{utc(2023, 1, 23, 10, 14), PollStatus::active},
                                   {utc(2023, 1, 23, 11, 15), PollStatus::inactive}};
  ReportEngine engine({t, 2 * kHour});
  const std::vector<TimelineEntry> got = engine.explain_store("UTC", hours, polls);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind, TimelineKind::closed);
  EXPECT_EQ(got[0].utc, (Span{t - kMicrosPerWeek, utc(2023, 1, 23, 9)}));
  EXPECT_EQ(got[0].hours_row, -1);
  EXPECT_EQ(got[1].kind, TimelineKind::up);
  EXPECT_EQ(got[1].utc, (Span{utc(2023, 1, 23, 9), utc(2023, 1, 23, 10, 44, 30)}));
  EXPECT_EQ(got[1].hours_row, 0);
  EXPECT_EQ(got[1].poll.at, polls[0].at);
  EXPECT_EQ(got[2].kind, TimelineKind::down);
  EXPECT_EQ(got[2].utc, (Span{utc(2023, 1, 23, 10, 44, 30), t}));
  EXPECT_EQ(got[2].poll.at, polls[1].at);
  EXPECT_EQ(got[2].local, got[2].utc);  // UTC: local equals UTC

  // With H = 1 hour, 09:00-09:14 has no poll close enough.
  ReportEngine one_hour({t, kHour});
  const std::vector<TimelineEntry> h1 = one_hour.explain_store("UTC", hours, polls);
  ASSERT_EQ(h1.size(), 4u);
  EXPECT_EQ(h1[1].kind, TimelineKind::unknown);
  EXPECT_EQ(h1[1].utc, (Span{utc(2023, 1, 23, 9), utc(2023, 1, 23, 9, 14)}));
  EXPECT_FALSE(h1[1].has_poll);
  EXPECT_EQ(h1[2].kind, TimelineKind::up);
  EXPECT_EQ(h1[2].utc.begin, utc(2023, 1, 23, 9, 14));
}

// A poll while closed is listed as ignored, after the interval it falls in;
// up intervals of two active polls stay apart (each names its poll); local
// times follow the zone; split shifts name their own rows.
TEST(Explain, IgnoredPollsRowsAndLocalTimes) {
  // Tuesday 2023-01-24, New York (UTC-5): 09:00-10:00 and 11:00-12:00 local.
  const Micros t = utc(2023, 1, 24, 18);
  const std::vector<BusinessHours> hours = {{1, hms(11, 0), hms(12, 0)},
                                            {1, hms(9, 0), hms(10, 0)}};
  const std::vector<Poll> polls = {{utc(2023, 1, 24, 14, 30), PollStatus::active},
                                   {utc(2023, 1, 24, 15, 30), PollStatus::inactive},
                                   {utc(2023, 1, 24, 16, 10), PollStatus::active},
                                   {utc(2023, 1, 24, 16, 50), PollStatus::active}};
  ReportEngine engine({t, kHour});
  const std::vector<TimelineEntry> got = engine.explain_store("America/New_York", hours, polls);
  std::vector<TimelineKind> kinds;
  for (const TimelineEntry& e : got) kinds.push_back(e.kind);
  using K = TimelineKind;
  // closed | up 14:00-15:00 (row 1) | closed 15:00-16:00 + ignored 15:30 |
  // up 16:00-16:30 (poll 16:10) | up 16:30-17:00 (poll 16:50) | closed.
  ASSERT_EQ(kinds, (std::vector<K>{K::closed, K::up, K::closed, K::ignored_poll, K::up, K::up,
                                   K::closed}));
  EXPECT_EQ(got[1].utc, (Span{utc(2023, 1, 24, 14), utc(2023, 1, 24, 15)}));
  EXPECT_EQ(got[1].local, (Span{utc(2023, 1, 24, 9), utc(2023, 1, 24, 10)}));
  EXPECT_EQ(got[1].hours_row, 1);
  EXPECT_EQ(got[3].poll.at, polls[1].at);
  EXPECT_EQ(got[3].poll.status, PollStatus::inactive);
  EXPECT_EQ(got[4].utc, (Span{utc(2023, 1, 24, 16), utc(2023, 1, 24, 16, 30)}));
  EXPECT_EQ(got[4].hours_row, 0);
  EXPECT_EQ(got[4].poll.at, polls[2].at);
  EXPECT_EQ(got[5].poll.at, polls[3].at);

  const StoreDurations d = engine.compute_store("America/New_York", hours, polls);
  EXPECT_EQ(d.uptime[last_week], 2 * kHour);
  EXPECT_EQ(d.downtime[last_week], 0);
}

}  // namespace

namespace {

// The interrupt check runs while a long call works through its polls, and
// what it throws leaves the call; a check that never throws changes nothing.
TEST(Explain, InterruptCheckStopsALongCall) {
  const Micros t = utc(2023, 1, 23, 12);
  const std::vector<BusinessHours> hours = {{0, hms(9, 0), hms(12, 0)}};
  std::vector<Poll> polls;
  for (int i = 0; i < 200000; ++i)
    polls.push_back({t - kMicrosPerWeek + i * 3 * kMicrosPerSecond,
                     i % 3 == 0 ? PollStatus::inactive : PollStatus::active});
  ReportEngine plain({t, 2 * kHour});
  const std::vector<TimelineEntry> expected = plain.explain_store("UTC", hours, polls);

  ReportEngine counted({t, 2 * kHour});
  int checks = 0;
  counted.set_interrupt_check([&] { ++checks; });
  const std::vector<TimelineEntry> got = counted.explain_store("UTC", hours, polls);
  EXPECT_GT(checks, 200000 / 4096);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].utc, expected[i].utc);
    EXPECT_EQ(got[i].kind, expected[i].kind);
  }

  struct Stop {};
  ReportEngine stopped({t, 2 * kHour});
  int left = 3;
  stopped.set_interrupt_check([&] {
    if (--left == 0) throw Stop{};
  });
  EXPECT_THROW(stopped.explain_store("UTC", hours, polls), Stop);
}

}  // namespace
