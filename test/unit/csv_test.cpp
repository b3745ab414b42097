// CSV presentation: header, two decimals rounded half away from zero, quoting.
#include "report_engine.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace {

using namespace store_monitoring;
using namespace sm_test;

std::string row(std::string_view id, const StoreDurations& d) {
  std::string out;
  append_csv_row(out, id, d);
  return out;
}

// One value in the last-hour uptime column (minutes) and one in the last-day
// uptime column (hours); everything else zero.
std::string hour_value(Micros us) {
  StoreDurations d;
  d.uptime[last_hour] = us;
  const std::string line = row("s", d);
  return line.substr(2, line.find(',', 2) - 2);
}

std::string day_value(Micros us) {
  StoreDurations d;
  d.uptime[last_day] = us;
  const std::string line = row("s", d);
  const std::size_t a = line.find(',', 2) + 1;
  return line.substr(a, line.find(',', a) - a);
}

TEST(Csv, Header) {
  EXPECT_EQ(csv_header(),
            "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
            "downtime_last_hour,downtime_last_day,downtime_last_week");
}

TEST(Csv, ColumnOrderAndUnits) {
  StoreDurations d;
  d.uptime = {30 * kMin, 90 * kMin, 25 * kHour};
  d.downtime = {30 * kMin, 6 * kMin, 168 * kHour};
  EXPECT_EQ(row("42", d), "42,30.00,1.50,25.00,30.00,0.10,168.00\n");
  EXPECT_EQ(row("42", StoreDurations{}), "42,0.00,0.00,0.00,0.00,0.00,0.00\n");
}

TEST(Csv, RoundsHalfAwayFromZero) {
  // Minutes: a hundredth is 600,000 us.
  EXPECT_EQ(hour_value(300'000), "0.01");
  EXPECT_EQ(hour_value(299'999), "0.00");
  EXPECT_EQ(hour_value(900'000), "0.02");    // 0.015 -> 0.02
  EXPECT_EQ(hour_value(1'500'000), "0.03");  // 0.025 -> 0.03 (not to even)
  EXPECT_EQ(hour_value(60 * kMin - 1), "60.00");
  EXPECT_EQ(hour_value(-300'000), "-0.01");
  EXPECT_EQ(hour_value(-299'999), "0.00");  // no "-0.00"
  // Hours: a hundredth is 36 s; exactly 0.005 h is 18 s.
  EXPECT_EQ(day_value(18 * kSec), "0.01");
  EXPECT_EQ(day_value(18 * kSec - 1), "0.00");
  EXPECT_EQ(day_value(hms(1, 44, 30)), "1.74");
  EXPECT_EQ(day_value(hms(1, 15, 30)), "1.26");
  EXPECT_EQ(day_value(hms(0, 0, 54)), "0.02");  // 0.015 h
  EXPECT_EQ(day_value(hms(2, 0, 0) + 18 * kSec), "2.01");
}

TEST(Csv, ExtremeValuesDoNotOverflow) {
  EXPECT_EQ(day_value(std::numeric_limits<Micros>::max()), "2562047788.02");
  EXPECT_EQ(day_value(std::numeric_limits<Micros>::min()), "-2562047788.02");
}

TEST(Csv, QuotesOnlyWhenNeeded) {
  const StoreDurations zero;
  const std::string tail = ",0.00,0.00,0.00,0.00,0.00,0.00\n";
  EXPECT_EQ(row("8419537941919820732", zero), "8419537941919820732" + tail);
  EXPECT_EQ(row("0b0c1f8e-3a4b-4c5d-8e9f-a0b1c2d3e4f5", zero),
            "0b0c1f8e-3a4b-4c5d-8e9f-a0b1c2d3e4f5" + tail);
  EXPECT_EQ(row("with space", zero), "with space" + tail);
  EXPECT_EQ(row("a,b", zero), "\"a,b\"" + tail);
  EXPECT_EQ(row("say \"hi\"", zero), "\"say \"\"hi\"\"\"" + tail);
  EXPECT_EQ(row("line\nbreak", zero), "\"line\nbreak\"" + tail);
  EXPECT_EQ(row("cr\r", zero), "\"cr\r\"" + tail);
  EXPECT_EQ(row("", zero), tail);
}

TEST(Csv, AppendsToExistingText) {
  std::string out = std::string(csv_header()) + "\n";
  append_csv_row(out, "1", StoreDurations{});
  append_csv_row(out, "2", StoreDurations{});
  EXPECT_EQ(out, std::string(csv_header()) +
                     "\n1,0.00,0.00,0.00,0.00,0.00,0.00\n2,0.00,0.00,0.00,0.00,0.00,0.00\n");
}

TEST(ReportUnit, MinutesAndHours) {
  EXPECT_DOUBLE_EQ(to_report_unit(last_hour, 90 * kSec), 1.5);
  EXPECT_DOUBLE_EQ(to_report_unit(last_day, 90 * kMin), 1.5);
  EXPECT_DOUBLE_EQ(to_report_unit(last_week, 168 * kHour), 168.0);
  EXPECT_DOUBLE_EQ(to_report_unit(last_day, hms(1, 44, 30)), 1.0 + 44.5 / 60.0);
}

}  // namespace

namespace {
using store_monitoring::split_csv;

// What append_csv_row writes, split back: odd ids survive the round trip.
TEST(SplitCsv, RoundTripsOddIds) {
  const std::vector<std::string> ids = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r",
                                        "\\.",   "\"",  ",,",         " spaced "};
  std::string csv(store_monitoring::csv_header());
  csv += '\n';
  store_monitoring::StoreDurations d;
  d.uptime = {90 * store_monitoring::kMicrosPerSecond, 0, 0};
  for (const std::string& id : ids) store_monitoring::append_csv_row(csv, id, d);
  const auto records = split_csv(csv);
  ASSERT_EQ(records.size(), ids.size() + 1);
  EXPECT_EQ(records[0].size(), 7u);
  EXPECT_EQ(records[0][0], "store_id");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(records[i + 1].size(), 7u);
    EXPECT_EQ(records[i + 1][0], ids[i]);
    EXPECT_EQ(records[i + 1][1], "1.50");
    EXPECT_EQ(records[i + 1][6], "0.00");
  }
}

TEST(SplitCsv, RefusesMalformedText) {
  EXPECT_EQ(split_csv("").size(), 0u);
  EXPECT_EQ(split_csv("a,,b\n").at(0), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_THROW(split_csv("a,b"), std::invalid_argument);         // no final line break
  EXPECT_THROW(split_csv("\"a,b\n"), std::invalid_argument);     // unterminated
  EXPECT_THROW(split_csv("a\"b\n"), std::invalid_argument);      // stray quote
  EXPECT_THROW(split_csv("\"a\"b,c\n"), std::invalid_argument);  // text after quotes
}

// report_csv() builds its rows with csv_fields from the stored form: they
// must be exactly the fields of the line append_csv_row writes (split back),
// quoting, rounding and signs included.
TEST(Csv, FieldsAreTheSplitLine) {
  const Micros values[] = {0,
                           1,
                           -1,
                           29'999'999,
                           30'000'000,
                           599'999,
                           3'600'000'000,
                           -59'999'999,
                           7 * 86'400'000'000LL,
                           std::numeric_limits<Micros>::min(),
                           std::numeric_limits<Micros>::max()};
  const char* ids[] = {"42", "a,b", "say \"hi\"", "line\nbreak", "\r"};
  for (const char* id : ids) {
    for (Micros v : values) {
      StoreDurations d;
      for (int w = 0; w < 3; ++w) {
        d.uptime[w] = v;
        d.downtime[w] = v == std::numeric_limits<Micros>::min() ? 0 : -v;
      }
      std::vector<std::vector<std::string>> split = split_csv(row(id, d));
      ASSERT_EQ(split.size(), 1u);
      std::array<std::string, 7> fields = csv_fields(id, d);
      EXPECT_EQ(std::vector<std::string>(fields.begin(), fields.end()), split[0]) << id << " " << v;
    }
  }
}

}  // namespace
