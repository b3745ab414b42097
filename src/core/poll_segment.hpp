// The sealed form of the polls of one store for one UTC day: one compact byte
// string per (store, day) row, so that old polls cost a few bytes each and a
// report reads a day of a store in one row.
//
// Layout (integers are unsigned LEB128 varints, always in their shortest form):
//   format byte (1)
//   poll count n, n >= 1
//   n polls, each (delta << 1) | status, where delta is the poll's time minus
//     the previous poll's (the first: minus the day's start, UTC midnight), so
//     delta >= 0, and status is 1 for active, 0 for inactive
// The day itself is not stored: it is part of the row's key, and times are
// relative to it. An hourly poll with microsecond times takes 5 bytes. No
// checksum: the rows are small and PostgreSQL's page checksums cover the disk.
// Shortest-form varints make the encoding canonical: bytes that decode are
// exactly encode_segment of what they decode to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "report_engine.hpp"

namespace store_monitoring {

// Days whose every microsecond is a Micros, and whose end (the next day's
// start) is one too. Far wider than PostgreSQL's timestamps.
inline constexpr std::int32_t kMinSegmentDay =
    -static_cast<std::int32_t>(std::numeric_limits<Micros>::max() / kMicrosPerDay);
inline constexpr std::int32_t kMaxSegmentDay =
    static_cast<std::int32_t>(std::numeric_limits<Micros>::max() / kMicrosPerDay) - 1;

// The UTC day of `at`: days since 1970-01-01, rounded down (day -1 is
// 1969-12-31).
constexpr std::int32_t segment_day(Micros at) noexcept {
  Micros day = at / kMicrosPerDay;
  if (at % kMicrosPerDay < 0) --day;
  return static_cast<std::int32_t>(day);
}

// The first microsecond of `day`; `day` within [kMinSegmentDay, kMaxSegmentDay].
constexpr Micros segment_day_start(std::int32_t day) noexcept { return day * kMicrosPerDay; }

// Thrown for bytes that encode_segment (or merge_segments) did not write.
class CorruptSegment : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The segment of `polls`, the polls of one store within `day`, in time order
// (equal times allowed, kept in their order). Throws std::invalid_argument
// when there are none, when one lies outside the day or has a status other
// than active or inactive, when they are not in time order, or when `day` is
// outside [kMinSegmentDay, kMaxSegmentDay].
std::string encode_segment(std::int32_t day, std::span<const Poll> polls);

// Calls fn(Micros at, PollStatus status) for every poll of the segment, in
// stored (time) order. Throws CorruptSegment for bytes encode_segment could
// not have written (wrong format byte, empty, truncated, a varint too long or
// not in its shortest form, a time outside the day, a count that does not
// match the polls, trailing bytes); fn may have been called for the polls
// before the fault. Throws std::invalid_argument for a `day` outside
// [kMinSegmentDay, kMaxSegmentDay]. Safe on any bytes.
template <typename Fn>
void decode_segment(std::int32_t day, std::string_view bytes, Fn&& fn);

// Appends the segment's polls to `out`. Throws like the one above, and then
// leaves `out` as it was.
void decode_segment(std::int32_t day, std::string_view bytes, std::vector<Poll>& out);

// The poll count of a segment, from its header alone: reads at most its first
// 6 bytes, so a prefix of a segment will do. Throws CorruptSegment when the
// header is not one encode_segment writes.
std::uint32_t segment_poll_count(std::string_view bytes);

// The first and the last poll time of a segment, for the row's columns. Reads
// the whole segment (no allocation) and throws like decode_segment.
struct SegmentTimes {
  Micros first;
  Micros last;
  friend bool operator==(const SegmentTimes&, const SegmentTimes&) = default;
};
SegmentTimes segment_times(std::int32_t day, std::string_view bytes);

// The segment of the polls of both `a` and `b`, segments of the same day:
// every poll of each, duplicates included (a late poll, or one added twice, is
// kept), in time order; at equal times a's polls come before b's. Throws like
// decode_segment for either, and std::length_error past 2^32 - 1 polls.
std::string merge_segments(std::int32_t day, std::string_view a, std::string_view b);

// ---------------------------------------------------------------------------
// Inline decoding: it runs for millions of polls per report.
// ---------------------------------------------------------------------------

namespace segment_detail {

inline constexpr unsigned char kFormat = 1;
// A delta is below kMicrosPerDay < 2^37, so a poll takes at most 6 bytes; a
// count is below 2^32, at most 5 bytes.
inline constexpr int kMaxPollBytes = 6;
inline constexpr int kMaxCountBytes = 5;

[[noreturn]] void corrupt(const char* what);
[[noreturn]] void bad_day(std::int32_t day);

// Reads a shortest-form varint of at most max_bytes bytes at p (before end).
inline std::uint64_t read_varint(const unsigned char*& p, const unsigned char* end, int max_bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (p == end) corrupt("poll segment is truncated");
    const unsigned char byte = *p++;
    value |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A last byte of 0 adds nothing: a longer form of a shorter varint.
      if (byte == 0 && i > 0) corrupt("poll segment has a number not in its shortest form");
      return value;
    }
  }
  corrupt("poll segment has an overlong number");
}

// Reads a segment poll by poll, checking as it goes; finish() after the last
// one refuses bytes left over.
class SegmentCursor {
 public:
  SegmentCursor(std::int32_t day, std::string_view bytes)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {
    if (day < kMinSegmentDay || day > kMaxSegmentDay) bad_day(day);
    start_ = segment_day_start(day);
    if (p_ == end_) corrupt("poll segment is empty");
    if (*p_++ != kFormat) corrupt("poll segment has an unknown format");
    const std::uint64_t n = read_varint(p_, end_, kMaxCountBytes);
    if (n == 0) corrupt("poll segment has no polls");
    if (n > std::numeric_limits<std::uint32_t>::max())
      corrupt("poll segment has an overlong number");
    // Every poll takes at least one byte.
    if (n > static_cast<std::uint64_t>(end_ - p_)) corrupt("poll segment is truncated");
    remaining_ = static_cast<std::uint32_t>(n);
  }

  std::uint32_t remaining() const noexcept { return remaining_; }

  // The next poll; remaining() > 0.
  Poll next() {
    std::uint64_t value;
    if (p_ != end_ && *p_ < 0x80) {
      value = *p_++;
    } else {
      value = read_varint(p_, end_, kMaxPollBytes);
    }
    const std::uint64_t delta = value >> 1;
    // offset_ < kMicrosPerDay and value < 2^42: no overflow.
    if (delta >= static_cast<std::uint64_t>(kMicrosPerDay - offset_))
      corrupt("poll segment has a time outside its day");
    offset_ += static_cast<Micros>(delta);
    --remaining_;
    return Poll{start_ + offset_, static_cast<PollStatus>(value & 1)};
  }

  // After the last poll: throws unless every byte was read.
  void finish() const {
    if (p_ != end_) corrupt("poll segment has trailing bytes");
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
  Micros start_ = 0;
  Micros offset_ = 0;  // of the last poll read, from start_
  std::uint32_t remaining_ = 0;
};

}  // namespace segment_detail

template <typename Fn>
void decode_segment(std::int32_t day, std::string_view bytes, Fn&& fn) {
  segment_detail::SegmentCursor in(day, bytes);
  while (in.remaining() > 0) {
    const Poll poll = in.next();
    fn(poll.at, poll.status);
  }
  in.finish();
}

}  // namespace store_monitoring
