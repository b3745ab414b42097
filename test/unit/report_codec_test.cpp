// The stored form of a report: exact round trip, the CSV rendered from it,
// and refusal of bytes it could not have written.
#include "report_codec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace store_monitoring;

StoreDurations durations(Micros seed) {
  StoreDurations d;
  for (int w = 0; w < 3; ++w) {
    d.uptime[w] = seed * (w + 1);
    d.downtime[w] = kWindowLength[w] - seed;
    d.unknown[w] = seed / 3;
  }
  return d;
}

TEST(ReportCodec, RoundTripKeepsEveryMicrosecond) {
  std::vector<std::string> ids = {"",   "a",   "a,b", "a\"b\nc",
                                  "ab", "abc", "b",   std::string(255, 'z')};
  std::vector<StoreDurations> ds;
  for (std::size_t i = 0; i < ids.size(); ++i)
    ds.push_back(durations(static_cast<Micros>(i) * 123457));
  ds[1].uptime[0] = std::numeric_limits<Micros>::max();
  ds[2].downtime[2] = std::numeric_limits<Micros>::min();
  ds[3].unknown[1] = -1;
  StoredReport back = decode_report(encode_report(ids, ds));
  EXPECT_TRUE(back.has_unknown);
  EXPECT_EQ(back.store_ids, ids);
  EXPECT_EQ(back.durations, ds);
}

TEST(ReportCodec, RandomRoundTrip) {
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    std::size_t n = random() % 50;
    std::vector<std::string> ids;
    std::vector<StoreDurations> ds;
    for (std::size_t i = 0; i < n; ++i) {
      std::string id;
      for (std::size_t k = random() % 12; k > 0; --k) id.push_back(static_cast<char>(random()));
      ids.push_back(id);
      StoreDurations d;
      for (int w = 0; w < 3; ++w) {
        d.uptime[w] = static_cast<Micros>(random());
        d.downtime[w] = static_cast<Micros>(random() % kMicrosPerWeek);
        d.unknown[w] = static_cast<Micros>(random() % 1000);
      }
      ds.push_back(d);
    }
    StoredReport back = decode_report(encode_report(ids, ds));
    ASSERT_EQ(back.store_ids, ids);
    ASSERT_EQ(back.durations, ds);
  }
}

TEST(ReportCodec, WithoutUnknownTheUnknownColumnsAreNotStored) {
  std::vector<std::string> ids = {"s1", "s2"};
  std::vector<StoreDurations> ds = {durations(5), durations(7)};
  std::string with = encode_report(ids, ds, true);
  std::string without = encode_report(ids, ds, false);
  EXPECT_LT(without.size(), with.size());
  StoredReport back = decode_report(without);
  EXPECT_FALSE(back.has_unknown);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(back.durations[i].uptime, ds[i].uptime);
    EXPECT_EQ(back.durations[i].downtime, ds[i].downtime);
    EXPECT_EQ(back.durations[i].unknown, (std::array<Micros, 3>{}));
  }
}

TEST(ReportCodec, RenderedCsvIsTheCsvOfTheMicroseconds) {
  std::vector<std::string> ids = {"1", "x,y"};
  std::vector<StoreDurations> ds = {durations(30 * kMicrosPerSecond),
                                    durations(kMicrosPerHour / 2)};
  std::string expected = std::string(csv_header()) + "\n";
  for (int i = 0; i < 2; ++i) append_csv_row(expected, ids[i], ds[i]);
  EXPECT_EQ(render_csv(decode_report(encode_report(ids, ds))), expected);
  EXPECT_EQ(render_csv(std::string_view(encode_report(ids, ds))), expected);
  EXPECT_EQ(render_csv(StoredReport{}), std::string(csv_header()) + "\n");
}

TEST(ReportCodec, MismatchedSizesAreRefused) {
  std::vector<std::string> ids = {"a"};
  EXPECT_THROW(encode_report(ids, {}), std::invalid_argument);
}

TEST(ReportCodec, CorruptInputIsRefused) {
  std::vector<std::string> ids = {"store-1", "store-2", "store-3"};
  std::vector<StoreDurations> ds = {durations(1), durations(2), durations(3)};
  const std::string good = encode_report(ids, ds);
  EXPECT_THROW(decode_report(""), CorruptReport);
  EXPECT_THROW(decode_report("SMR"), CorruptReport);
  EXPECT_THROW(decode_report("not a report at all"), CorruptReport);
  // Every truncation, every appended byte, every single-bit flip.
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_THROW(decode_report(good.substr(0, n)), CorruptReport) << "truncated at " << n;
  EXPECT_THROW(decode_report(good + '\0'), CorruptReport);
  EXPECT_THROW(render_csv(std::string_view(good + '\0')), CorruptReport);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_THROW(decode_report(bad), CorruptReport) << "byte " << i << " bit " << bit;
    }
  }
  // A later format version is refused, not misread.
  std::string future = good;
  future[3] = 2;
  EXPECT_THROW(decode_report(future), CorruptReport);
}

// Well-formed checksums over malformed bodies: the structure checks alone
// must refuse them.
std::string with_checksum(std::string body) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : body) {
    hash ^= c;
    hash *= 16777619u;
  }
  for (int i = 0; i < 4; ++i) body.push_back(static_cast<char>((hash >> (8 * i)) & 0xFF));
  return body;
}

TEST(ReportCodec, MalformedBodiesAreRefused) {
  std::string head = std::string("SMR") + '\x01' + '\x01';
  EXPECT_NO_THROW(decode_report(with_checksum(head + '\x00')));              // empty report
  EXPECT_THROW(decode_report(with_checksum(head + '\x05')), CorruptReport);  // 5 stores, no bytes
  EXPECT_THROW(decode_report(with_checksum(head + "\x01\x01\x01x")),
               CorruptReport);  // shares 1 byte with nothing
  EXPECT_THROW(decode_report(with_checksum(head + "\x01\x00\x09x")),
               CorruptReport);  // id longer than the data
  EXPECT_THROW(decode_report(with_checksum(std::string("SMR") + '\x01' + '\x04' + '\x00')),
               CorruptReport);  // unknown flag
  std::string overlong = head + '\x01' + '\x00' + '\x01' + 'x';
  overlong += std::string(10, '\xFF');
  EXPECT_THROW(decode_report(with_checksum(overlong)), CorruptReport);
}

}  // namespace

namespace {

// A report computed in key ranges: its parts, appended in order, give the
// bytes of the whole, split anywhere (the front coding starts again at each
// part, and continues across them once appended).
TEST(ReportEncoder, AppendedPartsGiveTheWholeReportsBytes) {
  std::vector<std::string> ids = {"a", "aa", "aab", "ab", "b", "ba", "bab", "c"};
  std::vector<StoreDurations> ds;
  for (std::size_t i = 0; i < ids.size(); ++i) ds.push_back(durations(static_cast<Micros>(i) * 77));
  for (bool has_unknown : {true, false}) {
    const std::string whole = encode_report(ids, ds, has_unknown);
    for (std::size_t cut = 0; cut <= ids.size(); ++cut) {
      ReportEncoder parts(has_unknown);
      parts.append(encode_report(std::span(ids).first(cut), std::span(ds).first(cut), has_unknown));
      parts.append(
          encode_report(std::span(ids).subspan(cut), std::span(ds).subspan(cut), has_unknown));
      EXPECT_EQ(parts.store_count(), ids.size());
      EXPECT_EQ(parts.finish(), whole) << "cut at " << cut;
    }
  }
}

TEST(ReportEncoder, AppendRefusesAnotherFormAndCorruptParts) {
  std::vector<std::string> ids = {"a"};
  std::vector<StoreDurations> ds = {durations(5)};
  ReportEncoder encoder(true);
  EXPECT_THROW(encoder.append(encode_report(ids, ds, false)), std::invalid_argument);
  std::string corrupt = encode_report(ids, ds, true);
  corrupt[corrupt.size() - 1] ^= 1;
  EXPECT_THROW(encoder.append(corrupt), CorruptReport);
  EXPECT_EQ(encoder.store_count(), 0u);
}

}  // namespace
