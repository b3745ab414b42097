#include "report_codec.hpp"

#include <cstdint>

namespace store_monitoring {
namespace {

constexpr std::string_view kMagic = "SMR";
constexpr unsigned char kFormat = 1;
constexpr unsigned char kHasUnknown = 1;
// Store ids are at most 255 bytes (the input tables' CHECK); this bound keeps
// bad bytes from making decode_report allocate without limit.
constexpr std::size_t kMaxIdBytes = 65535;

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

// Magic, format, flags and a store count of at most 10 bytes.
constexpr std::size_t kHeaderRoom = 3 + 1 + 1 + 10;

ReportEncoder::ReportEncoder(bool has_unknown)
    : out_(kHeaderRoom, '\0'), has_unknown_(has_unknown) {}

void ReportEncoder::add(std::string_view id, const StoreDurations& d) {
  if (id.size() > kMaxIdBytes) throw std::invalid_argument("encode_report: store id too long");
  std::size_t shared = 0;
  while (shared < previous_.size() && shared < id.size() && previous_[shared] == id[shared])
    ++shared;
  put_varint(out_, shared);
  put_varint(out_, id.size() - shared);
  out_.append(id.substr(shared));
  previous_.assign(id);
  for (Micros value : d.uptime) put_varint(out_, zigzag(value));
  for (Micros value : d.downtime) put_varint(out_, zigzag(value));
  if (has_unknown_)
    for (Micros value : d.unknown) put_varint(out_, zigzag(value));
  ++count_;
}

std::string ReportEncoder::finish() {
  std::string header(kMagic);
  header.push_back(static_cast<char>(kFormat));
  header.push_back(static_cast<char>(has_unknown_ ? kHasUnknown : 0));
  put_varint(header, count_);
  // In place: the header right before the stores, the room before it erased
  // (a move within the buffer, never a second buffer).
  std::size_t start = kHeaderRoom - header.size();
  out_.replace(start, header.size(), header);
  out_.erase(0, start);
  std::uint32_t checksum = fnv1a(out_);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((checksum >> (8 * i)) & 0xFF));
  return std::move(out_);
}

std::string encode_report(std::span<const std::string> store_ids,
                          std::span<const StoreDurations> durations, bool has_unknown) {
  if (store_ids.size() != durations.size())
    throw std::invalid_argument("encode_report: as many durations as store ids");
  ReportEncoder encoder(has_unknown);
  for (std::size_t i = 0; i < store_ids.size(); ++i) encoder.add(store_ids[i], durations[i]);
  return encoder.finish();
}

namespace {

// Decodes `bytes` in one pass, calling visit(id, durations) for every store
// in order; returns whether unknown time was recorded.
template <typename Visit>
bool decode(std::string_view bytes, Visit visit) {
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
  bool has_unknown = (flags & kHasUnknown) != 0;
  std::size_t n = in.count();
  std::string id;
  StoreDurations d;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t shared = in.varint();
    if (shared > id.size()) throw CorruptReport("stored report has a bad store id");
    id.resize(shared);
    id.append(in.take(in.count()));
    if (id.size() > kMaxIdBytes) throw CorruptReport("stored report has a bad store id");
    for (Micros& value : d.uptime) value = unzigzag(in.varint());
    for (Micros& value : d.downtime) value = unzigzag(in.varint());
    if (has_unknown)
      for (Micros& value : d.unknown) value = unzigzag(in.varint());
    visit(std::string_view(id), d);
  }
  if (!in.at_end()) throw CorruptReport("stored report has trailing bytes");
  return has_unknown;
}

std::string csv_start(std::size_t stores) {
  std::string out(csv_header());
  out.push_back('\n');
  // About 60 bytes per line: one allocation for typical ids.
  out.reserve(out.size() + stores * 64);
  return out;
}

}  // namespace

void ReportEncoder::append(std::string_view stored) {
  // The flags before any store is added (decode() checks the rest).
  if (stored.size() > kMagic.size() + 1 &&
      ((static_cast<unsigned char>(stored[kMagic.size() + 1]) & kHasUnknown) != 0) != has_unknown_)
    throw std::invalid_argument("ReportEncoder::append: unknown time recorded in one form only");
  // Checked whole first: a corrupt part adds nothing.
  (void)decode(stored, [](std::string_view, const StoreDurations&) {});
  (void)decode(stored, [&](std::string_view id, const StoreDurations& d) { add(id, d); });
}

StoredReport decode_report(std::string_view bytes) {
  StoredReport report;
  report.has_unknown = decode(bytes, [&](std::string_view id, const StoreDurations& d) {
    report.store_ids.emplace_back(id);
    report.durations.push_back(d);
  });
  return report;
}

std::string render_csv(std::string_view bytes) {
  // Every store takes at least 8 bytes: a bound for the reservation.
  std::string out = csv_start(bytes.size() / 8);
  decode(bytes, [&](std::string_view id, const StoreDurations& d) { append_csv_row(out, id, d); });
  return out;
}

std::string render_csv(const StoredReport& report) {
  std::string out = csv_start(report.store_ids.size());
  for (std::size_t i = 0; i < report.store_ids.size(); ++i)
    append_csv_row(out, report.store_ids[i], report.durations[i]);
  return out;
}

}  // namespace store_monitoring
