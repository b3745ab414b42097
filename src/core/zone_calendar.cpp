#include "zone_calendar.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "date_tz.hpp"

namespace store_monitoring::detail {
namespace {

// The date library represents years -32767..32767; query it well inside that
// and treat the first and last period as extending forever (no zone changes
// its offset in those far centuries).
constexpr std::int64_t kQueryMinSeconds = -900'000'000'000;  // about year -26,500
constexpr std::int64_t kQueryMaxSeconds = 900'000'000'000;   // about year 30,500

std::int64_t floor_seconds(Micros t) noexcept {
  return t / kMicrosPerSecond - (t % kMicrosPerSecond < 0 ? 1 : 0);
}

}  // namespace

const date::time_zone* find_zone(std::string_view name) noexcept {
  if (name == "localtime") return nullptr;  // a symlink to the host's /etc/localtime
  try {
    return date::locate_zone(name);
  } catch (...) {
    return nullptr;
  }
}

void load_zone_database() noexcept { (void)find_zone("UTC"); }

ZoneCalendar::ZoneCalendar(const date::time_zone& zone, Span covered)
    : zone_(&zone), covered_(covered) {
  using date::sys_seconds;
  const std::int64_t first =
      std::clamp(floor_seconds(covered.begin), kQueryMinSeconds, kQueryMaxSeconds);
  const std::int64_t last =
      std::clamp(floor_seconds(covered.end) + 1, kQueryMinSeconds, kQueryMaxSeconds);

  auto add = [this](const date::sys_info& info) {
    const Micros begin = info.begin.time_since_epoch().count() * kMicrosPerSecond;
    const Micros end = info.end.time_since_epoch().count() * kMicrosPerSecond;
    const Micros offset = info.offset.count() * kMicrosPerSecond;
    // Changes of abbreviation or of the DST flag alone do not move local time.
    if (!periods_.empty() && periods_.back().offset == offset) {
      periods_.back().end = end;
    } else {
      periods_.push_back({begin, end, offset});
    }
  };

  date::sys_info info = zone.get_info(sys_seconds{std::chrono::seconds{first}});
  add(info);
  while (info.end.time_since_epoch().count() < last) {
    date::sys_info next = zone.get_info(info.end);
    if (next.begin <= info.begin) break;  // defensive: never loop on a bad database
    add(next);
    info = std::move(next);
  }
  periods_.front().begin = std::numeric_limits<Micros>::min();
  periods_.back().end = std::numeric_limits<Micros>::max();
}

Micros ZoneCalendar::to_utc(Micros local) const noexcept {
  // The earliest period in which `local` exists gives the earlier of two
  // readings; if it exists in none, it lies in a gap and maps to the start of
  // the first period it precedes, which is the instant of the change.
  bool in_gap = false;
  Micros change = 0;
  for (const Period& p : periods_) {
    const Micros utc = local - p.offset;
    if (utc < p.end) {
      if (utc >= p.begin) return utc;
      if (!in_gap) {
        in_gap = true;
        change = p.begin;
      }
    }
  }
  if (in_gap) return change;
  return periods_.empty() ? local : local - periods_.back().offset;
}

Micros ZoneCalendar::to_local(Micros utc) const noexcept {
  for (const Period& p : periods_)
    if (utc >= p.begin && utc < p.end) return utc + p.offset;
  return utc;  // no periods: treated as UTC, as to_utc does
}

}  // namespace store_monitoring::detail
