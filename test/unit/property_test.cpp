// Randomized comparison of ReportEngine with a brute-force reading of
// semantics.md (brute_force.hpp, shared with test/fuzz/engine_fuzzer.cpp),
// written independently of the engine: business hours go through the date
// library's own local_info, status is looked up poll by poll, and time is
// summed minute by minute.
//
// Every breakpoint lands on a whole minute (rows at whole minutes, polls at
// even minutes so midpoints are whole minutes, H and T whole minutes, zone
// offsets whole half hours), so each minute [m, m + 1 min) is uniform and its
// middle decides it; the minute counts must equal the engine's microseconds.
#include "brute_force.hpp"
#include "report_engine.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace store_monitoring;
using namespace sm_test;

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

const char* const kZones[] = {"UTC",
                              "America/New_York",
                              "America/Los_Angeles",
                              "Australia/Lord_Howe",
                              "Asia/Kolkata",
                              "Europe/London",
                              ""};

// Midnights (UTC) near zone changes, with the zone that changes, so that
// most weeks contain a change.
struct Base {
  Micros midnight;
  const char* zone;
};
const Base kBases[] = {
    {utc(2023, 3, 12), "America/New_York"},     // spring forward
    {utc(2023, 11, 5), "America/Los_Angeles"},  // fall back
    {utc(2023, 3, 26), "Europe/London"},        // spring forward
    {utc(2023, 10, 29), "Europe/London"},       // fall back
    {utc(2023, 4, 2), "Australia/Lord_Howe"},   // back by 30 minutes
    {utc(2023, 10, 1), "Australia/Lord_Howe"},  // forward by 30 minutes
    {utc(2024, 3, 10), "America/Los_Angeles"},  // spring forward, leap year
    {utc(2023, 1, 23), "Asia/Kolkata"},         // nothing special
};

// kNearChange (test_util.hpp): local times around the changes above.

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  ReportSettings settings() {
    const Base& base = kBases[uniform(0, std::size(kBases) - 1)];
    preferred_zone_ = base.zone;
    // An even minute from two days before the change to ten days after.
    const Micros t = base.midnight + Micros{uniform(-2 * 720, 10 * 720)} * 2 * kMin;
    Micros h;
    switch (uniform(0, 4)) {
      case 0:
        h = 0;
        break;
      case 1:
        h = kHour;
        break;
      case 2:
        h = 2 * kHour;
        break;
      default:
        h = Micros{uniform(1, 300)} * kMin;
        break;
    }
    return {t, h, chance(0.25) ? Interpolation::previous : Interpolation::nearest};
  }

  std::string zone() {
    if (chance(0.6)) return preferred_zone_;
    return kZones[uniform(0, std::size(kZones) - 1)];
  }

  std::string store_id() {
    char buf[64];
    switch (uniform(0, 5)) {
      case 0:
      case 1:
        std::snprintf(buf, sizeof buf, "%llu",
                      static_cast<unsigned long long>(rng_() >> uniform(0, 40)));
        return buf;
      case 2:
      case 3:
        std::snprintf(buf, sizeof buf, "%08llx-%04x-4%03x-%04x-%012llx",
                      static_cast<unsigned long long>(rng_() & 0xffffffff), uniform(0, 0xffff),
                      uniform(0, 0xfff), uniform(0x8000, 0xbfff),
                      static_cast<unsigned long long>(rng_() & 0xffffffffffff));
        return buf;
      default: {
        static const char* const kOdd[] = {"a,b", "say \"hi\"", "two\nlines", "cr\r", "plain",
                                           "",    " spaced ",   "\"",         ",,"};
        return kOdd[uniform(0, std::size(kOdd) - 1)];
      }
    }
  }

  Micros minute_of_day(bool allow_2400) {
    Micros m = uniform(0, allow_2400 ? 1440 : 1439);
    if (m < 1440 && chance(0.8)) m -= m % 2;  // mostly even, so polls can hit edges
    return m * kMin;
  }

  std::vector<BusinessHours> hours() {
    std::vector<BusinessHours> rows;
    if (chance(0.1)) return rows;  // 24x7
    const int n = uniform(1, 8);
    const bool few_days = chance(0.5);  // several rows on the same days
    const int first_day = uniform(0, 6);
    for (int i = 0; i < n; ++i) {
      BusinessHours r;
      if (chance(0.25)) {  // a Sunday row starting or ending near a change
        r.day_of_week = 6;
        r.start_local = kNearChange[uniform(0, std::size(kNearChange) - 1)];
        r.end_local = chance(0.5) ? kNearChange[uniform(0, std::size(kNearChange) - 1)]
                                  : minute_of_day(false);
        if (chance(0.5)) std::swap(r.start_local, r.end_local);
        rows.push_back(r);
        continue;
      }
      r.day_of_week = few_days ? (first_day + uniform(0, 2)) % 7 : uniform(0, 6);
      r.start_local = minute_of_day(chance(0.05));
      const int r_case = uniform(0, 7);
      switch (r_case) {
        case 0:
          r.end_local = r.start_local;
          break;
        case 1:
        case 2:
        case 3:
          r.end_local = kEndOfDay[r_case - 1];
          break;
        case 4:  // overnight
          r.end_local = (r.start_local + kDay - Micros{uniform(1, 600)} * kMin) % kDay;
          break;
        case 5:  // short shift, sometimes crossing midnight
          r.end_local = (r.start_local + Micros{uniform(10, 300)} * kMin) % kDay;
          break;
        default:
          r.end_local = minute_of_day(false);
          break;
      }
      rows.push_back(r);
    }
    return rows;
  }

  PollStatus status(double p_active) {
    return chance(p_active) ? PollStatus::active : PollStatus::inactive;
  }

  std::vector<Poll> polls(const ReportSettings& s, const BruteForce& brute) {
    std::vector<Poll> out;
    const Micros from = s.as_of - kMicrosPerWeek - s.max_extrapolation - 4 * kHour;
    const Micros to = s.as_of + 2 * kHour;
    auto even = [](Micros t) { return t - ((t % (2 * kMin)) + 2 * kMin) % (2 * kMin); };
    const double p_active = uniform(0, 10) / 10.0;
    switch (uniform(0, 3)) {
      case 0: {  // about hourly, status changes now and then
        PollStatus st = status(p_active);
        for (Micros t = even(from); t < to; t += Micros{uniform(20, 50)} * 2 * kMin) {
          if (chance(0.15)) st = status(p_active);
          out.push_back({t, st});
        }
        break;
      }
      case 1: {  // sparse
        const int n = uniform(0, 40);
        for (int i = 0; i < n; ++i) {
          out.push_back(
              {even(from + Micros{uniform(0, (to - from) / kMin)} * kMin), status(p_active)});
        }
        break;
      }
      case 2: {  // dense
        const int n = uniform(100, 400);
        for (int i = 0; i < n; ++i) {
          out.push_back(
              {even(from + Micros{uniform(0, (to - from) / kMin)} * kMin), status(p_active)});
        }
        break;
      }
      default:
        break;  // no polls at all
    }
    // Polls exactly at opening and closing instants (when those are even).
    for (const Span& sp : brute.raw_intervals()) {
      for (Micros at : {sp.begin, sp.end}) {
        if (at % (2 * kMin) == 0 && at >= from && at <= to && chance(0.3)) {
          out.push_back({at, status(0.5)});
        }
      }
    }
    // Same-instant duplicates, often with the other status.
    const std::size_t n = out.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (chance(0.05)) {
        const PollStatus other =
            chance(0.7)
                ? (out[i].status == PollStatus::active ? PollStatus::inactive : PollStatus::active)
                : out[i].status;
        out.push_back({out[i].at, other});
      }
    }
    // The edges of the evidence range and just past T.
    if (chance(0.3)) out.push_back({s.as_of, status(0.5)});
    if (chance(0.3)) out.push_back({s.as_of + 2 * kMin, status(0.5)});
    const Micros lowest = s.as_of - kMicrosPerWeek - s.max_extrapolation;
    if (lowest % (2 * kMin) == 0 && chance(0.3)) out.push_back({lowest, status(0.5)});
    std::shuffle(out.begin(), out.end(), rng_);
    return out;
  }

 private:
  std::mt19937_64 rng_;
  std::string preferred_zone_;
};

// The explained timeline of a store: it partitions [T - 168 h, T) in order,
// each interval's kind agrees with the brute-force reading at every minute,
// the intervals sum per window to compute_store's numbers exactly, a deciding
// poll has the interval's status and lies within H, and ignored polls were
// taken while closed.
void check_timeline(ReportEngine& engine, const Store& store, const ReportSettings& settings,
                    const StoreDurations& got, const BruteForce& brute) {
  const std::vector<TimelineEntry> timeline =
      engine.explain_store(store.zone, store.hours, store.polls);
  const Micros t = settings.as_of;
  const Span evidence = engine.evidence_range();
  StoreDurations sums;
  Micros cursor = t - kMicrosPerWeek;
  Micros last_poll = evidence.begin;
  const TimelineEntry* previous = nullptr;
  for (const TimelineEntry& e : timeline) {
    if (e.kind == TimelineKind::ignored_poll) {
      ASSERT_TRUE(e.has_poll);
      ASSERT_EQ(e.utc.begin, e.poll.at);
      ASSERT_GE(e.poll.at, evidence.begin);
      ASSERT_LT(e.poll.at, evidence.end);
      ASSERT_GE(e.poll.at, last_poll);
      ASSERT_FALSE(brute.open_at(e.poll.at)) << "ignored poll at " << e.poll.at;
      last_poll = e.poll.at;
      continue;
    }
    ASSERT_EQ(e.utc.begin, cursor);
    ASSERT_LT(e.utc.begin, e.utc.end);
    cursor = e.utc.end;
    if (previous != nullptr) {
      // Merged: a neighbour of the same kind differs in its row or poll.
      ASSERT_FALSE(previous->kind == e.kind && previous->hours_row == e.hours_row &&
                   (!e.has_poll || previous->poll.at == e.poll.at));
    }
    previous = &e;
    ASSERT_EQ(e.kind == TimelineKind::up || e.kind == TimelineKind::down, e.has_poll);
    if (e.has_poll) {
      ASSERT_EQ(e.poll.status,
                e.kind == TimelineKind::up ? PollStatus::active : PollStatus::inactive);
      ASSERT_TRUE(brute.open_at(e.poll.at));
      const Micros h = settings.max_extrapolation;
      if (settings.interpolation == Interpolation::nearest) {
        ASSERT_LE(e.poll.at - e.utc.begin, h);
        ASSERT_LE(e.utc.end - e.poll.at, h);
      } else {
        ASSERT_LE(e.poll.at, e.utc.begin);
        ASSERT_LE(e.utc.end - e.poll.at, h);
      }
    }
    if (store.hours.empty() || e.kind == TimelineKind::closed) {
      ASSERT_EQ(e.hours_row, -1);
    } else {
      ASSERT_GE(e.hours_row, 0);
      ASSERT_LT(e.hours_row, static_cast<int>(store.hours.size()));
    }
    for (Micros m = e.utc.begin - e.utc.begin % kMin; m < e.utc.end; m += kMin) {
      const Micros mid = m + 30 * kSec;
      if (mid < e.utc.begin || mid >= e.utc.end) continue;
      ASSERT_EQ(e.kind != TimelineKind::closed, brute.open_at(mid)) << "at " << mid;
      if (e.kind != TimelineKind::closed) {
        const int want = e.kind == TimelineKind::up ? 1 : e.kind == TimelineKind::down ? 0 : -1;
        ASSERT_EQ(brute.status_at(mid), want) << "at " << mid;
      }
    }
    for (int w = 0; w < 3; ++w) {
      const Micros lo = std::max(e.utc.begin, t - kWindowLength[w]);
      const Micros len = std::max<Micros>(0, e.utc.end - lo);
      if (e.kind == TimelineKind::up) sums.uptime[w] += len;
      if (e.kind == TimelineKind::down || e.kind == TimelineKind::unknown) sums.downtime[w] += len;
      if (e.kind == TimelineKind::unknown) sums.unknown[w] += len;
    }
  }
  ASSERT_EQ(cursor, t);
  ASSERT_EQ(sums, got);
}

void run_seed(std::uint64_t seed, int reports, int stores_per_report) {
  Generator gen(seed);
  int compared = 0;
  for (int r = 0; r < reports; ++r) {
    const ReportSettings settings = gen.settings();
    ReportEngine engine(settings);  // one engine per report, reused across stores
    for (int i = 0; i < stores_per_report; ++i) {
      Store store;
      store.id = gen.store_id();
      store.zone = gen.zone();
      store.hours = gen.hours();
      const BruteForce without_polls(store, settings);
      store.polls = gen.polls(settings, without_polls);
      const BruteForce brute(store, settings);

      const StoreDurations got = engine.compute_store(store.zone, store.hours, store.polls);
      const BruteForce::Minutes want = brute.minutes();
      StoreDurations expected;
      for (int w = 0; w < 3; ++w) {
        expected.uptime[w] = want.active[w] * kMin;
        expected.downtime[w] = (want.open[w] - want.active[w]) * kMin;
        expected.unknown[w] = want.unknown[w] * kMin;
      }
      ASSERT_EQ(got, expected) << "seed " << seed << " report " << r << " store " << i << " zone '"
                               << store.zone << "' T " << settings.as_of << " H "
                               << settings.max_extrapolation << " mode "
                               << static_cast<int>(settings.interpolation);

      // The open intervals: merged (sorted, disjoint, not touching) and equal
      // to the brute-force reading at every minute of the evidence range.
      const Span range = engine.evidence_range();
      const std::vector<Span> open = engine.open_intervals(store.zone, store.hours, range);
      for (std::size_t k = 0; k < open.size(); ++k) {
        ASSERT_LT(open[k].begin, open[k].end);
        ASSERT_GE(open[k].begin, range.begin);
        ASSERT_LE(open[k].end, range.end);
        if (k > 0) {
          ASSERT_LT(open[k - 1].end, open[k].begin);
        }
      }
      std::size_t k = 0;
      for (Micros m = range.begin - range.begin % kMin; m < settings.as_of; m += kMin) {
        const Micros mid = m + 30 * kSec;
        while (k < open.size() && open[k].end <= mid) ++k;
        const bool engine_open = k < open.size() && open[k].begin <= mid;
        if (mid >= range.begin) {
          ASSERT_EQ(engine_open, brute.open_at(mid)) << "at " << mid;
        }
      }

      check_timeline(engine, store, settings, got, brute);
      if (::testing::Test::HasFatalFailure()) {
        ADD_FAILURE() << "timeline: seed " << seed << " report " << r << " store " << i;
        return;
      }

      std::string csv;
      append_csv_row(csv, store.id, got);
      ASSERT_EQ(csv, expected_csv(store.id, want));
      ++compared;
    }
  }
  EXPECT_EQ(compared, reports * stores_per_report);
}

TEST(Property, MatchesBruteForceSeed1) { run_seed(1, 40, 25); }
TEST(Property, MatchesBruteForceSeed2) { run_seed(2, 40, 25); }
TEST(Property, MatchesBruteForceSeed3) { run_seed(3, 40, 25); }
TEST(Property, MatchesBruteForceSeed4) { run_seed(4, 40, 25); }

}  // namespace
