// Small helpers shared by the unit tests.
#pragma once

#include "report_engine.hpp"

#include "date_tz.hpp"

#include <ostream>

namespace store_monitoring {
// Readable failure messages in GoogleTest.
inline void PrintTo(const Span& s, std::ostream* os) {
  *os << '[' << s.begin << ", " << s.end << ')';
}
inline void PrintTo(const StoreDurations& d, std::ostream* os) {
  *os << "up {" << d.uptime[0] << ", " << d.uptime[1] << ", " << d.uptime[2] << "} down {"
      << d.downtime[0] << ", " << d.downtime[1] << ", " << d.downtime[2] << '}';
}
}  // namespace store_monitoring

namespace sm_test {

using store_monitoring::Micros;

// An instant given as a UTC civil time.
inline Micros utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  const date::sys_days day{date::year{y} / date::month{mo} / date::day{d}};
  const Micros days = day.time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi) * 60 * store_monitoring::kMicrosPerSecond +
         Micros{s} * store_monitoring::kMicrosPerSecond;
}

// A local time of day.
constexpr Micros hms(int h, int mi, int s = 0) {
  return ((Micros{h} * 60 + mi) * 60 + s) * store_monitoring::kMicrosPerSecond;
}

constexpr Micros kSec = store_monitoring::kMicrosPerSecond;
constexpr Micros kMin = store_monitoring::kMicrosPerMinute;
constexpr Micros kHour = store_monitoring::kMicrosPerHour;
constexpr Micros kDay = store_monitoring::kMicrosPerDay;

// Business-hours edges that the property test and the fuzzer both draw from.
// Local times around the zone changes they test (all on Sundays, 01:00-03:00):
inline constexpr Micros kNearChange[] = {hms(0, 30), hms(1, 0),  hms(1, 30), hms(1, 44),
                                         hms(1, 58), hms(2, 0),  hms(2, 14), hms(2, 30),
                                         hms(2, 58), hms(3, 0)};
// Ends that all mean "until the end of the day":
inline constexpr Micros kEndOfDay[] = {hms(23, 59, 0), hms(23, 59, 59), hms(24, 0)};

}  // namespace sm_test
