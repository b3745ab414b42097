#include "poll_segment.hpp"

#include <string>

namespace store_monitoring {

namespace segment_detail {

void corrupt(const char* what) { throw CorruptSegment(what); }

void bad_day(std::int32_t day) {
  throw std::invalid_argument("poll segment: day " + std::to_string(day) +
                              " is outside the days a segment can hold");
}

}  // namespace segment_detail

namespace {

using segment_detail::kFormat;

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Writes a segment poll by poll; the caller checks the polls.
class SegmentWriter {
 public:
  SegmentWriter(std::int32_t day, std::size_t count) : previous_(segment_day_start(day)) {
    if (count > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error("poll segment: more than 2^32 - 1 polls");
    // Hourly polls take 5 bytes each: one allocation for most days.
    out_.reserve(1 + segment_detail::kMaxCountBytes + 5 * count);
    out_.push_back(static_cast<char>(kFormat));
    put_varint(out_, count);
  }

  void add(Micros at, PollStatus status) {
    put_varint(
        out_, static_cast<std::uint64_t>(at - previous_) << 1 | static_cast<std::uint64_t>(status));
    previous_ = at;
  }

  std::string finish() { return std::move(out_); }

 private:
  std::string out_;
  Micros previous_;
};

}  // namespace

std::string encode_segment(std::int32_t day, std::span<const Poll> polls) {
  if (day < kMinSegmentDay || day > kMaxSegmentDay) segment_detail::bad_day(day);
  if (polls.empty()) throw std::invalid_argument("encode_segment: no polls");
  const Micros start = segment_day_start(day);
  const Micros end = start + kMicrosPerDay;
  SegmentWriter out(day, polls.size());
  Micros previous = start;
  for (const Poll& poll : polls) {
    if (poll.at < start || poll.at >= end)
      throw std::invalid_argument("encode_segment: a poll outside the day");
    if (poll.at < previous) throw std::invalid_argument("encode_segment: polls not in time order");
    if (static_cast<std::uint8_t>(poll.status) > 1)
      throw std::invalid_argument("encode_segment: a status other than active or inactive");
    out.add(poll.at, poll.status);
    previous = poll.at;
  }
  return out.finish();
}

void decode_segment(std::int32_t day, std::string_view bytes, std::vector<Poll>& out) {
  const std::size_t before = out.size();
  try {
    segment_detail::SegmentCursor in(day, bytes);
    out.reserve(before + in.remaining());
    while (in.remaining() > 0) out.push_back(in.next());
    in.finish();
  } catch (const CorruptSegment&) {
    out.resize(before);
    throw;
  }
}

std::uint32_t segment_poll_count(std::string_view bytes) {
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto end = p + bytes.size();
  if (p == end) segment_detail::corrupt("poll segment is empty");
  if (*p++ != kFormat) segment_detail::corrupt("poll segment has an unknown format");
  const std::uint64_t n = segment_detail::read_varint(p, end, segment_detail::kMaxCountBytes);
  if (n == 0) segment_detail::corrupt("poll segment has no polls");
  if (n > std::numeric_limits<std::uint32_t>::max())
    segment_detail::corrupt("poll segment has an overlong number");
  return static_cast<std::uint32_t>(n);
}

SegmentTimes segment_times(std::int32_t day, std::string_view bytes) {
  segment_detail::SegmentCursor in(day, bytes);
  SegmentTimes times{};
  times.first = times.last = in.next().at;
  while (in.remaining() > 0) times.last = in.next().at;
  in.finish();
  return times;
}

std::string merge_segments(std::int32_t day, std::string_view a, std::string_view b) {
  segment_detail::SegmentCursor in_a(day, a);
  segment_detail::SegmentCursor in_b(day, b);
  SegmentWriter out(day, std::size_t{in_a.remaining()} + in_b.remaining());
  // Both cursors hold their next poll here (each has at least one).
  Poll next_a = in_a.next();
  Poll next_b = in_b.next();
  bool has_a = true;
  bool has_b = true;
  while (has_a && has_b) {
    if (next_a.at <= next_b.at) {
      out.add(next_a.at, next_a.status);
      has_a = in_a.remaining() > 0;
      if (has_a) next_a = in_a.next();
    } else {
      out.add(next_b.at, next_b.status);
      has_b = in_b.remaining() > 0;
      if (has_b) next_b = in_b.next();
    }
  }
  // One of them is done: the rest of the other, as it is.
  if (has_a) {
    out.add(next_a.at, next_a.status);
    while (in_a.remaining() > 0) {
      const Poll poll = in_a.next();
      out.add(poll.at, poll.status);
    }
  }
  if (has_b) {
    out.add(next_b.at, next_b.status);
    while (in_b.remaining() > 0) {
      const Poll poll = in_b.next();
      out.add(poll.at, poll.status);
    }
  }
  in_a.finish();
  in_b.finish();
  return out.finish();
}

}  // namespace store_monitoring
