#include "report_engine.hpp"

#include <charconv>
#include <stdexcept>

namespace store_monitoring {
namespace {

constexpr std::string_view kHeader =
    "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
    "downtime_last_hour,downtime_last_day,downtime_last_week";

// Microseconds in one unit (minute or hour) of each window's column.
constexpr Micros unit_of(int window) noexcept {
  return window == last_hour ? kMicrosPerMinute : kMicrosPerHour;
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Two decimals, rounded half away from zero, in integers so no binary
// fraction can tip a tie the wrong way.
void append_fixed2(std::string& out, Micros duration, Micros unit) {
  const std::uint64_t hundredth = static_cast<std::uint64_t>(unit / 100);
  const bool negative = duration < 0;
  // Magnitude as unsigned, valid even for INT64_MIN.
  const std::uint64_t mag = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(duration)
                                     : static_cast<std::uint64_t>(duration);
  std::uint64_t h = mag / hundredth;
  if (mag % hundredth >= hundredth - mag % hundredth) ++h;  // remainder >= half
  if (negative && h != 0) out.push_back('-');
  append_number(out, h / 100);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + h % 100 / 10));
  out.push_back(static_cast<char>('0' + h % 10));
}

}  // namespace

double to_report_unit(Window window, Micros duration) noexcept {
  return static_cast<double>(duration) / static_cast<double>(unit_of(window));
}

std::string_view csv_header() noexcept { return kHeader; }

void append_csv_row(std::string& out, std::string_view store_id, const StoreDurations& d) {
  if (store_id.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(store_id);
  } else {
    out.push_back('"');
    for (char c : store_id) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  for (const auto* values : {&d.uptime, &d.downtime}) {
    for (int w = 0; w < 3; ++w) {
      out.push_back(',');
      append_fixed2(out, (*values)[w], unit_of(w));
    }
  }
  out.push_back('\n');
}

std::array<std::string, 7> csv_fields(std::string_view store_id, const StoreDurations& d) {
  std::array<std::string, 7> fields;
  fields[0].assign(store_id);
  int field = 1;
  for (const auto* values : {&d.uptime, &d.downtime})
    for (int w = 0; w < 3; ++w) append_fixed2(fields[field++], (*values)[w], unit_of(w));
  return fields;
}

std::vector<std::vector<std::string>> split_csv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::size_t i = 0;
  while (i < text.size()) {
    std::vector<std::string>& record = records.emplace_back();
    for (;;) {  // one field per round
      std::string& field = record.emplace_back();
      if (i < text.size() && text[i] == '"') {
        for (++i;; ++i) {
          if (i >= text.size()) throw std::invalid_argument("CSV: unterminated quoted field");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.push_back('"');
              ++i;
            } else {
              ++i;
              break;
            }
          } else {
            field.push_back(text[i]);
          }
        }
      } else {
        const std::size_t end = text.find_first_of(",\"\n", i);
        if (end == std::string_view::npos) throw std::invalid_argument("CSV: missing line break");
        if (text[end] == '"') throw std::invalid_argument("CSV: quote inside an unquoted field");
        field.assign(text.substr(i, end - i));
        i = end;
      }
      if (i >= text.size()) throw std::invalid_argument("CSV: missing line break");
      if (text[i] == '\n') {
        ++i;
        break;
      }
      if (text[i] != ',') throw std::invalid_argument("CSV: text after a quoted field");
      ++i;
    }
  }
  return records;
}

}  // namespace store_monitoring
