#include "input_syntax.hpp"

#include <cstdint>

namespace store_monitoring::input {
namespace {

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0.
std::size_t utf8_sequence_length(std::string_view text) noexcept {
  if (text.empty()) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  return length;
}

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7F; }

std::string hex_byte(unsigned char c, const char* prefix = "\\x") {
  static const char kDigits[] = "0123456789ABCDEF";
  return std::string(prefix) + kDigits[c >> 4] + kDigits[c & 15];
}

// A left-to-right reader of fixed-width fields.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool at_end() const noexcept { return pos_ == text_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  std::string_view rest() const noexcept { return text_.substr(pos_); }

  bool take(char c) noexcept {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  bool take(std::string_view s) noexcept {
    if (rest().substr(0, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }
  // Exactly `width` decimal digits.
  std::optional<int> digits(std::size_t width) noexcept {
    if (text_.size() - pos_ < width) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      char c = text_[pos_ + i];
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    pos_ += width;
    return value;
  }
  // A run of decimal digits; its length.
  std::size_t digit_run() noexcept {
    std::size_t start = pos_;
    while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ - start;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string two_digits(int value) {
  return std::string(1, static_cast<char>('0' + value / 10 % 10)) +
         static_cast<char>('0' + value % 10);
}

struct TimeOfDay {
  int hour = 0;
  int minute = 0;
  bool nonzero_after_minute = false;  // seconds or fraction
};

// HH:MM[:SS[.f{1,6}]] with hours up to `max_hour`; on success leaves the
// cursor after it. `shape` is the problem when the text does not have that form.
std::optional<std::string> read_time_of_day(Cursor& in, int max_hour, const char* hour_range,
                                            const std::string& shape, TimeOfDay& time) {
  auto h = in.digits(2);
  if (!h || !in.take(':')) return shape;
  auto m = in.digits(2);
  if (!m) return shape;
  time = TimeOfDay{*h, *m, false};
  if (time.hour > max_hour)
    return "hour " + two_digits(time.hour) + " is out of range " + hour_range;
  if (time.minute > 59) return "minute " + two_digits(time.minute) + " is out of range 00-59";
  if (in.take(':')) {
    auto s = in.digits(2);
    if (!s) return shape;
    if (*s > 59) return "second " + two_digits(*s) + " is out of range 00-59";
    if (*s != 0) time.nonzero_after_minute = true;
    if (in.take('.')) {
      std::string_view fraction = in.rest();
      std::size_t count = in.digit_run();
      if (count == 0) return shape;
      if (count > 6) return "it has more than 6 fractional digits (microseconds are the limit)";
      if (fraction.substr(0, count).find_first_not_of('0') != std::string_view::npos)
        time.nonzero_after_minute = true;
    }
  }
  return std::nullopt;
}

bool is_infinity_word(std::string_view text) noexcept {
  auto lower_equals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != b[i]) return false;
    }
    return true;
  };
  return lower_equals(text, "infinity") || lower_equals(text, "+infinity") ||
         lower_equals(text, "-infinity");
}

const char kZoneAdvice[] =
    "end it with \" UTC\", \"Z\" or a UTC offset such as \"+00\" or \"+05:30\"";

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  while (!text.empty()) {
    std::size_t length = utf8_sequence_length(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

std::string quote_for_message(std::string_view text, std::size_t max_bytes) {
  std::string out = "\"";
  std::size_t used = 0;
  while (!text.empty()) {
    std::size_t length = utf8_sequence_length(text);
    std::size_t consumed = length == 0 ? 1 : length;
    if (used + consumed > max_bytes) {
      out += "...";
      break;
    }
    used += consumed;
    const auto c = static_cast<unsigned char>(text[0]);
    if (length == 0) {
      out += hex_byte(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (is_control(c)) {
      out += hex_byte(c);
    } else {
      out.append(text.substr(0, length));
    }
    text.remove_prefix(consumed);
  }
  out += '"';
  return out;
}

std::optional<std::string> problem_with_store_id(std::string_view text, bool must_be_utf8) {
  if (text.empty()) return "it is empty";
  if (text.size() > 255)
    return "it is " + std::to_string(text.size()) + " bytes long; store ids have 1 to 255 bytes";
  if (must_be_utf8) {
    std::string_view rest = text;
    while (!rest.empty()) {
      std::size_t length = utf8_sequence_length(rest);
      if (length == 0)
        return "it is not valid UTF-8 (byte " +
               hex_byte(static_cast<unsigned char>(rest[0]), "0x") + " at offset " +
               std::to_string(text.size() - rest.size()) + ")";
      rest.remove_prefix(length);
    }
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_control(c))
      return "it contains the control character " + hex_byte(c) + " at offset " + std::to_string(i);
  }
  if (text.front() == ' ' || text.back() == ' ') return "it has a leading or trailing space";
  return std::nullopt;
}

std::optional<std::string> problem_with_status(std::string_view text) {
  if (text == "active" || text == "inactive") return std::nullopt;
  if (text.empty()) return "it is empty";
  return "a status is \"active\" or \"inactive\" (lower case, nothing else)";
}

std::optional<std::string> problem_with_poll_timestamp(std::string_view text) {
  if (text.empty()) return "it is empty";
  if (is_infinity_word(text)) return "it is not a finite instant";
  Cursor in(text);
  static const std::string kDateShape = "it does not start with a date YYYY-MM-DD";
  auto year = in.digits(4);
  if (!year || !in.take('-')) return kDateShape;
  auto month = in.digits(2);
  if (!month || !in.take('-')) return kDateShape;
  auto day = in.digits(2);
  if (!day) return kDateShape;
  if (*month < 1 || *month > 12) return "month " + two_digits(*month) + " is out of range 01-12";
  if (*day < 1 || *day > 31) return "day " + two_digits(*day) + " is out of range 01-31";
  if (in.at_end()) return std::string("it has a date but no time and no time zone; ") + kZoneAdvice;
  if (!in.take('T') && !in.take(' '))
    return "the date is not followed by \"T\" or a space and a time HH:MM[:SS[.ffffff]]";
  TimeOfDay time;
  static const std::string kTimeShape = "the date is not followed by a time HH:MM[:SS[.ffffff]]";
  if (auto problem = read_time_of_day(in, 23, "00-23", kTimeShape, time)) return problem;
  if (in.at_end()) return std::string("it has no time zone; ") + kZoneAdvice;
  if (in.rest() == " UTC" || in.rest() == "Z") return std::nullopt;
  in.take(' ');
  if (in.peek() == '+' || in.peek() == '-') {
    const char sign = in.peek();
    in.take(sign);
    auto hours = in.digits(2);
    std::optional<int> minutes = 0;
    if (hours && !in.at_end()) {
      in.take(':');
      minutes = in.digits(2);
    }
    if (hours && minutes && in.at_end()) {
      if (*hours > 15 || *minutes > 59)
        return std::string("UTC offset ") + sign + two_digits(*hours) + ":" + two_digits(*minutes) +
               " is out of range (at most 15:59 either way)";
      return std::nullopt;
    }
  }
  return std::string(
             "its time zone is not \" UTC\", \"Z\" or a UTC offset +hh, +hhmm or +hh:mm; ") +
         kZoneAdvice;
}

std::optional<std::string> problem_with_local_time(std::string_view text) {
  if (text.empty()) return "it is empty";
  Cursor in(text);
  static const std::string kShape = "it is not a time HH:MM or HH:MM:SS[.ffffff]";
  TimeOfDay time;
  if (auto problem = read_time_of_day(in, 24, "00-24", kShape, time)) return problem;
  if (time.hour == 24 && (time.minute != 0 || time.nonzero_after_minute))
    return "it is after 24:00:00";
  if (in.at_end()) return std::nullopt;
  const char next = in.peek();
  if (next == '+' || next == '-' || next == 'Z' || next == 'z' || next == ' ')
    return "it has a UTC offset or time zone; business hours are local times in the store's "
           "zone, written without one";
  return kShape;
}

std::optional<std::string> problem_with_weekday(std::string_view text) {
  if (text.size() == 1 && text[0] >= '0' && text[0] <= '6') return std::nullopt;
  if (text.empty()) return "it is empty";
  return "a weekday is one digit, 0 (Monday) to 6 (Sunday)";
}

}  // namespace store_monitoring::input
