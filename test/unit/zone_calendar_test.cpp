// The cached local-to-UTC conversion against the date library's own
// local_info, for every zone in the database, around every change in 2020-2024.
#include "zone_calendar.hpp"
#include "test_util.hpp"

#include "date_tz.hpp"
#include <gtest/gtest.h>

#include <random>

namespace {

using namespace store_monitoring;
using namespace sm_test;
using detail::ZoneCalendar;

// The rule of semantics.md, straight from the library: a skipped time is the
// instant of the change, a repeated one the earlier instant.
Micros reference_to_utc(const date::time_zone& zone, Micros local) {  // whole seconds only
  const date::local_seconds l{std::chrono::seconds{local / kSec}};
  const date::local_info info = zone.get_info(l);
  if (info.result == date::local_info::nonexistent) {
    return info.first.end.time_since_epoch().count() * kSec;
  }
  return local - info.first.offset.count() * kSec;  // unique, or the earlier of two
}

TEST(ZoneCalendar, MatchesLibraryForAllZones) {
  const Micros from = utc(2020, 1, 1);
  const Micros to = utc(2025, 1, 1);
  std::mt19937_64 rng(20230312);
  std::size_t zones = 0;
  std::size_t checks = 0;
  for (const date::time_zone& zone : date::get_tzdb().zones) {
    ++zones;
    const ZoneCalendar cal(zone, {from - 2 * kDay, to + 2 * kDay});
    auto check = [&](Micros local) {
      ++checks;
      ASSERT_EQ(cal.to_utc(local), reference_to_utc(zone, local))
          << zone.name() << " local " << local;
    };
    // Around each change: every 15 minutes within 3 hours, read with the
    // offsets of both sides.
    const auto& periods = cal.periods();
    for (std::size_t i = 1; i < periods.size(); ++i) {
      const Micros change = periods[i].begin;
      if (change < from || change >= to) continue;
      for (Micros off : {periods[i - 1].offset, periods[i].offset}) {
        for (Micros k = -12; k <= 12; ++k) check(change + off + k * 15 * kMin);
      }
    }
    std::uniform_int_distribution<Micros> any(from / kSec, to / kSec);
    for (int i = 0; i < 50; ++i) check(any(rng) * kSec);
  }
  EXPECT_GT(zones, 300u);
  EXPECT_GT(checks, 30000u);
}

TEST(ZoneCalendar, FixedZoneIsOnePeriod) {
  const ZoneCalendar utc_cal(*date::locate_zone("UTC"), {utc(2023, 1, 1), utc(2023, 2, 1)});
  EXPECT_EQ(utc_cal.periods().size(), 1u);
  EXPECT_EQ(utc_cal.to_utc(utc(2023, 1, 5, 3)), utc(2023, 1, 5, 3));
  const ZoneCalendar kolkata(*date::locate_zone("Asia/Kolkata"),
                             {utc(2023, 1, 1), utc(2024, 1, 1)});
  EXPECT_EQ(kolkata.periods().size(), 1u);
  EXPECT_EQ(kolkata.to_utc(utc(2023, 6, 1, 5, 30)), utc(2023, 6, 1));
}

TEST(ZoneCalendar, NewYork2023) {
  const ZoneCalendar ny(*date::locate_zone("America/New_York"),
                        {utc(2023, 3, 1), utc(2023, 11, 30)});
  ASSERT_EQ(ny.periods().size(), 3u);
  EXPECT_EQ(ny.to_utc(utc(2023, 3, 12, 1, 59)), utc(2023, 3, 12, 6, 59));
  EXPECT_EQ(ny.to_utc(utc(2023, 3, 12, 2, 0)), utc(2023, 3, 12, 7));   // skipped
  EXPECT_EQ(ny.to_utc(utc(2023, 3, 12, 2, 59)), utc(2023, 3, 12, 7));  // skipped
  EXPECT_EQ(ny.to_utc(utc(2023, 3, 12, 3, 0)), utc(2023, 3, 12, 7));
  EXPECT_EQ(ny.to_utc(utc(2023, 11, 5, 0, 59)), utc(2023, 11, 5, 4, 59));
  EXPECT_EQ(ny.to_utc(utc(2023, 11, 5, 1, 0)), utc(2023, 11, 5, 5));  // earlier
  EXPECT_EQ(ny.to_utc(utc(2023, 11, 5, 1, 59)), utc(2023, 11, 5, 5, 59));
  EXPECT_EQ(ny.to_utc(utc(2023, 11, 5, 2, 0)), utc(2023, 11, 5, 7));
}

TEST(ZoneCalendar, FarInstants) {
  // Beyond the library's years the edge periods simply continue.
  const Micros far = kMaxAbsAsOf;
  const ZoneCalendar ny(*date::locate_zone("America/New_York"), {far - kDay, far + kDay});
  EXPECT_EQ(ny.to_utc(far), far + 5 * kHour);
  const ZoneCalendar old(*date::locate_zone("America/New_York"), {-far - kDay, -far + kDay});
  EXPECT_EQ(old.to_utc(-far), -far + 17762 * kSec);  // local mean time, -4:56:02
}

TEST(ZoneCalendar, FindZone) {
  EXPECT_NE(detail::find_zone("Europe/London"), nullptr);
  EXPECT_EQ(detail::find_zone("Europe/Londres"), nullptr);
  EXPECT_EQ(detail::find_zone("localtime"), nullptr);
}

}  // namespace
