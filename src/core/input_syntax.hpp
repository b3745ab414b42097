// Strict syntax of the raw text of the three inputs, as the import views
// (store_monitoring.*_import) take it from a CSV file. Plain C++: the
// PostgreSQL glue checks the text here first and only then converts it with
// PostgreSQL's own input functions, so that what is accepted means what
// PostgreSQL says it means, and what PostgreSQL would bend silently (a time
// with a UTC offset, a timestamp without a zone) is refused.
//
// Each problem_with_* function returns nothing for acceptable text, or a short
// English description of what is wrong with it ("it has no time zone"), meant
// to follow the quoted value in an error message.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::input {

// A store id: 1 to 255 bytes, no ASCII control characters (U+0000-U+001F,
// U+007F), no leading or trailing space, and, when `must_be_utf8`, valid
// UTF-8 (shortest forms, no surrogates). The glue asks for UTF-8 in UTF8 and
// SQL_ASCII databases; in other encodings PostgreSQL has validated the text.
std::optional<std::string> problem_with_store_id(std::string_view text, bool must_be_utf8 = true);

// A poll status: exactly "active" or "inactive" (lower case, no spaces).
std::optional<std::string> problem_with_status(std::string_view text);

// A poll instant with an explicit zone:
//   YYYY-MM-DD('T'|' ')HH:MM[:SS[.f{1,6}]] zone
// where zone is " UTC" or "Z" right after the time, or a UTC offset "+hh",
// "+hhmm" or "+hh:mm" (or with "-") right after the time or after one space.
// Nothing may follow. Hours 00-23, minutes and seconds 00-59, offsets up to
// 15:59. "infinity" and the like are refused. Calendar validity (February 30)
// is left to PostgreSQL.
std::optional<std::string> problem_with_poll_timestamp(std::string_view text);

// A local time of day: HH:MM or HH:MM:SS[.f{1,6}], from 00:00 to 24:00:00
// inclusive, with no zone or UTC offset.
std::optional<std::string> problem_with_local_time(std::string_view text);

// 24:00:00 is a valid end but no start: the rules read an end from 23:59:00
// on as midnight before they read start = end as 24 hours, so 24:00-24:00 is
// an empty shift, not a day. What is wrong with such a start (follows the
// quoted value), and that start in microseconds after midnight.
inline constexpr long long kEndOfDayMicroseconds = 86'400'000'000LL;
inline constexpr const char* kShiftStartsAtEndOfDay =
    "is the end of the day, not a start: up to an end at or after 23:59:00 the shift is "
    "empty, not 24 hours (a shift from midnight starts at 00:00)";

// A weekday: one digit 0 (Monday) to 6 (Sunday), nothing else.
std::optional<std::string> problem_with_weekday(std::string_view text);

// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

// `text` for an error message: in double quotes, cut once `max_bytes` bytes
// of `text` are shown (at a character boundary, marked "..."), with control
// characters, double quotes, backslashes and bytes that are not UTF-8
// written as escapes (\n, \r, \t, \", \\, \xNN), so that a message carries
// neither control characters nor bytes that are not UTF-8.
std::string quote_for_message(std::string_view text, std::size_t max_bytes = 64);

}  // namespace store_monitoring::input
