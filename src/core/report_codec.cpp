#include "report_codec.hpp"

#include <cstdint>

namespace store_monitoring {
namespace {

constexpr std::string_view kMagic = "SMR";
constexpr unsigned char kFormat = 1;
constexpr unsigned char kHasUnknown = 1;

std::uint32_t fnv1a(std::string_view bytes) noexcept {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::uint64_t zigzag(Micros value) noexcept {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

Micros unzigzag(std::uint64_t value) noexcept {
  return static_cast<Micros>((value >> 1) ^ (~(value & 1) + 1));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) throw CorruptReport("stored report is truncated");
      auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      if (shift == 63 && byte > 1) break;
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw CorruptReport("stored report has an overlong number");
  }

  // A count of items that each take at least one more byte.
  std::size_t count() {
    std::uint64_t value = varint();
    if (value > bytes_.size() - pos_) throw CorruptReport("stored report is truncated");
    return static_cast<std::size_t>(value);
  }

  std::string_view take(std::size_t n) {
    if (n > bytes_.size() - pos_) throw CorruptReport("stored report is truncated");
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  bool at_end() const noexcept { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string encode_report(std::span<const std::string> store_ids,
                          std::span<const StoreDurations> durations, bool has_unknown) {
  if (store_ids.size() != durations.size())
    throw std::invalid_argument("encode_report: as many durations as store ids");
  std::string out(kMagic);
  out.push_back(static_cast<char>(kFormat));
  out.push_back(static_cast<char>(has_unknown ? kHasUnknown : 0));
  put_varint(out, store_ids.size());
  std::string_view previous;
  for (const std::string& id : store_ids) {
    std::size_t shared = 0;
    while (shared < previous.size() && shared < id.size() && previous[shared] == id[shared])
      ++shared;
    put_varint(out, shared);
    put_varint(out, id.size() - shared);
    out.append(id, shared);
    previous = id;
  }
  auto column = [&](auto member, int window) {
    for (const StoreDurations& d : durations) put_varint(out, zigzag((d.*member)[window]));
  };
  for (int w = 0; w < 3; ++w) column(&StoreDurations::uptime, w);
  for (int w = 0; w < 3; ++w) column(&StoreDurations::downtime, w);
  if (has_unknown)
    for (int w = 0; w < 3; ++w) column(&StoreDurations::unknown, w);
  std::uint32_t checksum = fnv1a(out);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((checksum >> (8 * i)) & 0xFF));
  return out;
}

namespace {

// The decoded ids in one buffer (id i is [ends[i-1], ends[i])): two
// allocations for any number of stores, which keeps rendering a large
// report's CSV fast.
struct DecodedReport {
  std::string ids;
  std::vector<std::size_t> ends;
  std::vector<StoreDurations> durations;
  bool has_unknown = true;

  std::string_view id(std::size_t i) const noexcept {
    std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(ids).substr(begin, ends[i] - begin);
  }
};

DecodedReport decode(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 2 + 1 + 4 || bytes.substr(0, kMagic.size()) != kMagic)
    throw CorruptReport("not a stored report");
  if (static_cast<unsigned char>(bytes[kMagic.size()]) != kFormat)
    throw CorruptReport("stored report has an unknown format version");
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i)
    stored |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[body.size() + i]))
              << (8 * i);
  if (stored != fnv1a(body)) throw CorruptReport("stored report fails its checksum");

  Reader in(body.substr(kMagic.size() + 1));
  unsigned char flags = static_cast<unsigned char>(in.take(1)[0]);
  if ((flags & ~kHasUnknown) != 0) throw CorruptReport("stored report has unknown flags");
  DecodedReport report;
  report.has_unknown = (flags & kHasUnknown) != 0;
  std::size_t n = in.count();
  report.ends.reserve(n);
  report.durations.resize(n);
  report.ids.reserve(body.size());
  std::size_t previous_begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t previous_size = report.ids.size() - previous_begin;
    std::uint64_t shared = in.varint();
    if (shared > previous_size) throw CorruptReport("stored report has a bad store id");
    std::size_t begin = report.ids.size();
    std::string_view rest = in.take(in.count());
    // Front coding cannot expand the ids by more than this (every store
    // takes at least 8 bytes of the body): no memory blow-up from bad bytes.
    if (report.ids.size() + shared + rest.size() > 256 * body.size())
      throw CorruptReport("stored report has a bad store id");
    report.ids.append(report.ids, previous_begin, shared);
    report.ids.append(rest);
    report.ends.push_back(report.ids.size());
    previous_begin = begin;
  }
  auto column = [&](auto member, int window) {
    for (StoreDurations& d : report.durations) (d.*member)[window] = unzigzag(in.varint());
  };
  for (int w = 0; w < 3; ++w) column(&StoreDurations::uptime, w);
  for (int w = 0; w < 3; ++w) column(&StoreDurations::downtime, w);
  if (report.has_unknown)
    for (int w = 0; w < 3; ++w) column(&StoreDurations::unknown, w);
  if (!in.at_end()) throw CorruptReport("stored report has trailing bytes");
  return report;
}

std::string csv_of(std::size_t n, auto&& id, const std::vector<StoreDurations>& durations) {
  std::string out(csv_header());
  out.push_back('\n');
  // About 60 bytes per line: one allocation for typical ids.
  out.reserve(out.size() + n * 64);
  for (std::size_t i = 0; i < n; ++i) append_csv_row(out, id(i), durations[i]);
  return out;
}

}  // namespace

StoredReport decode_report(std::string_view bytes) {
  DecodedReport decoded = decode(bytes);
  StoredReport report;
  report.has_unknown = decoded.has_unknown;
  report.store_ids.reserve(decoded.ends.size());
  for (std::size_t i = 0; i < decoded.ends.size(); ++i)
    report.store_ids.emplace_back(decoded.id(i));
  report.durations = std::move(decoded.durations);
  return report;
}

std::string render_csv(std::string_view bytes) {
  DecodedReport report = decode(bytes);
  return csv_of(
      report.ends.size(), [&](std::size_t i) { return report.id(i); }, report.durations);
}

std::string render_csv(const StoredReport& report) {
  return csv_of(
      report.store_ids.size(),
      [&](std::size_t i) -> std::string_view { return report.store_ids[i]; }, report.durations);
}

}  // namespace store_monitoring
