// The sealed form of a store's polls for one UTC day: exact round trips, the
// refusals of encode_segment, bytes it could not have written refused safely,
// merging, and the size per poll.
#include "poll_segment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace store_monitoring {
inline bool operator==(const Poll& a, const Poll& b) {
  return a.at == b.at && a.status == b.status;
}
inline void PrintTo(const Poll& p, std::ostream* os) {
  *os << '{' << p.at << ", " << (p.status == PollStatus::active ? "active" : "inactive") << '}';
}
}  // namespace store_monitoring

namespace {

using namespace store_monitoring;

std::vector<Poll> decoded(std::int32_t day, std::string_view bytes) {
  std::vector<Poll> out;
  decode_segment(day, bytes, out);
  return out;
}

// `count` polls within `day` in time order, both statuses; `tie_every` > 0
// repeats the previous time about once in that many polls.
std::vector<Poll> random_polls(std::mt19937_64& rng, std::int32_t day, std::size_t count,
                               int tie_every = 5) {
  const Micros start = segment_day_start(day);
  std::uniform_int_distribution<Micros> any(start, start + kMicrosPerDay - 1);
  std::vector<Poll> polls;
  for (std::size_t i = 0; i < count; ++i) {
    Micros at = any(rng);
    if (tie_every > 0 && !polls.empty() && rng() % tie_every == 0) at = polls.back().at;
    polls.push_back({at, rng() % 2 ? PollStatus::active : PollStatus::inactive});
  }
  std::stable_sort(polls.begin(), polls.end(),
                   [](const Poll& a, const Poll& b) { return a.at < b.at; });
  return polls;
}

std::string leb128(std::uint64_t value) {
  std::string out;
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>((value & 0x7F) | 0x80));
  out.push_back(static_cast<char>(value));
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(PollSegment, SegmentDayRoundsDown) {
  EXPECT_EQ(segment_day(0), 0);
  EXPECT_EQ(segment_day(kMicrosPerDay - 1), 0);
  EXPECT_EQ(segment_day(kMicrosPerDay), 1);
  EXPECT_EQ(segment_day(-1), -1);
  EXPECT_EQ(segment_day(-kMicrosPerDay), -1);
  EXPECT_EQ(segment_day(-kMicrosPerDay - 1), -2);
  // 2024-03-10 12:00 UTC is day 19792.
  EXPECT_EQ(segment_day(19792 * kMicrosPerDay + 12 * kMicrosPerHour), 19792);
  EXPECT_EQ(segment_day(std::numeric_limits<Micros>::max()), kMaxSegmentDay + 1);
  EXPECT_EQ(segment_day(std::numeric_limits<Micros>::min()), kMinSegmentDay - 1);
  EXPECT_EQ(segment_day(segment_day_start(kMinSegmentDay)), kMinSegmentDay);
  EXPECT_EQ(segment_day(segment_day_start(kMaxSegmentDay) + kMicrosPerDay - 1), kMaxSegmentDay);
}

TEST(PollSegment, LayoutIsTheDocumentedOne) {
  // Day 1: an active poll at its start, an inactive one a microsecond later,
  // an active one at 00:00:01 (delta 999999 = 0xF423F: (delta << 1) | 1 =
  // 0x1E847F, LEB128 FF 88 7A).
  const Micros d1 = kMicrosPerDay;
  const std::vector<Poll> polls = {
      {d1, PollStatus::active}, {d1 + 1, PollStatus::inactive}, {d1 + 1000000, PollStatus::active}};
  EXPECT_EQ(encode_segment(1, polls), bytes({1, 3, 1, 2, 0xFF, 0x88, 0x7A}));
}

TEST(PollSegment, RoundTripsRandomDays) {
  std::mt19937_64 rng(20260101);
  const std::vector<std::int32_t> days = {
      0, 1, -1, -719468, 19792, 20454, 106000, -2000000, 2932896, kMinSegmentDay, kMaxSegmentDay};
  for (std::int32_t day : days) {
    for (std::size_t count : {1, 2, 3, 24, 96, 1440, 5000}) {
      const auto polls = random_polls(rng, day, count);
      const std::string enc = encode_segment(day, polls);
      ASSERT_EQ(decoded(day, enc), polls) << "day " << day << ", " << count << " polls";
      EXPECT_EQ(segment_poll_count(enc), count);
      EXPECT_EQ(segment_times(day, enc), (SegmentTimes{polls.front().at, polls.back().at}));
    }
  }
}

TEST(PollSegment, RoundTripsTiesInTheirOrder) {
  const Micros t = 19792 * kMicrosPerDay + 5 * kMicrosPerHour;
  const std::vector<Poll> polls = {{t, PollStatus::active},       {t, PollStatus::inactive},
                                   {t, PollStatus::active},       {t, PollStatus::active},
                                   {t + 1, PollStatus::inactive}, {t + 1, PollStatus::inactive}};
  EXPECT_EQ(decoded(19792, encode_segment(19792, polls)), polls);
}

TEST(PollSegment, RoundTripsTheFirstAndLastMicrosecond) {
  for (std::int32_t day : {0, -1, -25567, 19792, kMinSegmentDay, kMaxSegmentDay}) {
    const Micros start = segment_day_start(day);
    const Micros last = start + kMicrosPerDay - 1;
    for (const auto& polls :
         std::vector<std::vector<Poll>>{{{start, PollStatus::inactive}},
                                        {{last, PollStatus::active}},
                                        {{start, PollStatus::active}, {last, PollStatus::inactive}},
                                        {{start, PollStatus::inactive},
                                         {start, PollStatus::active},
                                         {last, PollStatus::active},
                                         {last, PollStatus::inactive}}}) {
      const std::string enc = encode_segment(day, polls);
      EXPECT_EQ(decoded(day, enc), polls) << "day " << day;
      EXPECT_EQ(segment_times(day, enc), (SegmentTimes{polls.front().at, polls.back().at}));
    }
  }
}

TEST(PollSegment, RoundTripsOnePoll) {
  const std::vector<Poll> polls = {{-3 * kMicrosPerDay + 17, PollStatus::active}};
  const std::string enc = encode_segment(-3, polls);
  EXPECT_EQ(enc, bytes({1, 1, 35}));
  EXPECT_EQ(decoded(-3, enc), polls);
  EXPECT_EQ(segment_poll_count(enc), 1u);
}

TEST(PollSegment, RoundTrips100kPolls) {
  std::mt19937_64 rng(7);
  const auto polls = random_polls(rng, -12345, 100000, 3);
  const std::string enc = encode_segment(-12345, polls);
  EXPECT_EQ(decoded(-12345, enc), polls);
  EXPECT_EQ(segment_poll_count(enc), 100000u);
  // The callback form sees the same polls.
  std::vector<Poll> seen;
  decode_segment(-12345, enc, [&](Micros at, PollStatus status) { seen.push_back({at, status}); });
  EXPECT_EQ(seen, polls);
}

TEST(PollSegment, DecodeAppends) {
  const std::vector<Poll> polls = {{10, PollStatus::active}, {20, PollStatus::inactive}};
  std::vector<Poll> out = {{-5, PollStatus::inactive}};
  decode_segment(0, encode_segment(0, polls), out);
  EXPECT_EQ(out, (std::vector<Poll>{{-5, PollStatus::inactive}, polls[0], polls[1]}));
  // A corrupt segment leaves it as it was, even with polls read before the fault.
  std::string bad = encode_segment(0, polls) + '\0';
  EXPECT_THROW(decode_segment(0, bad, out), CorruptSegment);
  EXPECT_EQ(out.size(), 3u);
}

TEST(PollSegment, EncodeRefuses) {
  const Micros start = segment_day_start(5);
  const Micros end = start + kMicrosPerDay;
  auto refuses = [](std::int32_t day, std::vector<Poll> polls) {
    EXPECT_THROW(encode_segment(day, polls), std::invalid_argument);
  };
  refuses(5, {});
  refuses(5, {{start - 1, PollStatus::active}});
  refuses(5, {{end, PollStatus::active}});
  refuses(5, {{start, PollStatus::active}, {end, PollStatus::active}});
  refuses(5, {{start + 2, PollStatus::active}, {start + 1, PollStatus::active}});
  refuses(5, {{start + 1, PollStatus::active},
              {start + 3, PollStatus::inactive},
              {start + 2, PollStatus::active}});
  refuses(5, {{start, static_cast<PollStatus>(2)}});
  refuses(kMaxSegmentDay + 1, {{std::numeric_limits<Micros>::max(), PollStatus::active}});
  refuses(kMinSegmentDay - 1, {{std::numeric_limits<Micros>::min(), PollStatus::active}});
  EXPECT_THROW(decoded(kMaxSegmentDay + 1, bytes({1, 1, 0})), std::invalid_argument);
  EXPECT_THROW(decoded(kMinSegmentDay - 1, bytes({1, 1, 0})), std::invalid_argument);
}

TEST(PollSegment, DecodeRefusesWhatEncodeNeverWrites) {
  auto corrupt = [](std::string_view why, const std::string& b) {
    EXPECT_THROW(decoded(0, b), CorruptSegment) << why;
    EXPECT_THROW(segment_times(0, b), CorruptSegment) << why;
    EXPECT_THROW(merge_segments(0, b, bytes({1, 1, 0})), CorruptSegment) << why;
    EXPECT_THROW(merge_segments(0, bytes({1, 1, 0}), b), CorruptSegment) << why;
  };
  ASSERT_NO_THROW(decoded(0, bytes({1, 1, 0})));
  corrupt("empty", "");
  corrupt("format 0", bytes({0, 1, 0}));
  corrupt("format 2", bytes({2, 1, 0}));
  corrupt("no count", bytes({1}));
  corrupt("count 0", bytes({1, 0}));
  corrupt("count 0 with a poll", bytes({1, 0, 0}));
  corrupt("count truncated", bytes({1, 0x81}));
  corrupt("count not shortest", bytes({1, 0x81, 0x00, 0}));
  corrupt("count overlong", bytes({1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00}));
  corrupt("count too large", bytes({1, 0x80, 0x80, 0x80, 0x80, 0x10}));
  corrupt("count above the polls", bytes({1, 2, 0}));
  corrupt("count below the polls", bytes({1, 1, 0, 0}));
  corrupt("poll truncated", bytes({1, 1, 0x80}));
  corrupt("poll not shortest", bytes({1, 1, 0x80, 0x00}));
  corrupt("poll not shortest, longer", bytes({1, 1, 0x81, 0x80, 0x00}));
  corrupt("poll overlong", bytes({1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
  corrupt("trailing byte", bytes({1, 1, 0, 0x42}));
  // Times just past the day, in shortest-form varints.
  corrupt("first poll at the next day's start",
          bytes({1, 1}) + leb128(static_cast<std::uint64_t>(kMicrosPerDay) << 1));
  corrupt("first poll at the next day's start, active",
          bytes({1, 1}) + leb128(static_cast<std::uint64_t>(kMicrosPerDay) << 1 | 1));
  corrupt("the largest 6-byte poll", bytes({1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}));
  ASSERT_EQ(decoded(0, bytes({1, 1}) + leb128(static_cast<std::uint64_t>(kMicrosPerDay - 1) << 1))
                .at(0)
                .at,
            kMicrosPerDay - 1);
  // Two polls that sum past the day.
  std::string two = bytes({1, 2}) + leb128(static_cast<std::uint64_t>(kMicrosPerDay / 2) << 1);
  two += two.substr(2);
  corrupt("two halves of a day", two);
}

TEST(PollSegment, EveryTruncationThrows) {
  std::mt19937_64 rng(3);
  for (std::size_t count : {1, 2, 24, 200}) {
    const std::string enc = encode_segment(19000, random_polls(rng, 19000, count));
    for (std::size_t len = 0; len < enc.size(); ++len) {
      EXPECT_THROW(decoded(19000, enc.substr(0, len)), CorruptSegment)
          << count << " polls, " << len << " of " << enc.size() << " bytes";
      EXPECT_THROW(segment_times(19000, enc.substr(0, len)), CorruptSegment);
    }
  }
}

TEST(PollSegment, PollCountReadsTheHeaderOnly) {
  std::mt19937_64 rng(11);
  const auto polls = random_polls(rng, 42, 300);
  const std::string enc = encode_segment(42, polls);
  EXPECT_EQ(segment_poll_count(enc), 300u);
  EXPECT_EQ(segment_poll_count(enc.substr(0, 3)), 300u);  // 300 takes 2 bytes
  EXPECT_THROW(segment_poll_count(enc.substr(0, 2)), CorruptSegment);
  EXPECT_THROW(segment_poll_count(""), CorruptSegment);
  EXPECT_THROW(segment_poll_count(bytes({2, 1, 0})), CorruptSegment);
  EXPECT_THROW(segment_poll_count(bytes({1, 0})), CorruptSegment);
  EXPECT_THROW(segment_poll_count(bytes({1, 0x81, 0})), CorruptSegment);
  EXPECT_THROW(segment_poll_count(bytes({1, 0x80, 0x80, 0x80, 0x80, 0x10})), CorruptSegment);
  EXPECT_EQ(segment_poll_count(bytes({1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})), 0xFFFFFFFFu);
}

// Random byte changes: either refused as corrupt, or polls within the day in
// time order (and then the encoding of those polls, since it is canonical).
TEST(PollSegment, RandomByteFlipsNeverCrash) {
  std::mt19937_64 rng(99);
  const std::int32_t day = -400;
  const Micros start = segment_day_start(day);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string enc = encode_segment(day, random_polls(rng, day, 1 + rng() % 40));
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      const std::size_t i = rng() % enc.size();
      if (rng() % 2) {
        enc[i] = static_cast<char>(enc[i] ^ (1 << (rng() % 8)));
      } else {
        enc[i] = static_cast<char>(rng());
      }
    }
    std::vector<Poll> polls;
    try {
      decode_segment(day, enc, polls);
    } catch (const CorruptSegment&) {
      EXPECT_TRUE(polls.empty());
      continue;
    }
    ++accepted;
    ASSERT_FALSE(polls.empty());
    for (std::size_t i = 0; i < polls.size(); ++i) {
      ASSERT_GE(polls[i].at, start);
      ASSERT_LT(polls[i].at, start + kMicrosPerDay);
      if (i > 0) {
        ASSERT_LE(polls[i - 1].at, polls[i].at);
      }
    }
    ASSERT_EQ(encode_segment(day, polls), enc);
  }
  EXPECT_GT(accepted, 0);  // the check above ran
}

std::vector<Poll> stable_merged(std::vector<Poll> a, const std::vector<Poll>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::stable_sort(a.begin(), a.end(), [](const Poll& x, const Poll& y) { return x.at < y.at; });
  return a;
}

TEST(PollSegment, MergeIsTheStableSortOfBoth) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 500; ++round) {
    const std::int32_t day = static_cast<std::int32_t>(rng() % 40000) - 20000;
    auto a = random_polls(rng, day, 1 + rng() % 50);
    auto b = random_polls(rng, day, 1 + rng() % 50);
    // Often the same instants in both, so that ties between them are common.
    if (round % 2)
      for (std::size_t i = 0; i < b.size() && i < a.size(); i += 2) b[i].at = a[i].at;
    std::stable_sort(b.begin(), b.end(), [](const Poll& x, const Poll& y) { return x.at < y.at; });
    const std::string merged = merge_segments(day, encode_segment(day, a), encode_segment(day, b));
    const auto want = stable_merged(a, b);
    ASSERT_EQ(decoded(day, merged), want) << "round " << round;
    ASSERT_EQ(merged, encode_segment(day, want));
  }
}

TEST(PollSegment, MergeKeepsAsPollsFirstAtEqualTimes) {
  const Micros t = 1000;
  const std::string a = encode_segment(0, std::vector<Poll>{{t, PollStatus::active}});
  const std::string b = encode_segment(0, std::vector<Poll>{{t, PollStatus::inactive}});
  EXPECT_EQ(decoded(0, merge_segments(0, a, b)),
            (std::vector<Poll>{{t, PollStatus::active}, {t, PollStatus::inactive}}));
  EXPECT_EQ(decoded(0, merge_segments(0, b, a)),
            (std::vector<Poll>{{t, PollStatus::inactive}, {t, PollStatus::active}}));
}

TEST(PollSegment, MergeWithItselfDoublesEveryPoll) {
  std::mt19937_64 rng(8);
  const auto polls = random_polls(rng, 19792, 300);
  const std::string enc = encode_segment(19792, polls);
  const std::string twice = merge_segments(19792, enc, enc);
  const auto want = stable_merged(polls, polls);
  EXPECT_EQ(decoded(19792, twice), want);
  EXPECT_EQ(segment_poll_count(twice), 600u);
  // Each poll twice.
  for (const Poll& p : polls) {
    EXPECT_EQ(std::count(want.begin(), want.end(), p),
              std::count(polls.begin(), polls.end(), p) * 2);
  }
}

TEST(PollSegment, HourlyPollsTakeAbout5BytesEach) {
  std::mt19937_64 rng(24);
  std::uniform_int_distribution<Micros> jitter(-30 * kMicrosPerSecond, 30 * kMicrosPerSecond);
  const std::int32_t day = 20454;  // 2026-01-01
  double worst = 0;
  for (int round = 0; round < 100; ++round) {
    std::vector<Poll> polls;
    for (int h = 0; h < 24; ++h) {
      Micros at = segment_day_start(day) + h * kMicrosPerHour + 90 * kMicrosPerSecond + jitter(rng);
      polls.push_back({at, rng() % 10 ? PollStatus::active : PollStatus::inactive});
    }
    const double per_poll = static_cast<double>(encode_segment(day, polls).size()) / 24;
    worst = std::max(worst, per_poll);
  }
  std::printf("24 hourly polls with microsecond jitter: at most %.3f bytes per poll\n", worst);
  EXPECT_LE(worst, 5.5);
}

}  // namespace
