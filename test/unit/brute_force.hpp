// An independent, brute-force reading of semantics.md, shared by the property
// test (test/unit/property_test.cpp) and the fuzzer (test/fuzz/engine_fuzzer.cpp).
// Written without looking at the engine: business hours go through the date
// library's own local_info, status is looked up poll by poll, and time is
// summed minute by minute.
//
// It is exact only when every breakpoint lands on a whole minute (rows at
// whole minutes, polls at even minutes so midpoints are whole minutes, H and T
// whole minutes, zone offsets whole minutes): then each minute [m, m + 1 min)
// is uniform and its middle decides it.
#pragma once

#include "report_engine.hpp"
#include "test_util.hpp"

#include "date_tz.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace sm_test {

using store_monitoring::BusinessHours;
using store_monitoring::Interpolation;
using store_monitoring::kDefaultTimeZone;
using store_monitoring::kMicrosPerWeek;
using store_monitoring::kWindowLength;
using store_monitoring::last_hour;
using store_monitoring::Poll;
using store_monitoring::PollStatus;
using store_monitoring::ReportSettings;
using store_monitoring::Span;

struct Store {
  std::string id;
  std::string zone;  // "" = default zone
  std::vector<BusinessHours> hours;
  std::vector<Poll> polls;
};

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

  // Minutes per window: {open, active, unknown}.
  struct Minutes {
    std::array<Micros, 3> open{};
    std::array<Micros, 3> active{};
    std::array<Micros, 3> unknown{};
  };

  Minutes minutes() const {
    Minutes out;
    const Micros t = settings_.as_of;
    for (Micros m = t - kMicrosPerWeek; m < t; m += kMin) {
      const Micros mid = m + 30 * kSec;
      if (!open_at(mid)) continue;
      const int status = status_at(mid);
      for (int w = 0; w < 3; ++w) {
        if (m >= t - kWindowLength[w]) {
          ++out.open[w];
          if (status == 1) ++out.active[w];
          if (status == -1) ++out.unknown[w];
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

inline std::string quoted(const std::string& id) {
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
inline std::string expected_csv(const std::string& id, const BruteForce::Minutes& m) {
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

}  // namespace sm_test
