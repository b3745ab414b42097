// libFuzzer target: ReportEngine::compute_store against the brute-force
// reading of semantics.md in test/unit/brute_force.hpp (the same one the
// property test uses), plus the CSV line of append_csv_row.
//
// The fuzz bytes are decoded front to back (see test/fuzz/README.md for the
// layout) into one report (T near a zone change, H, interpolation mode) and
// one store (zone, 0-8 business-hours rows, 0-40 polls at even minutes, an
// arbitrary store id). Every breakpoint lands on a whole minute, so the
// brute force's minute-by-minute sums are exact and must equal the engine's
// microseconds. Any disagreement or broken invariant prints the decoded case
// and calls abort(), so libFuzzer saves the input as a crash.
#include "brute_force.hpp"
#include "report_engine.hpp"
#include "test_util.hpp"

#include "date_tz.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace {

using namespace store_monitoring;
using namespace sm_test;

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

// Reads the fuzz bytes front to back; past the end every byte reads as 0, so
// every input decodes to some case.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  // A value in [lo, hi] from 1, 2, 4 or 8 little-endian bytes, as few as the
  // span needs.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    const int bytes = span < 0x100 ? 1 : span < 0x10000 ? 2 : span < 0x100000000 ? 4 : 8;
    std::uint64_t raw = 0;
    for (int i = 0; i < bytes; ++i) raw |= std::uint64_t{byte()} << (8 * i);
    const std::uint64_t offset = span == UINT64_MAX ? raw : raw % (span + 1);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset);
  }

  std::int64_t int64() { return range(INT64_MIN, INT64_MAX); }

  std::string_view take(std::size_t n) {
    n = std::min(n, size_ - pos_);
    const std::string_view out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

  std::string_view rest() { return take(size_ - pos_); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// The zones of the property test; "" is the default zone (America/Chicago).
const char* const kZones[] = {"UTC",
                              "America/New_York",
                              "America/Los_Angeles",
                              "Australia/Lord_Howe",
                              "Asia/Kolkata",
                              "Europe/London",
                              ""};

// Names that are not IANA zones; compute_store must refuse them with
// std::runtime_error. "localtime" is a host-specific alias the OS database
// exposes, which the engine refuses on purpose.
const char* const kNotZones[] = {"localtime",         "Mars/Olympus_Mons", "utc",
                                 "America/New_York ", "America//New_York", "/UTC",
                                 "America/New_York\n"};

// Days (UTC midnights) near zone changes, with the zone that changes then.
struct Base {
  int year;
  unsigned month;
  unsigned day;
  const char* zone;
};
const Base kBases[] = {
    {2023, 3, 12, "America/New_York"},     // spring forward
    {2023, 11, 5, "America/Los_Angeles"},  // fall back
    {2023, 3, 26, "Europe/London"},        // spring forward
    {2023, 10, 29, "Europe/London"},       // fall back
    {2023, 4, 2, "Australia/Lord_Howe"},   // back by 30 minutes
    {2023, 10, 1, "Australia/Lord_Howe"},  // forward by 30 minutes
    {2024, 3, 10, "America/Los_Angeles"},  // spring forward, leap year
    {2023, 1, 23, "Asia/Kolkata"},         // nothing special (the worked example's week)
    {2023, 11, 5, "America/New_York"},     // fall back
    {1969, 4, 27, "America/New_York"},     // before the epoch: negative instants
    {1970, 1, 1, "Europe/London"},         // weeks that straddle the epoch
    {2040, 3, 11, "America/New_York"},     // past 2037 (end of 32-bit transition tables)
};

// kNearChange (test_util.hpp): local times around the changes above.

constexpr Micros kTwoMin = 2 * kMin;

// The even minute at or before t.
constexpr Micros even(Micros t) { return t - ((t % kTwoMin) + kTwoMin) % kTwoMin; }

struct Case {
  std::string zone;
  bool zone_is_garbage = false;
  int probe = -1;  // index into kNotZones, tried before the store; -1 for none
  ReportSettings settings{};
  std::vector<BusinessHours> hours;
  std::vector<Poll> polls;
  bool limits = false;  // also check the engine at the limits of T and H
  bool csv_extra = false;
  StoreDurations extra{};  // arbitrary durations for the rounding check
  std::string store_id;
};

Micros decode_h(Reader& in) {
  switch (in.byte() % 6) {
    case 0:
      return 0;
    case 1:
      return kHour;
    case 2:
      return 2 * kHour;
    case 3:
      return in.range(1, 300) * kMin;
    case 4:
      return in.range(1, 3 * 24 * 60) * kMin;  // up to three days
    default:
      return in.range(0, 10) * kMin;
  }
}

BusinessHours decode_row(Reader& in) {
  BusinessHours r{};
  r.day_of_week = in.byte() % 7;
  switch (in.byte() % 4) {
    case 0:
      r.start_local = kNearChange[in.byte() % std::size(kNearChange)];
      break;
    case 1:
      r.start_local = 24 * kHour;
      break;
    default:
      r.start_local = in.range(0, 1439) * kMin;
      break;
  }
  const int end_case = in.byte() % 8;
  switch (end_case) {
    case 0:  // open 24 hours
      r.end_local = r.start_local;
      break;
    case 1:
    case 2:
    case 3:
      r.end_local = kEndOfDay[end_case - 1];
      break;
    case 4:  // any second of 23:59 (all mean "until the end of the day")
      r.end_local = hms(23, 59, 0) + in.range(0, 60) * kSec;
      break;
    case 5:
      r.end_local = kNearChange[in.byte() % std::size(kNearChange)];
      break;
    case 6:  // a shift of 1 minute to almost a day, often overnight
      r.end_local = (r.start_local + in.range(1, 1439) * kMin) % kDay;
      break;
    default:
      r.end_local = in.range(0, 1440) * kMin;
      break;
  }
  return r;
}

std::vector<Poll> decode_polls(Reader& in, const ReportSettings& s,
                               const std::vector<Span>& boundaries) {
  std::vector<Poll> polls;
  const Micros t = s.as_of;
  const Micros lowest = t - kMicrosPerWeek - s.max_extrapolation;
  const Micros from = even(lowest - 4 * kHour);
  const Micros to = t + 2 * kHour;
  const int n = static_cast<int>(in.range(0, 40));
  for (int i = 0; i < n; ++i) {
    const std::uint8_t kind = in.byte();
    const PollStatus status = (kind & 0x80) != 0 ? PollStatus::active : PollStatus::inactive;
    Micros at;
    switch (kind & 7) {
      case 2:  // near T
        at = even(t) + in.range(-90, 30) * kTwoMin;
        break;
      case 3:  // near an opening or closing instant
        if (!boundaries.empty()) {
          const auto k = static_cast<std::size_t>(
              in.range(0, static_cast<std::int64_t>(2 * boundaries.size()) - 1));
          const Span& b = boundaries[k / 2];
          at = even(k % 2 == 0 ? b.begin : b.end) + in.range(-2, 2) * kTwoMin;
        } else {
          at = even(t);
        }
        break;
      case 4:  // same instant as the previous poll
        at = polls.empty() ? even(t) : polls.back().at;
        break;
      case 5:  // the low edge of the evidence range
        at = even(lowest) + in.range(-2, 2) * kTwoMin;
        break;
      case 6:  // at T (or the even minute before it), or just after
        at = even(t) + in.range(0, 2) * kTwoMin;
        break;
      default:  // anywhere from before the evidence range to after T
        at = from + in.range(0, (to - from) / kTwoMin) * kTwoMin;
        break;
    }
    polls.push_back({at, status});
  }
  return polls;
}

// ---------------------------------------------------------------------------
// Reporting a failure
// ---------------------------------------------------------------------------

// Printable ASCII as is, everything else (and the backslash) as \xNN.
std::string escaped(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if (b >= 0x20 && b < 0x7F && b != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", b);
      out += buf;
    }
  }
  return out;
}

std::string instant(Micros t) {
  using std::chrono::microseconds;
  return date::format("%F %T", date::sys_time<microseconds>{microseconds{t}}) + " UTC";
}

std::string local_time(Micros t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(t / kHour),
                static_cast<long long>(t / kMin % 60), static_cast<long long>(t / kSec % 60));
  return buf;
}

void print_durations(const char* label, const StoreDurations& d) {
  std::fprintf(stderr, "  %s: up {%lld, %lld, %lld} down {%lld, %lld, %lld} (microseconds)\n",
               label, static_cast<long long>(d.uptime[0]), static_cast<long long>(d.uptime[1]),
               static_cast<long long>(d.uptime[2]), static_cast<long long>(d.downtime[0]),
               static_cast<long long>(d.downtime[1]), static_cast<long long>(d.downtime[2]));
}

void print_case(const Case& c) {
  std::fprintf(stderr, "case:\n  zone \"%s\"%s\n", escaped(c.zone).c_str(),
               c.zone_is_garbage ? " (fuzzed name)" : "");
  if (c.probe >= 0) {
    std::fprintf(stderr, "  probe zone \"%s\" first\n", escaped(kNotZones[c.probe]).c_str());
  }
  std::fprintf(stderr, "  T %s (%lld)\n  H %lld min\n  interpolation %s\n",
               instant(c.settings.as_of).c_str(), static_cast<long long>(c.settings.as_of),
               static_cast<long long>(c.settings.max_extrapolation / kMin),
               c.settings.interpolation == Interpolation::nearest ? "nearest" : "previous");
  std::fprintf(stderr, "  %zu business-hours rows (day, start, end):\n", c.hours.size());
  for (const BusinessHours& r : c.hours) {
    std::fprintf(stderr, "    %d %s %s\n", r.day_of_week, local_time(r.start_local).c_str(),
                 local_time(r.end_local).c_str());
  }
  std::fprintf(stderr, "  %zu polls:\n", c.polls.size());
  for (const Poll& p : c.polls) {
    std::fprintf(stderr, "    %s %s\n", instant(p.at).c_str(),
                 p.status == PollStatus::active ? "active" : "inactive");
  }
  std::fprintf(stderr, "  store id \"%s\" (%zu bytes)\n", escaped(c.store_id).c_str(),
               c.store_id.size());
}

[[noreturn]] void fail(const Case& c, const std::string& what) {
  std::fprintf(stderr, "\nengine_fuzzer: %s\n", what.c_str());
  print_case(c);
  std::fflush(stderr);
  std::abort();
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

// Whether the engine must know `name` (per semantics.md: any IANA zone; the
// engine refuses the host alias "localtime").
bool zone_exists(const std::string& name) {
  if (name.empty()) return true;
  if (name == "localtime") return false;
  try {
    date::locate_zone(name);
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

// The brute force needs every UTC offset in play to be a whole minute (true
// for every zone since 1972, but not for a few zones before it).
bool offsets_whole_minutes(const std::string& name, const ReportSettings& s) {
  const date::time_zone* zone =
      date::locate_zone(name.empty() ? std::string(kDefaultTimeZone) : name);
  using std::chrono::seconds;
  const Micros from = s.as_of - kMicrosPerWeek - s.max_extrapolation - 12 * kDay;
  const Micros to = s.as_of + 3 * kDay;
  date::sys_seconds at{seconds{from / kSec}};
  while (at.time_since_epoch().count() * kSec < to) {
    const date::sys_info info = zone->get_info(at);
    if (info.offset.count() % 60 != 0) return false;
    if (info.end <= at) break;
    at = info.end;
  }
  return true;
}

// A std::runtime_error (exactly that type) that names the zone, and nothing
// else, from every entry point that takes a zone.
void expect_unknown_zone(const Case& c, ReportEngine& engine, const std::string& name) {
  auto check = [&](auto&& call, const char* entry) {
    try {
      call();
    } catch (const std::runtime_error& e) {
      if (typeid(e) != typeid(std::runtime_error)) {
        fail(c, std::string(entry) + ": unknown zone threw " + typeid(e).name() +
                    ", not std::runtime_error");
      }
      if (std::string_view(e.what()).find("unknown time zone") == std::string_view::npos) {
        fail(c, std::string(entry) + ": unexpected message: " + escaped(e.what()));
      }
      return;
    } catch (const std::exception& e) {
      fail(c, std::string(entry) + ": unknown zone threw " + typeid(e).name() + ": " + e.what());
    } catch (...) {
      fail(c,
           std::string(entry) + ": unknown zone threw something not derived from std::exception");
    }
    fail(c, std::string(entry) + ": accepted the unknown zone \"" + escaped(name) + "\"");
  };
  check([&] { engine.compute_store(name, c.hours, c.polls); }, "compute_store");
  check([&] { engine.open_intervals(name, c.hours, engine.evidence_range()); }, "open_intervals");
}

// One CSV record per RFC 4180 (with "\n" as the line break, as the engine
// writes it), which must be the whole of `line`; nullopt when malformed.
std::optional<std::vector<std::string>> parse_csv_line(std::string_view line) {
  if (line.empty() || line.back() != '\n') return std::nullopt;
  line.remove_suffix(1);
  std::vector<std::string> fields;
  std::size_t i = 0;
  for (;;) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return std::nullopt;  // no closing quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') return std::nullopt;  // text after the quote
    } else {
      while (i < line.size() && line[i] != ',') {
        const char ch = line[i];
        if (ch == '"' || ch == '\r' || ch == '\n') return std::nullopt;  // must be quoted
        field += ch;
        ++i;
      }
    }
    fields.push_back(std::move(field));
    if (i == line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

// The line parses back to the id and six values.
void check_csv_syntax(const Case& c, const std::string& line) {
  const auto fields = parse_csv_line(line);
  if (!fields) fail(c, "CSV line is not RFC 4180: " + escaped(line));
  if (fields->size() != 7) {
    fail(c, "CSV line has " + std::to_string(fields->size()) + " fields, not 7: " + escaped(line));
  }
  if ((*fields)[0] != c.store_id)
    fail(c, "CSV line does not give back the store id: " + escaped(line));
}

// Two decimals, rounded half away from zero, computed in 128 bits from the
// exact duration (a different route from the engine's).
std::string fixed2(Micros duration, Micros unit) {
  const bool negative = duration < 0;
  const unsigned __int128 mag = negative ? static_cast<unsigned __int128>(-(__int128{duration}))
                                         : static_cast<unsigned __int128>(duration);
  // round(mag * 100 / unit) with ties up = floor((200 * mag + unit) / (2 * unit))
  const unsigned __int128 h = (200 * mag + static_cast<unsigned __int128>(unit)) /
                              (2 * static_cast<unsigned __int128>(unit));
  std::string digits;
  unsigned __int128 whole = h / 100;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole != 0);
  const int frac = static_cast<int>(h % 100);
  return std::string(negative && h != 0 ? "-" : "") + digits + "." +
         static_cast<char>('0' + frac / 10) + static_cast<char>('0' + frac % 10);
}

void check_csv_rounding(const Case& c) {
  std::string line;
  append_csv_row(line, c.store_id, c.extra);
  check_csv_syntax(c, line);
  const auto fields = *parse_csv_line(line);
  for (int k = 0; k < 6; ++k) {
    const int w = k % 3;
    const Micros d = k < 3 ? c.extra.uptime[w] : c.extra.downtime[w];
    const std::string want = fixed2(d, w == last_hour ? kMin : kHour);
    if (fields[k + 1] != want) {
      fail(c,
           "CSV value " + std::to_string(d) + " us printed as " + fields[k + 1] + ", not " + want);
    }
  }
}

void check_store(const Case& c, ReportEngine& engine) {
  Store store;
  store.id = c.store_id;
  store.zone = c.zone;
  store.hours = c.hours;
  store.polls = c.polls;
  const BruteForce brute(store, c.settings);
  const bool exact = offsets_whole_minutes(c.zone, c.settings);

  StoreDurations got;
  try {
    got = engine.compute_store(c.zone, c.hours, c.polls);
  } catch (const std::exception& e) {
    fail(c, std::string("compute_store threw for a known zone: ") + e.what());
  }
  const Micros t = c.settings.as_of;
  const BruteForce::Minutes want = brute.minutes();

  // The open intervals: merged (sorted, disjoint, not touching), inside the
  // range, and equal to the brute force's reading at every minute.
  const Span range = engine.evidence_range();
  if (range.begin != t - kMicrosPerWeek - c.settings.max_extrapolation || range.end != t + 1) {
    fail(c, "evidence_range is not [T - 168 h - H, T + 1 us)");
  }
  const std::vector<Span> open = engine.open_intervals(c.zone, c.hours, range);
  std::array<Micros, 3> open_time{};
  for (std::size_t k = 0; k < open.size(); ++k) {
    if (!(open[k].begin < open[k].end)) fail(c, "open_intervals: empty interval");
    if (open[k].begin < range.begin || open[k].end > range.end) {
      fail(c, "open_intervals: interval outside the range");
    }
    if (k > 0 && !(open[k - 1].end < open[k].begin)) {
      fail(c, "open_intervals: intervals not sorted, disjoint and apart");
    }
    for (int w = 0; w < 3; ++w) {
      const Micros b = std::max(open[k].begin, t - kWindowLength[w]);
      const Micros e = std::min(open[k].end, t);
      if (e > b) open_time[w] += e - b;
    }
  }
  if (exact) {
    std::size_t k = 0;
    for (Micros m = even(range.begin); m < t; m += kMin) {
      const Micros mid = m + 30 * kSec;
      while (k < open.size() && open[k].end <= mid) ++k;
      const bool engine_open = k < open.size() && open[k].begin <= mid;
      if (mid >= range.begin && engine_open != brute.open_at(mid)) {
        fail(c, "open_intervals and the brute force disagree at " + instant(mid) +
                    (engine_open ? " (engine open)" : " (engine closed)"));
      }
    }
  }

  // Invariants.
  for (int w = 0; w < 3; ++w) {
    const Micros up = got.uptime[w];
    const Micros down = got.downtime[w];
    if (up < 0 || down < 0 || up > kWindowLength[w] || down > kWindowLength[w]) {
      print_durations("got", got);
      fail(c, "a value outside [0, window length]");
    }
    if (up + down != open_time[w]) {
      print_durations("got", got);
      fail(c, "uptime + downtime != open time in window " + std::to_string(w) + ": " +
                  std::to_string(up + down) + " vs " + std::to_string(open_time[w]));
    }
    if (w > 0 && (up < got.uptime[w - 1] || down < got.downtime[w - 1])) {
      print_durations("got", got);
      fail(c, "a longer window has less uptime or downtime than a shorter one");
    }
  }

  // The engine against the brute force.
  if (exact) {
    StoreDurations expected;
    for (int w = 0; w < 3; ++w) {
      expected.uptime[w] = want.active[w] * kMin;
      expected.downtime[w] = (want.open[w] - want.active[w]) * kMin;
      expected.unknown[w] = want.unknown[w] * kMin;
    }
    if (got != expected) {
      print_durations("engine     ", got);
      print_durations("brute force", expected);
      fail(c, "compute_store disagrees with the brute force");
    }
  }

  if (std::getenv("ENGINE_FUZZER_PRINT") != nullptr) {  // for looking at a corpus by hand
    print_case(c);
    print_durations("result", got);
    std::fprintf(stderr, "  compared with the brute force: %s\n", exact ? "yes" : "no");
  }

  // The same store again gives the same result (cached calendars, reused buffers).
  if (engine.compute_store(c.zone, c.hours, c.polls) != got) {
    fail(c, "a second compute_store of the same store gave another result");
  }

  // The CSV line: RFC 4180 back to the id and 7 fields, values as the brute force says.
  std::string line;
  append_csv_row(line, c.store_id, got);
  check_csv_syntax(c, line);
  if (exact && line != expected_csv(c.store_id, want)) {
    fail(c, "CSV line differs from the brute force's: " + escaped(line) + " vs " +
                escaped(expected_csv(c.store_id, want)));
  }
}

// The constructor refuses settings outside its documented limits with
// std::invalid_argument, accepts the limits themselves, and at the limits the
// store still computes without overflow and within the invariants (the brute
// force cannot follow there: the date library stops at the year 32767).
void check_limits(const Case& c, bool known) {
  const ReportSettings bad[] = {
      {c.settings.as_of, -kMin, c.settings.interpolation},
      {c.settings.as_of, kMaxExtrapolation + 1, c.settings.interpolation},
      {kMaxAbsAsOf + 1, c.settings.max_extrapolation, c.settings.interpolation},
      {-kMaxAbsAsOf - 1, c.settings.max_extrapolation, c.settings.interpolation},
  };
  for (const ReportSettings& s : bad) {
    try {
      ReportEngine engine(s);
      fail(c, "ReportEngine accepted T " + std::to_string(s.as_of) + ", H " +
                  std::to_string(s.max_extrapolation));
    } catch (const std::invalid_argument&) {
    }
  }
  if (!known) return;
  // open_intervals() clamps its range to [-kMaxAbsAsOf, kMaxAbsAsOf], so it
  // gives the open time only when the evidence range lies inside that.
  const ReportSettings edges[] = {
      {kMaxAbsAsOf, kMaxExtrapolation, c.settings.interpolation},
      {-kMaxAbsAsOf + kMicrosPerWeek + kMaxExtrapolation, kMaxExtrapolation,
       c.settings.interpolation},
      {-kMaxAbsAsOf, 0, c.settings.interpolation},
  };
  for (const ReportSettings& s : edges) {
    ReportEngine engine(s);
    std::vector<Poll> polls = c.polls;  // moved next to the new T, same offsets
    for (Poll& p : polls) p.at = p.at - c.settings.as_of + s.as_of;
    const StoreDurations got = engine.compute_store(c.zone, c.hours, polls);
    const Span range = engine.evidence_range();
    const bool clamped = range.begin < -kMaxAbsAsOf;
    const std::vector<Span> open = engine.open_intervals(c.zone, c.hours, range);
    for (int w = 0; w < 3; ++w) {
      Micros open_time = 0;
      for (const Span& sp : open) {
        const Micros b = std::max(sp.begin, s.as_of - kWindowLength[w]);
        const Micros e = std::min(sp.end, s.as_of);
        if (e > b) open_time += e - b;
      }
      if (c.hours.empty()) open_time = kWindowLength[w];  // 24x7
      const Micros up = got.uptime[w];
      const Micros down = got.downtime[w];
      if (up < 0 || down < 0 || up > kWindowLength[w] || down > kWindowLength[w] ||
          up + down > kWindowLength[w] ||
          ((!clamped || c.hours.empty()) && up + down != open_time)) {
        print_durations("got", got);
        fail(c, "invariants broken at T " + std::to_string(s.as_of) + ", H " +
                    std::to_string(s.max_extrapolation) + " in window " + std::to_string(w) +
                    ": open time " + std::to_string(open_time));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in(data, size);
  Case c;

  const std::uint8_t zone_sel = in.byte() % 16;
  const Base& base = kBases[in.byte() % std::size(kBases)];
  if (zone_sel < 8) {
    c.zone = base.zone;  // the zone that changes near T, half of the time
  } else if (zone_sel < 15) {
    c.zone = kZones[zone_sel - 8];
  } else {
    c.zone = std::string(in.take(in.byte() % 25));
    c.zone_is_garbage = true;
  }
  // T: any whole minute from two days before the base midnight to ten days after.
  const Micros t = utc(base.year, base.month, base.day) + in.range(-2 * 1440, 10 * 1440) * kMin;
  const Micros h = decode_h(in);
  const std::uint8_t flags = in.byte();
  c.settings = {t, h, (flags & 1) != 0 ? Interpolation::previous : Interpolation::nearest};
  if ((flags & 2) != 0) c.probe = ((flags >> 2) & 7) % std::size(kNotZones);
  c.limits = (flags & 0x20) != 0;
  c.csv_extra = (flags & 0x80) != 0;

  const int rows = static_cast<int>(in.range(0, 8));
  for (int i = 0; i < rows; ++i) c.hours.push_back(decode_row(in));

  const bool known = zone_exists(c.zone);
  std::vector<Span> boundaries;
  if (known) {
    Store without_polls;
    without_polls.zone = c.zone;
    without_polls.hours = c.hours;
    boundaries = BruteForce(without_polls, c.settings).raw_intervals();
  }
  c.polls = decode_polls(in, c.settings, boundaries);
  if (c.csv_extra) {
    for (int w = 0; w < 3; ++w) c.extra.uptime[w] = in.int64();
    for (int w = 0; w < 3; ++w) c.extra.downtime[w] = in.int64();
  }
  c.store_id = std::string(in.rest());

  ReportEngine engine(c.settings);
  if (c.probe >= 0) expect_unknown_zone(c, engine, kNotZones[c.probe]);
  if (is_known_time_zone(c.zone) != (known && !c.zone.empty())) {
    fail(c, "is_known_time_zone disagrees with the time-zone database");
  }
  if (known) {
    check_store(c, engine);
  } else {
    expect_unknown_zone(c, engine, c.zone);
    if (std::getenv("ENGINE_FUZZER_PRINT") != nullptr) {
      print_case(c);
      std::fprintf(stderr, "  unknown zone, refused as it should be\n");
    }
  }
  if (c.limits) check_limits(c, known);
  if (c.csv_extra) check_csv_rounding(c);
  return 0;
}
