// Randomized comparison of ReportEngine with a brute-force reading of
// semantics.md, written independently of the engine: business hours go
// through the date library's own local_info, status is looked up poll by poll,
// and time is summed minute by minute.
//
// Every breakpoint lands on a whole minute (rows at whole minutes, polls at
// even minutes so midpoints are whole minutes, H and T whole minutes, zone
// offsets whole half hours), so each minute [m, m + 1 min) is uniform and its
// middle decides it; the minute counts must equal the engine's microseconds.
#include "report_engine.hpp"
#include "test_util.hpp"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace store_monitoring;
using namespace sm_test;

struct Store {
  std::string id;
  std::string zone;  // "" = default zone
  std::vector<BusinessHours> hours;
  std::vector<Poll> polls;
};

// ---------------------------------------------------------------------------
// Brute force
// ---------------------------------------------------------------------------

class BruteForce {
 public:
  BruteForce(const Store& store, const ReportSettings& settings)
      : settings_(settings),
        zone_(date::locate_zone(store.zone.empty() ? std::string(kDefaultTimeZone) : store.zone)),
        all_hours_(store.hours.empty()) {
    build_intervals(store.hours);
    build_evidence(store.polls);
  }

  bool open_at(Micros t) const {
    if (all_hours_) return true;
    for (const Span& s : intervals_) {
      if (s.begin <= t && t < s.end) return true;
    }
    return false;
  }

  // Status at t: +1 active, 0 inactive, -1 unknown.
  int status_at(Micros t) const {
    const Micros h = settings_.max_extrapolation;
    auto after = std::upper_bound(evidence_.begin(), evidence_.end(), t,
                                  [](Micros x, const Poll& p) { return x < p.at; });
    const Poll* best = nullptr;
    if (after != evidence_.begin() && t - (after - 1)->at <= h) best = &*(after - 1);
    if (settings_.interpolation == Interpolation::nearest && after != evidence_.end() &&
        after->at - t <= h && (best == nullptr || after->at - t < t - best->at)) {
      best = &*after;
    }
    if (best == nullptr) return -1;
    return best->status == PollStatus::active ? 1 : 0;
  }

  // Minutes per window: {open, active}.
  struct Minutes {
    std::array<Micros, 3> open{};
    std::array<Micros, 3> active{};
  };

  Minutes minutes() const {
    Minutes out;
    const Micros t = settings_.as_of;
    for (Micros m = t - kMicrosPerWeek; m < t; m += kMin) {
      const Micros mid = m + 30 * kSec;
      if (!open_at(mid)) continue;
      const bool active = status_at(mid) == 1;
      for (int w = 0; w < 3; ++w) {
        if (m >= t - kWindowLength[w]) {
          ++out.open[w];
          if (active) ++out.active[w];
        }
      }
    }
    return out;
  }

  const std::vector<Span>& raw_intervals() const { return intervals_; }

 private:
  // The rule of semantics.md via the library: skipped -> instant of the
  // change, repeated -> the earlier instant.
  Micros to_utc(date::local_seconds local) const {
    const date::local_info info = zone_->get_info(local);
    if (info.result == date::local_info::nonexistent) {
      return info.first.end.time_since_epoch().count() * kSec;
    }
    return (local - info.first.offset).time_since_epoch().count() * kSec;
  }

  void build_intervals(const std::vector<BusinessHours>& hours) {
    const Micros t = settings_.as_of;
    const auto t_day = date::floor<date::days>(
        date::sys_time<std::chrono::microseconds>{std::chrono::microseconds{t}});
    const int first = static_cast<int>(t_day.time_since_epoch().count()) - 10 -
                      static_cast<int>(settings_.max_extrapolation / kDay);
    const int last = static_cast<int>(t_day.time_since_epoch().count()) + 2;
    for (int n = first; n <= last; ++n) {
      const date::local_days d{date::days{n}};
      const int dow = static_cast<int>(date::weekday{d}.iso_encoding()) - 1;
      for (const BusinessHours& row : hours) {
        if (row.day_of_week != dow) continue;
        const std::chrono::seconds start{row.start_local / kSec};
        const std::chrono::seconds end{row.end_local / kSec};
        const date::local_seconds open = d + start;
        date::local_seconds close;
        if (end >= std::chrono::hours{23} + std::chrono::minutes{59}) {
          close = d + date::days{1};
        } else if (end > start) {
          close = d + end;
        } else {
          close = d + date::days{1} + end;
        }
        const Micros b = to_utc(open);
        const Micros e = to_utc(close);
        if (b < e) intervals_.push_back({b, e});
      }
    }
  }

  void build_evidence(const std::vector<Poll>& polls) {
    const Micros t = settings_.as_of;
    std::map<Micros, PollStatus> by_instant;
    for (const Poll& p : polls) {
      if (p.at < t - kMicrosPerWeek - settings_.max_extrapolation || p.at > t) continue;
      if (!open_at(p.at)) continue;
      auto [it, inserted] = by_instant.emplace(p.at, p.status);
      if (!inserted && p.status == PollStatus::inactive) it->second = PollStatus::inactive;
    }
    for (const auto& [at, status] : by_instant) evidence_.push_back({at, status});
  }

  ReportSettings settings_;
  const date::time_zone* zone_;
  bool all_hours_;
  std::vector<Span> intervals_;  // unmerged, one per row and date
  std::vector<Poll> evidence_;   // sorted by instant
};

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

// Local times around the changes above (all happen on Sundays, 01:00-03:00).
const Micros kNearChange[] = {hms(0, 30), hms(1, 0),  hms(1, 30), hms(1, 44), hms(1, 58),
                              hms(2, 0),  hms(2, 14), hms(2, 30), hms(2, 58), hms(3, 0)};

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
      switch (uniform(0, 7)) {
        case 0:
          r.end_local = r.start_local;
          break;
        case 1:
          r.end_local = hms(23, 59, 0);
          break;
        case 2:
          r.end_local = hms(23, 59, 59);
          break;
        case 3:
          r.end_local = hms(24, 0);
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

std::string quoted(const std::string& id) {
  if (id.find_first_of(",\"\r\n") == std::string::npos) return id;
  std::string out = "\"";
  for (char c : id) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// The CSV line from minute counts, by a route other than the engine's:
// minutes print as whole numbers, hours via printf (minutes / 60 never sits
// on a rounding tie, as 100 * m / 60 has a fractional part of k / 6).
std::string expected_csv(const std::string& id, const BruteForce::Minutes& m) {
  std::string out = quoted(id);
  char buf[64];
  auto column = [&](int w, Micros minutes) {
    if (w == last_hour) {
      std::snprintf(buf, sizeof buf, ",%lld.00", static_cast<long long>(minutes));
    } else {
      std::snprintf(buf, sizeof buf, ",%.2f", static_cast<double>(minutes) / 60.0);
    }
    out += buf;
  };
  for (int w = 0; w < 3; ++w) column(w, m.active[w]);
  for (int w = 0; w < 3; ++w) column(w, m.open[w] - m.active[w]);
  return out + "\n";
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
