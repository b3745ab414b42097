// libFuzzer target: the poll segment codec of src/core/poll_segment.hpp on
// arbitrary bytes. The first 4 bytes (little-endian, zero past the end) pick
// the day, the rest is the segment. Decoding either throws CorruptSegment or
// gives polls within the day in time order whose encoding is the input (the
// format is canonical); every reader agrees, and merges give the stable sort
// of both inputs. A disagreement prints the input and calls abort().
#include "poll_segment.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace store_monitoring;

std::int32_t g_day = 0;
std::string_view g_bytes;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "\nsegment_fuzzer: day %d, %zu bytes:", g_day, g_bytes.size());
  for (const char c : g_bytes) std::fprintf(stderr, " %02X", static_cast<unsigned char>(c));
  std::fprintf(stderr, "\n%s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

bool same(const std::vector<Poll>& a, const std::vector<Poll>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Poll& x, const Poll& y) {
    return x.at == y.at && x.status == y.status;
  });
}

// Throws CorruptSegment, or fails: nothing else may come out of `call`.
template <typename Call>
void expect_corrupt(const char* what, Call call) {
  try {
    call();
  } catch (const CorruptSegment&) {
    return;
  }
  fail(std::string(what) + ": accepted bytes that decode_segment refuses");
}

std::vector<Poll> stable_merged(std::vector<Poll> a, const std::vector<Poll>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::stable_sort(a.begin(), a.end(), [](const Poll& x, const Poll& y) { return x.at < y.at; });
  return a;
}

void check_merge(std::string_view what, const std::vector<Poll>& a, const std::vector<Poll>& b) {
  const std::string merged =
      merge_segments(g_day, encode_segment(g_day, a), encode_segment(g_day, b));
  const std::vector<Poll> want = stable_merged(a, b);
  std::vector<Poll> got;
  decode_segment(g_day, merged, got);
  if (!same(got, want)) fail(std::string(what) + ": merge is not the stable sort of both");
  if (merged != encode_segment(g_day, want))
    fail(std::string(what) + ": merge is not the encoding of its polls");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::uint32_t raw = 0;
  for (std::size_t i = 0; i < 4 && i < size; ++i) raw |= std::uint32_t{data[i]} << (8 * i);
  const std::size_t skip = std::min<std::size_t>(size, 4);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + skip, size - skip);
  g_bytes = bytes;
  g_day = static_cast<std::int32_t>(raw);
  if (g_day < kMinSegmentDay || g_day > kMaxSegmentDay) {
    // A day no segment holds is the caller's mistake, whatever the bytes.
    try {
      std::vector<Poll> polls;
      decode_segment(g_day, bytes, polls);
      fail("decoded for a day outside the segment days");
    } catch (const std::invalid_argument&) {
    }
    g_day %= kMaxSegmentDay + 1;  // within [-kMaxSegmentDay, kMaxSegmentDay]
  }
  const Micros start = segment_day_start(g_day);

  std::vector<Poll> polls;
  try {
    decode_segment(g_day, bytes, polls);
  } catch (const CorruptSegment&) {
    if (!polls.empty()) fail("a refused segment left polls behind");
    expect_corrupt("decode_segment(fn)",
                   [&] { decode_segment(g_day, bytes, [](Micros, PollStatus) {}); });
    expect_corrupt("segment_times", [&] { (void)segment_times(g_day, bytes); });
    const std::string one = encode_segment(g_day, std::vector<Poll>{{start, PollStatus::active}});
    expect_corrupt("merge_segments(bad, good)", [&] { (void)merge_segments(g_day, bytes, one); });
    expect_corrupt("merge_segments(good, bad)", [&] { (void)merge_segments(g_day, one, bytes); });
    return 0;
  }

  if (polls.empty()) fail("decoded to no polls");
  for (std::size_t i = 0; i < polls.size(); ++i) {
    if (polls[i].at < start || polls[i].at >= start + kMicrosPerDay)
      fail("poll " + std::to_string(i) + " outside the day");
    if (i > 0 && polls[i].at < polls[i - 1].at) fail("poll " + std::to_string(i) + " out of order");
    if (static_cast<std::uint8_t>(polls[i].status) > 1) fail("a status other than 0 or 1");
  }
  if (encode_segment(g_day, polls) != bytes) fail("not canonical: re-encoding differs");

  std::vector<Poll> seen;
  decode_segment(g_day, bytes, [&](Micros at, PollStatus status) { seen.push_back({at, status}); });
  if (!same(seen, polls)) fail("decode_segment(fn) differs from decode_segment(vector)");
  if (segment_poll_count(bytes) != polls.size()) fail("segment_poll_count differs");
  std::size_t header = 2;
  for (std::size_t n = polls.size(); n >= 0x80; n >>= 7) ++header;
  if (segment_poll_count(bytes.substr(0, header)) != polls.size())
    fail("segment_poll_count needs more than the header");
  const SegmentTimes times = segment_times(g_day, bytes);
  if (times.first != polls.front().at || times.last != polls.back().at)
    fail("segment_times differs");

  // With itself: every poll twice, a's copy first.
  check_merge("merge with itself", polls, polls);
  // Split in two (odd and even polls, then by status): the merge restores the
  // times, ties in a's-first order.
  if (polls.size() >= 2) {
    std::vector<Poll> even, odd, active, inactive;
    for (std::size_t i = 0; i < polls.size(); ++i) {
      (i % 2 ? odd : even).push_back(polls[i]);
      (polls[i].status == PollStatus::active ? active : inactive).push_back(polls[i]);
    }
    check_merge("merge of the odd and even polls", even, odd);
    check_merge("merge of the odd and even polls", odd, even);
    if (!active.empty() && !inactive.empty()) check_merge("merge by status", active, inactive);
  }
  return 0;
}
