// Strict syntax of the import views' raw text (src/core/input_syntax.hpp).
#include "input_syntax.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace store_monitoring::input;

// The problem, or "" for accepted text.
template <typename Check>
std::string problem(Check check, std::string_view text) {
  auto p = check(text);
  return p ? *p : "";
}

std::string status(std::string_view t) { return problem(problem_with_status, t); }
std::string instant(std::string_view t) { return problem(problem_with_poll_timestamp, t); }
std::string local(std::string_view t) { return problem(problem_with_local_time, t); }
std::string weekday(std::string_view t) { return problem(problem_with_weekday, t); }
std::string store(std::string_view t) {
  return problem([](std::string_view s) { return problem_with_store_id(s); }, t);
}

TEST(InputSyntax, StatusIsExactlyActiveOrInactive) {
  EXPECT_EQ(status("active"), "");
  EXPECT_EQ(status("inactive"), "");
  for (const char* bad : {"ACTIVE", "Active", " active", "active ", "up", "1", "actif"})
    EXPECT_NE(status(bad), "") << bad;
  EXPECT_EQ(status(""), "it is empty");
}

TEST(InputSyntax, PollTimestampAcceptsExplicitZones) {
  for (const char* good :
       {"2023-01-22 12:09:39.388884 UTC", "2023-01-22 12:09:39 UTC", "2023-01-22 12:09 UTC",
        "2023-01-22T12:09:39Z", "2023-01-22 12:09:39.5Z", "2023-01-22 12:09:39+00",
        "2023-01-22 12:09:39+05:30", "2023-01-22 12:09:39-08:00", "2023-01-22 12:09:39+0530",
        "2023-01-22 12:09:39 +00:00", "2023-01-22 12:09:39-03", "2023-01-22 00:00:00+15:59",
        "1969-12-31 23:59:59 UTC", "2200-01-01 00:00 UTC"})
    EXPECT_EQ(instant(good), "") << good;
}

TEST(InputSyntax, PollTimestampWithoutZoneIsRefused) {
  EXPECT_EQ(instant("2023-01-22 12:09:39"),
            "it has no time zone; end it with \" UTC\", \"Z\" or a UTC offset such as \"+00\" or "
            "\"+05:30\"");
  EXPECT_NE(instant("2023-01-22T12:09:39.388884").find("no time zone"), std::string::npos);
  EXPECT_NE(instant("2023-01-22").find("no time and no time zone"), std::string::npos);
}

TEST(InputSyntax, PollTimestampRefusesOtherShapes) {
  for (const char* bad : {"2023-01-22 12:09:39 utc",
                          "2023-01-22 12:09:39 EST",
                          "2023-01-22 12:09:39 America/Chicago",
                          "2023-01-22 12:09:39+",
                          "2023-01-22 12:09:39+5",
                          "2023-01-22 12:09:39+05:3",
                          "2023-01-22 12:09:39+05:30:00",
                          "2023-01-22 12:09:39  UTC",
                          "2023-01-22 12:09:39 UTC ",
                          "2023-01-22 12:09:39Zulu",
                          "23-01-22 12:09:39 UTC",
                          "2023-1-22 12:09:39 UTC",
                          "2023/01/22 12:09:39 UTC",
                          "22.01.2023 12:09 UTC",
                          "Jan 22 2023 12:09 UTC",
                          "2023-01-22_12:09:39 UTC",
                          "2023-01-22 12 UTC",
                          "2023-01-22 1:09 UTC",
                          "2023-01-22 12:09:3 UTC",
                          "2023-01-22 12:09:39. UTC",
                          " 2023-01-22 12:09:39 UTC",
                          "now",
                          "epoch",
                          "1674389379",
                          "\xff"})
    EXPECT_NE(instant(bad), "") << bad;
}

TEST(InputSyntax, PollTimestampFieldRanges) {
  EXPECT_EQ(instant("2023-13-01 00:00 UTC"), "month 13 is out of range 01-12");
  EXPECT_EQ(instant("2023-00-01 00:00 UTC"), "month 00 is out of range 01-12");
  EXPECT_EQ(instant("2023-01-32 00:00 UTC"), "day 32 is out of range 01-31");
  EXPECT_EQ(instant("2023-01-00 00:00 UTC"), "day 00 is out of range 01-31");
  EXPECT_EQ(instant("2023-01-01 24:00 UTC"), "hour 24 is out of range 00-23");
  EXPECT_EQ(instant("2023-01-01 23:60 UTC"), "minute 60 is out of range 00-59");
  EXPECT_EQ(instant("2023-01-01 23:59:60 UTC"), "second 60 is out of range 00-59");
  EXPECT_EQ(instant("2023-01-01 23:59:59.1234567 UTC"),
            "it has more than 6 fractional digits (microseconds are the limit)");
  EXPECT_EQ(instant("2023-01-01 00:00+16"),
            "UTC offset +16:00 is out of range (at most 15:59 either way)");
  EXPECT_EQ(instant("2023-01-01 00:00-05:60"),
            "UTC offset -05:60 is out of range (at most 15:59 either way)");
  // Calendar validity is PostgreSQL's business.
  EXPECT_EQ(instant("2023-02-30 00:00 UTC"), "");
}

TEST(InputSyntax, PollTimestampInfinityAndEmpty) {
  for (const char* word : {"infinity", "-infinity", "+Infinity", "INFINITY"})
    EXPECT_EQ(instant(word), "it is not a finite instant") << word;
  EXPECT_EQ(instant(""), "it is empty");
}

TEST(InputSyntax, LocalTimeForms) {
  for (const char* good : {"00:00", "09:00", "23:59", "00:00:00", "23:59:59", "23:59:59.999999",
                           "12:30:00.5", "24:00", "24:00:00", "24:00:00.000000"})
    EXPECT_EQ(local(good), "") << good;
  EXPECT_EQ(local("24:00:01"), "it is after 24:00:00");
  EXPECT_EQ(local("24:01"), "it is after 24:00:00");
  EXPECT_EQ(local("24:00:00.000001"), "it is after 24:00:00");
  EXPECT_EQ(local("25:00"), "hour 25 is out of range 00-24");
  EXPECT_EQ(local("12:60"), "minute 60 is out of range 00-59");
  EXPECT_EQ(local("12:00:60"), "second 60 is out of range 00-59");
  EXPECT_EQ(local(""), "it is empty");
  for (const char* bad : {"9:00", "0900", "09", "09:0", "09:00:", "09:00:0", "09:00:00.",
                          "09:00 AM", "9am", "noon", "allballs", "-01:00", "09:00:00.1234567"})
    EXPECT_NE(local(bad), "") << bad;
}

TEST(InputSyntax, LocalTimeWithZoneOrOffsetIsRefused) {
  const std::string with_zone =
      "it has a UTC offset or time zone; business hours are local times in the store's zone, "
      "written without one";
  for (const char* bad : {"09:00+02", "09:00-05:00", "09:00:00+0530", "09:00 UTC", "09:00Z",
                          "09:00:00 America/New_York", "09:00 +02"})
    EXPECT_EQ(local(bad), with_zone) << bad;
}

TEST(InputSyntax, WeekdayIsOneDigitZeroToSix) {
  for (const char* good : {"0", "1", "2", "3", "4", "5", "6"}) EXPECT_EQ(weekday(good), "") << good;
  for (const char* bad : {"-1", "7", "06", "+1", " 1", "1 ", "1.0", "Monday", "0x1", "١"})
    EXPECT_EQ(weekday(bad), "a weekday is one digit, 0 (Monday) to 6 (Sunday)") << bad;
  EXPECT_EQ(weekday(""), "it is empty");
}

TEST(InputSyntax, StoreId) {
  EXPECT_EQ(store("1000233384498165585"), "");
  EXPECT_EQ(store("store, \"quoted\" ünïcödé 店"), "");
  EXPECT_EQ(store(std::string(255, 'x')), "");
  EXPECT_EQ(store(std::string(256, 'x')), "it is 256 bytes long; store ids have 1 to 255 bytes");
  EXPECT_EQ(store(""), "it is empty");
  EXPECT_EQ(store("ab\xff"), "it is not valid UTF-8 (byte 0xFF at offset 2)");
  EXPECT_EQ(store("a\nb"), "it contains the control character \\x0A at offset 1");
  EXPECT_EQ(store("a\tb"), "it contains the control character \\x09 at offset 1");
  EXPECT_EQ(store("a\x7f"), "it contains the control character \\x7F at offset 1");
  EXPECT_EQ(store(" 12"), "it has a leading or trailing space");
  EXPECT_EQ(store("12 "), "it has a leading or trailing space");
  // In an encoding other than UTF-8 (say LATIN1), PostgreSQL has validated it.
  EXPECT_EQ(problem_with_store_id("caf\xe9", false), std::nullopt);
}

TEST(InputSyntax, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe5\xba\x97\xf0\x9f\x98\x80"));  // é 店 😀
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));                      // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong "/"
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
}

TEST(InputSyntax, QuoteForMessage) {
  EXPECT_EQ(quote_for_message("abc"), "\"abc\"");
  EXPECT_EQ(quote_for_message(""), "\"\"");
  EXPECT_EQ(quote_for_message("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote_for_message("a\nb\tc\r\x01"), "\"a\\nb\\tc\\r\\x01\"");
  EXPECT_EQ(quote_for_message("ok\xff"), "\"ok\\xFF\"");
  EXPECT_EQ(quote_for_message("店"), "\"店\"");
  EXPECT_EQ(quote_for_message(std::string(100, 'x'), 64), "\"" + std::string(64, 'x') + "...\"");
  // Cut at a character boundary: "店" is 3 bytes, so only one fits in 4.
  EXPECT_EQ(quote_for_message("店店", 4), "\"店...\"");
  EXPECT_EQ(quote_for_message("abcd", 4), "\"abcd\"");
}

}  // namespace
