// Internal: a time zone's UTC offsets over a bounded range of instants, so that
// turning local times into instants is a short walk over a few periods instead
// of a time-zone database query per conversion.
#pragma once

#include "report_engine.hpp"

#include <string_view>
#include <vector>

namespace date {
class time_zone;
}

namespace store_monitoring::detail {

// The zone named `name`, or nullptr when the database does not know it.
// Rejects "localtime", which the OS database exposes as a host-specific alias
// rather than an IANA zone. Never throws.
const date::time_zone* find_zone(std::string_view name) noexcept;

// Loads the time-zone database now, on the calling thread. A thread started
// after this call finds it loaded, ordered by the thread's creation; a
// first lookup on two new threads at once would instead be ordered only by
// the date library's own thread-safe static, whose fast path
// ThreadSanitizer cannot see in the uninstrumented library. Never throws.
void load_zone_database() noexcept;

class ZoneCalendar {
 public:
  // One stretch of constant UTC offset, [begin, end) in UTC.
  struct Period {
    Micros begin;
    Micros end;
    Micros offset;  // local = utc + offset
  };

  ZoneCalendar() = default;
  // Exact for every local time whose instant lies in `covered` (widen it by the
  // largest UTC offset, about a day, on each side of what you need).
  ZoneCalendar(const date::time_zone& zone, Span covered);

  // True when this calendar was built for a range that contains `needed`.
  bool covers(Span needed) const noexcept {
    return covered_.begin <= needed.begin && needed.end <= covered_.end;
  }

  // The instant of local time `local` (microseconds after the local epoch
  // 1970-01-01 00:00). A time that exists twice gives the earlier instant; a
  // time skipped by a change gives the instant of the change.
  Micros to_utc(Micros local) const noexcept;

  // The local time (microseconds after the local epoch) of instant `utc`.
  Micros to_local(Micros utc) const noexcept;

  const std::vector<Period>& periods() const noexcept { return periods_; }
  const date::time_zone* zone() const noexcept { return zone_; }

 private:
  const date::time_zone* zone_ = nullptr;
  Span covered_{0, 0};
  std::vector<Period> periods_;
};

}  // namespace store_monitoring::detail
