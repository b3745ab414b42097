// The computing core of store_monitoring: plain C++20, no PostgreSQL headers.
//
// Everything here follows the rules in README.md ("What the numbers mean").
// All instants are integer microseconds since the Unix epoch (UTC), so the
// arithmetic is exact; only the final presentation converts to minutes/hours.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace store_monitoring {

using Micros = std::int64_t;  // microseconds since 1970-01-01 00:00:00 UTC, or a duration

inline constexpr Micros kMicrosPerSecond = 1'000'000;
inline constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;
inline constexpr Micros kMicrosPerWeek = 7 * kMicrosPerDay;

// The zone of a store that has no time-zone row.
inline constexpr std::string_view kDefaultTimeZone = "America/Chicago";

// Half-open interval [begin, end) of instants.
struct Span {
  Micros begin;
  Micros end;
  friend bool operator==(const Span&, const Span&) = default;
};

enum class PollStatus : std::uint8_t { inactive = 0, active = 1 };

struct Poll {
  Micros at;
  PollStatus status;
};

// One business-hours row. day_of_week: 0 = Monday ... 6 = Sunday.
// start_local/end_local: microseconds after local midnight, 0 ..= 24 h
// (PostgreSQL's `time` accepts 24:00:00).
struct BusinessHours {
  int day_of_week;
  Micros start_local;
  Micros end_local;
};

enum class Interpolation { nearest, previous };

// Limits the engine accepts (see ReportEngine's constructor): H up to 366 days
// (so '1 year' = 365.25 days fits), T within about 146,000 years of 1970.
inline constexpr Micros kMaxExtrapolation = 366 * kMicrosPerDay;
inline constexpr Micros kMaxAbsAsOf = Micros{1} << 62;

struct ReportSettings {
  Micros as_of;              // the report's instant T
  Micros max_extrapolation;  // H, >= 0
  Interpolation interpolation = Interpolation::nearest;
};

// Window order used by every array below.
enum Window : int { last_hour = 0, last_day = 1, last_week = 2 };
inline constexpr std::array<Micros, 3> kWindowLength = {kMicrosPerHour, kMicrosPerDay,
                                                        kMicrosPerWeek};

// Exact results for one store, per window, in microseconds. `unknown` is the
// part of `downtime` with no evidence poll close enough (it is included in
// downtime, never added to it).
struct StoreDurations {
  std::array<Micros, 3> uptime{};
  std::array<Micros, 3> downtime{};
  std::array<Micros, 3> unknown{};
  friend bool operator==(const StoreDurations&, const StoreDurations&) = default;
};

// One entry of a store's explained timeline (ReportEngine::explain_store).
// closed/up/down/unknown are the intervals of [T - 168 h, T); ignored_poll is
// a poll of the evidence range taken while the store was closed.
enum class TimelineKind : std::uint8_t { closed, up, down, unknown, ignored_poll };

struct TimelineEntry {
  TimelineKind kind;
  Span utc;    // ignored_poll: {at, at}
  Span local;  // the same instants as local times of the store's zone
  // Index in `hours` of the business-hours row whose interval holds it
  // (up/down/unknown), -1 for closed, ignored_poll and a store open 24x7.
  int hours_row = -1;
  // up/down: the evidence poll that decides it; ignored_poll: that poll.
  bool has_poll = false;
  Poll poll{};
};

// True when the time-zone database knows `name` as an IANA zone or link.
// Never throws.
bool is_known_time_zone(std::string_view name) noexcept;

// Computes stores one at a time for one report. Keeps per-zone calendars
// (UTC offsets over the report's range) so that repeated zones cost nothing.
// Not thread-safe; use one engine per thread.
class ReportEngine {
 public:
  // Throws std::invalid_argument for a max_extrapolation outside
  // [0, kMaxExtrapolation] or an as_of outside [-kMaxAbsAsOf, kMaxAbsAsOf]
  // (bounds that keep every intermediate sum far from overflow).
  explicit ReportEngine(ReportSettings settings);
  ~ReportEngine();
  ReportEngine(const ReportEngine&) = delete;
  ReportEngine& operator=(const ReportEngine&) = delete;

  const ReportSettings& settings() const noexcept;

  // Called every few thousand steps of the loops whose length the inputs set
  // (polls, business-hours rows, timeline entries), so that a caller can stop
  // a long call: an exception it throws leaves the call. None by default.
  void set_interrupt_check(std::function<void()> check);

  // Instants whose polls may be evidence: [T - 168 h - H, T + 1 us).
  Span evidence_range() const noexcept;

  // One store. `time_zone` empty means kDefaultTimeZone. `hours` in any order
  // (empty: open 24x7). `polls` in any order, may include polls outside the
  // evidence range (ignored). Throws std::runtime_error for an unknown zone.
  StoreDurations compute_store(std::string_view time_zone, std::span<const BusinessHours> hours,
                               std::span<const Poll> polls);

  // The store's timeline: the intervals of [T - 168 h, T) in time order, each
  // as long as its kind, its business-hours row and its deciding poll stay the
  // same (closed intervals are maximal), with the ignored polls interleaved by
  // time. Summed per window, the intervals give compute_store's numbers
  // exactly. Same arguments and errors as compute_store.
  std::vector<TimelineEntry> explain_store(std::string_view time_zone,
                                           std::span<const BusinessHours> hours,
                                           std::span<const Poll> polls);

  // Building blocks, exposed for tests.
  // Merged, sorted open intervals in UTC that intersect `range`, clipped to it.
  std::vector<Span> open_intervals(std::string_view time_zone, std::span<const BusinessHours> hours,
                                   Span range);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Presentation. Minutes for the last hour, hours for day and week.
double to_report_unit(Window window, Micros duration) noexcept;

// The CSV header line, without a line break.
std::string_view csv_header() noexcept;

// Appends one CSV line (with "\n") for a store: values with exactly two
// decimals, rounded half away from zero from the exact microseconds; the
// store id quoted per RFC 4180 only when it contains a comma, quote, CR or LF.
void append_csv_row(std::string& out, std::string_view store_id, const StoreDurations& d);

// The fields of that line, unquoted: the store id, then the six values as
// append_csv_row writes them (what split_csv gives back for the line).
std::array<std::string, 7> csv_fields(std::string_view store_id, const StoreDurations& d);

// Splits CSV text as append_csv_row writes it (RFC 4180: a field in double
// quotes may hold commas, line breaks and doubled quotes; every line ends
// with "\n") into records of fields. Throws std::invalid_argument for text
// that is not such CSV.
std::vector<std::vector<std::string>> split_csv(std::string_view text);

}  // namespace store_monitoring
