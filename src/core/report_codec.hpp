// The stored form of a complete report: one compact byte string holding,
// per store, the store id and the exact microseconds of uptime, downtime and
// unknown time for the three windows. Everything a reader shows (the CSV,
// report_rows()) is derived from it, so a report is stored once.
//
// Layout (all integers LEB128 varints; signed values zigzag-encoded):
//   "SMR" + format byte (1)
//   flags                  bit 0: unknown time recorded
//   store count n
//   n stores, each: its id front-coded against the previous one (bytes
//     shared with it, then the length and bytes of the rest), then uptime
//     [hour, day, week], downtime [...], and unknown [...] when recorded
//   FNV-1a 32-bit checksum of everything before it, 4 bytes little-endian
// Store by store, so that the CSV is rendered in one pass with no buffer
// but the CSV itself.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "report_engine.hpp"

namespace store_monitoring {

struct StoredReport {
  std::vector<std::string> store_ids;
  std::vector<StoreDurations> durations;
  bool has_unknown = true;  // false: unknown was not recorded (all zero)
};

// Thrown by decode_report for bytes that are not a report this code wrote.
class CorruptReport : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds encode_report's bytes one store at a time, so that a report need not
// hold its store ids and durations to store them (the worker encodes each
// store as it is computed). Same bytes as encode_report of the same stores.
class ReportEncoder {
 public:
  explicit ReportEncoder(bool has_unknown = true);
  void add(std::string_view store_id, const StoreDurations& durations);
  // Every store of a stored report, in its order, as add() would (the parts
  // of a report computed in key ranges, concatenated). Throws CorruptReport
  // like decode_report, std::invalid_argument when it records unknown time
  // and this encoder does not or the other way round.
  void append(std::string_view stored);
  // Room for `bytes` of stored form, so that it never moves while it grows
  // (a move holds it twice). Pages not yet written take no memory.
  void reserve(std::size_t bytes) { out_.reserve(bytes); }
  std::size_t store_count() const noexcept { return count_; }
  // The stored form; call once, last.
  std::string finish();

 private:
  std::string out_;  // kHeaderRoom bytes of room for the header, then the stores
  std::string previous_;
  std::size_t count_ = 0;
  bool has_unknown_;
};

// `store_ids` and `durations` have the same size (std::invalid_argument
// otherwise).
std::string encode_report(std::span<const std::string> store_ids,
                          std::span<const StoreDurations> durations, bool has_unknown = true);

// Throws CorruptReport for anything encode_report could not have written
// (wrong magic or version, truncation, trailing bytes, bad checksum).
StoredReport decode_report(std::string_view bytes);

// The CSV of a stored report (header and one line per store), exactly as
// append_csv_row renders each store from its microseconds.
std::string render_csv(const StoredReport& report);

// The same CSV straight from the stored bytes, without a string per store
// (the read path of get_report). Throws CorruptReport like decode_report.
std::string render_csv(std::string_view stored);

}  // namespace store_monitoring
