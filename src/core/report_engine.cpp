#include "report_engine.hpp"

#include "zone_calendar.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace store_monitoring {
namespace {

using detail::ZoneCalendar;

// Closing times at or after this mean "until the end of the day" (spec rule 1).
constexpr Micros kEndOfDayFrom = 23 * kMicrosPerHour + 59 * kMicrosPerMinute;

// A local date's intervals reach at most two days past its midnight and UTC
// offsets stay within a day, so a calendar covering this margin around a range
// converts every local time open_intervals() computes for it.
constexpr Micros kNeededMarginBefore = 5 * kMicrosPerDay;
constexpr Micros kNeededMarginAfter = 6 * kMicrosPerDay;
// Cached calendars cover a little more, so the evidence range always fits.
constexpr Micros kCachedMargin = 7 * kMicrosPerDay;

constexpr Micros floor_div(Micros a, Micros b) noexcept { return a / b - (a % b < 0 ? 1 : 0); }

// 1970-01-01 was a Thursday; 0 = Monday.
constexpr int weekday_of_day(Micros day) noexcept {
  const Micros m = (day + 3) % 7;
  return static_cast<int>(m < 0 ? m + 7 : m);
}

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Length of [s, e) inside [lo, hi).
constexpr Micros overlap(Micros s, Micros e, Micros lo, Micros hi) noexcept {
  const Micros b = std::max(s, lo);
  const Micros f = std::min(e, hi);
  return f > b ? f - b : 0;
}

}  // namespace

bool is_known_time_zone(std::string_view name) noexcept {
  return detail::find_zone(name) != nullptr;
}

struct ReportEngine::Impl {
  ReportSettings settings;
  Span evidence;
  Span cached_cover;

  std::unordered_map<std::string, ZoneCalendar, NameHash, std::equal_to<>> calendars;
  // Consecutive stores often share a zone; skip the hash lookup then.
  std::string last_name;
  const ZoneCalendar* last = nullptr;

  // Buffers reused across stores so that the hot path does not allocate.
  struct RawOpen {
    Span span;
    int row;  // index of the business-hours row that opens it
  };
  std::vector<RawOpen> raw;  // after build_open: sorted by begin, clipped
  std::vector<Span> open;
  std::vector<Span> active;
  std::vector<Span> known;  // instants whose status some evidence poll decides
  std::vector<std::uint64_t> poll_keys;
  std::vector<Poll> evidence_polls;

  std::function<void()> interrupt_check;
  std::uint32_t steps = 0;
  // One step of a loop whose length the inputs set.
  void step() {
    if (interrupt_check && (++steps & 4095) == 0) interrupt_check();
  }

  const ZoneCalendar& calendar(std::string_view name);
  void build_open(const ZoneCalendar& cal, std::span<const BusinessHours> hours, Span range,
                  std::vector<Span>& out);
  void collect_evidence(std::span<const Poll> polls);
  void build_active();
  void build_known();
};

const ZoneCalendar& ReportEngine::Impl::calendar(std::string_view name) {
  if (name.empty()) name = kDefaultTimeZone;
  if (last != nullptr && name == last_name) return *last;
  auto it = calendars.find(name);
  if (it == calendars.end()) {
    const date::time_zone* zone = detail::find_zone(name);
    if (zone == nullptr) {
      throw std::runtime_error("unknown time zone \"" + std::string(name) + "\"");
    }
    it = calendars.emplace(std::string(name), ZoneCalendar(*zone, cached_cover)).first;
  }
  last_name.assign(name);
  last = &it->second;  // unordered_map never moves its elements
  return *last;
}

void ReportEngine::Impl::build_open(const ZoneCalendar& cal, std::span<const BusinessHours> hours,
                                    Span range, std::vector<Span>& out) {
  out.clear();
  raw.clear();
  if (range.begin >= range.end) return;
  if (hours.empty()) {  // no rows at all: open 24x7
    out.push_back(range);
    return;
  }
  const Micros first_day = floor_div(range.begin, kMicrosPerDay) - 2;
  const Micros last_day = floor_div(range.end, kMicrosPerDay) + 2;
  for (Micros day = first_day; day <= last_day; ++day) {
    const int weekday = weekday_of_day(day);
    const Micros midnight = day * kMicrosPerDay;
    for (std::size_t row_index = 0; row_index < hours.size(); ++row_index) {
      step();
      const BusinessHours& row = hours[row_index];
      if (row.day_of_week != weekday) continue;
      // Rows are validated upstream; clamping only keeps bad input from overflowing.
      const Micros s = std::clamp<Micros>(row.start_local, 0, kMicrosPerDay);
      const Micros e = std::clamp<Micros>(row.end_local, 0, kMicrosPerDay);
      Micros close;
      if (e >= kEndOfDayFrom) {
        close = midnight + kMicrosPerDay;
      } else if (e > s) {
        close = midnight + e;
      } else {
        close = midnight + kMicrosPerDay + e;  // overnight; s == e is 24 hours
      }
      const Micros begin_utc = cal.to_utc(midnight + s);
      const Micros end_utc = cal.to_utc(close);
      if (begin_utc < end_utc && end_utc > range.begin && begin_utc < range.end) {
        raw.push_back({{std::max(begin_utc, range.begin), std::min(end_utc, range.end)},
                       static_cast<int>(row_index)});
      }
    }
  }
  std::sort(raw.begin(), raw.end(),
            [](const RawOpen& a, const RawOpen& b) { return a.span.begin < b.span.begin; });
  for (const auto& [s, row] : raw) {
    if (!out.empty() && s.begin <= out.back().end) {
      out.back().end = std::max(out.back().end, s.end);
    } else {
      out.push_back(s);
    }
  }
}

void ReportEngine::Impl::collect_evidence(std::span<const Poll> polls) {
  // Keep only polls taken while open (half-open intervals: a poll at a closing
  // instant is not evidence), then sort what is left. Polls are packed into
  // one integer, offset in the range then status, because sorting integers is
  // much faster than sorting structs; inactive (0) sorts first at an instant.
  std::vector<std::uint64_t>& keys = poll_keys;
  keys.clear();
  for (const Poll& p : polls) {
    step();
    if (p.at < evidence.begin || p.at >= evidence.end) continue;
    auto after = std::upper_bound(open.begin(), open.end(), p.at,
                                  [](Micros at, const Span& s) { return at < s.begin; });
    if (after == open.begin() || p.at >= (after - 1)->end) continue;
    keys.push_back(static_cast<std::uint64_t>(p.at - evidence.begin) << 1 |
                   static_cast<std::uint64_t>(p.status == PollStatus::active));
  }
  if (!std::is_sorted(keys.begin(), keys.end())) std::sort(keys.begin(), keys.end());

  // One poll per instant: the first, so inactive wins.
  std::vector<Poll>& ev = evidence_polls;
  ev.clear();
  for (const std::uint64_t key : keys) {
    step();
    const Micros at = evidence.begin + static_cast<Micros>(key >> 1);
    if (!ev.empty() && ev.back().at == at) continue;
    ev.push_back({at, (key & 1) != 0 ? PollStatus::active : PollStatus::inactive});
  }
}

void ReportEngine::Impl::build_active() {
  active.clear();
  const std::vector<Poll>& ev = evidence_polls;
  const Micros h = settings.max_extrapolation;
  const bool nearest = settings.interpolation == Interpolation::nearest;
  const std::size_t n = ev.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (ev[i].status != PollStatus::active) continue;
    const Micros a = ev[i].at;
    Micros from;
    Micros to = a + h;
    if (nearest) {
      // Nearest poll within H: the boundary with a neighbour is the midpoint.
      from = a - h;
      if (i > 0) from = std::max(from, ev[i - 1].at + (a - ev[i - 1].at) / 2);
      if (i + 1 < n) to = std::min(to, a + (ev[i + 1].at - a) / 2);
    } else {
      // Carry forward for at most H, until the next poll.
      from = a;
      if (i + 1 < n) to = std::min(to, ev[i + 1].at);
    }
    if (from >= to) continue;
    if (!active.empty() && from <= active.back().end) {
      active.back().end = std::max(active.back().end, to);
    } else {
      active.push_back({from, to});
    }
  }
}

void ReportEngine::Impl::build_known() {
  // An evidence poll decides the status within H of it: on both sides with
  // `nearest`, after it with `previous`. Evidence is sorted, so the spans
  // come in order of their start.
  known.clear();
  const Micros h = settings.max_extrapolation;
  const bool nearest = settings.interpolation == Interpolation::nearest;
  for (const Poll& p : evidence_polls) {
    const Micros from = nearest ? p.at - h : p.at;
    const Micros to = p.at + h;
    if (from >= to) continue;
    if (!known.empty() && from <= known.back().end) {
      known.back().end = std::max(known.back().end, to);
    } else {
      known.push_back({from, to});
    }
  }
}

namespace {
// Adds, per window ending at t, the length of the intersection of two sorted
// lists of disjoint spans.
void add_intersection(const std::vector<Span>& a, const std::vector<Span>& b, Micros t,
                      std::array<Micros, 3>& out) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const Micros begin = std::max(a[i].begin, b[j].begin);
    const Micros end = std::min(a[i].end, b[j].end);
    if (begin < end) {
      for (int w = 0; w < 3; ++w) out[w] += overlap(begin, end, t - kWindowLength[w], t);
    }
    if (a[i].end < b[j].end) {
      ++i;
    } else {
      ++j;
    }
  }
}
}  // namespace

ReportEngine::ReportEngine(ReportSettings settings) : impl_(std::make_unique<Impl>()) {
  if (settings.max_extrapolation < 0) {
    throw std::invalid_argument("max_extrapolation must not be negative");
  }
  if (settings.max_extrapolation > kMaxExtrapolation) {
    throw std::invalid_argument("max_extrapolation must be at most 366 days");
  }
  if (settings.as_of < -kMaxAbsAsOf || settings.as_of > kMaxAbsAsOf) {
    throw std::invalid_argument("as_of is out of the supported range");
  }
  impl_->settings = settings;
  impl_->evidence = {settings.as_of - kMicrosPerWeek - settings.max_extrapolation,
                     settings.as_of + 1};
  impl_->cached_cover = {impl_->evidence.begin - kCachedMargin,
                         impl_->evidence.end + kCachedMargin};
}

ReportEngine::~ReportEngine() = default;

const ReportSettings& ReportEngine::settings() const noexcept { return impl_->settings; }

Span ReportEngine::evidence_range() const noexcept { return impl_->evidence; }

void ReportEngine::set_interrupt_check(std::function<void()> check) {
  impl_->interrupt_check = std::move(check);
}

StoreDurations ReportEngine::compute_store(std::string_view time_zone,
                                           std::span<const BusinessHours> hours,
                                           std::span<const Poll> polls) {
  Impl& m = *impl_;
  m.build_open(m.calendar(time_zone), hours, m.evidence, m.open);
  m.collect_evidence(polls);
  m.build_active();
  m.build_known();

  const Micros t = m.settings.as_of;
  StoreDurations d;
  std::array<Micros, 3> open_time{};
  for (const Span& s : m.open) {
    for (int w = 0; w < 3; ++w) open_time[w] += overlap(s.begin, s.end, t - kWindowLength[w], t);
  }
  // All lists are sorted and disjoint: each intersection is one merge.
  add_intersection(m.open, m.active, t, d.uptime);
  std::array<Micros, 3> known_time{};
  add_intersection(m.open, m.known, t, known_time);
  for (int w = 0; w < 3; ++w) {
    d.downtime[w] = open_time[w] - d.uptime[w];
    d.unknown[w] = open_time[w] - known_time[w];
  }
  return d;
}

namespace {
// Appends an entry, merging it into the previous one when it continues it
// with the same kind, row and poll.
void append_entry(std::vector<TimelineEntry>& out, const TimelineEntry& e) {
  if (e.utc.begin >= e.utc.end) return;
  if (!out.empty()) {
    TimelineEntry& last = out.back();
    if (last.kind == e.kind && last.utc.end == e.utc.begin && last.hours_row == e.hours_row &&
        last.has_poll == e.has_poll && (!e.has_poll || last.poll.at == e.poll.at)) {
      last.utc.end = e.utc.end;
      return;
    }
  }
  out.push_back(e);
}
}  // namespace

std::vector<TimelineEntry> ReportEngine::explain_store(std::string_view time_zone,
                                                       std::span<const BusinessHours> hours,
                                                       std::span<const Poll> polls) {
  Impl& m = *impl_;
  const ZoneCalendar& cal = m.calendar(time_zone);
  m.build_open(cal, hours, m.evidence, m.open);
  m.collect_evidence(polls);  // the same evidence as compute_store's

  // Polls of the evidence range taken while closed.
  std::vector<Poll> ignored;
  for (const Poll& p : polls) {
    m.step();
    if (p.at < m.evidence.begin || p.at >= m.evidence.end) continue;
    auto after = std::upper_bound(m.open.begin(), m.open.end(), p.at,
                                  [](Micros at, const Span& s) { return at < s.begin; });
    if (after == m.open.begin() || p.at >= (after - 1)->end) ignored.push_back(p);
  }
  std::sort(ignored.begin(), ignored.end(), [](const Poll& a, const Poll& b) {
    return a.at != b.at ? a.at < b.at : a.status < b.status;
  });

  // The instants each evidence poll decides (sorted, disjoint): what
  // build_active and build_known compute, kept per poll.
  struct Decided {
    Span span;
    Poll poll;
  };
  std::vector<Decided> decided;
  const std::vector<Poll>& ev = m.evidence_polls;
  const Micros h = m.settings.max_extrapolation;
  const bool nearest = m.settings.interpolation == Interpolation::nearest;
  for (std::size_t i = 0; i < ev.size(); ++i) {
    m.step();
    const Micros a = ev[i].at;
    Micros from = nearest ? a - h : a;
    Micros to = a + h;
    if (nearest && i > 0) from = std::max(from, ev[i - 1].at + (a - ev[i - 1].at) / 2);
    if (i + 1 < ev.size()) to = std::min(to, nearest ? a + (ev[i + 1].at - a) / 2 : ev[i + 1].at);
    if (from < to) decided.push_back({{from, to}, ev[i]});
  }

  // Open pieces of the week, each credited to the row that opens it: the
  // earliest-starting row among those still open past the previous piece.
  const Span week{m.settings.as_of - kMicrosPerWeek, m.settings.as_of};
  std::vector<Span> week_open;
  m.build_open(cal, hours, week, week_open);
  struct Piece {
    Span span;
    int row;
  };
  std::vector<Piece> pieces;
  if (hours.empty()) {
    for (const Span& s : week_open) pieces.push_back({s, -1});
  } else {
    Micros covered = week.begin;
    for (const auto& [s, row] : m.raw) {
      m.step();
      const Micros from = std::max(s.begin, covered);
      if (from < s.end) pieces.push_back({{from, s.end}, row});
      covered = std::max(covered, s.end);
    }
  }

  std::vector<TimelineEntry> out;
  Micros cursor = week.begin;
  std::size_t j = 0;
  for (const Piece& piece : pieces) {
    append_entry(out, {TimelineKind::closed, {cursor, piece.span.begin}, {}, -1, false, {}});
    Micros t = piece.span.begin;
    while (t < piece.span.end) {
      m.step();
      while (j < decided.size() && decided[j].span.end <= t) ++j;
      if (j < decided.size() && decided[j].span.begin <= t) {
        const Micros to = std::min(decided[j].span.end, piece.span.end);
        const Poll& p = decided[j].poll;
        append_entry(out, {p.status == PollStatus::active ? TimelineKind::up : TimelineKind::down,
                           {t, to},
                           {},
                           piece.row,
                           true,
                           p});
        t = to;
      } else {
        const Micros to =
            j < decided.size() ? std::min(decided[j].span.begin, piece.span.end) : piece.span.end;
        append_entry(out, {TimelineKind::unknown, {t, to}, {}, piece.row, false, {}});
        t = to;
      }
    }
    cursor = piece.span.end;
  }
  append_entry(out, {TimelineKind::closed, {cursor, week.end}, {}, -1, false, {}});

  // Interleave the ignored polls: after the interval that starts at or
  // before them.
  std::vector<TimelineEntry> merged;
  merged.reserve(out.size() + ignored.size());
  std::size_t k = 0;
  for (const TimelineEntry& e : out) {
    m.step();
    while (k < ignored.size() && ignored[k].at < e.utc.begin) {
      m.step();
      merged.push_back(
          {TimelineKind::ignored_poll, {ignored[k].at, ignored[k].at}, {}, -1, true, ignored[k]});
      ++k;
    }
    merged.push_back(e);
  }
  for (; k < ignored.size(); ++k, m.step())
    merged.push_back(
        {TimelineKind::ignored_poll, {ignored[k].at, ignored[k].at}, {}, -1, true, ignored[k]});
  for (TimelineEntry& e : merged) {
    m.step();
    e.local = {cal.to_local(e.utc.begin), cal.to_local(e.utc.end)};
  }
  return merged;
}

std::vector<Span> ReportEngine::open_intervals(std::string_view time_zone,
                                               std::span<const BusinessHours> hours, Span range) {
  Impl& m = *impl_;
  // Keep the margin arithmetic far from overflow.
  range.begin = std::clamp(range.begin, -kMaxAbsAsOf, kMaxAbsAsOf);
  range.end = std::clamp(range.end, -kMaxAbsAsOf, kMaxAbsAsOf);
  const ZoneCalendar& cached = m.calendar(time_zone);
  const Span needed{range.begin - kNeededMarginBefore, range.end + kNeededMarginAfter};
  std::vector<Span> out;
  if (cached.covers(needed)) {
    m.build_open(cached, hours, range, out);
  } else {
    const ZoneCalendar wide(*cached.zone(), needed);
    m.build_open(wide, hours, range, out);
  }
  return out;
}

}  // namespace store_monitoring
