#include "pg/read/store_report.hpp"

#include "core/store_tables.hpp"
#include "pg/read/source_read.hpp"
#include "pg/read/sources.hpp"
#include "pg/common/spi.hpp"

#include <array>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

class StorePolls final : public PollSink {
 public:
  void poll(std::string_view, TimestampTz at, PollStatus status) override {
    polls.push_back(Poll{at + kPgEpochInUnixMicros, status});
  }
  std::vector<Poll> polls;
};

}  // namespace

std::optional<StoreDurations> compute_store_now(std::string_view store_id,
                                                std::optional<TimestampTz> as_of,
                                                TimestampTz no_polls_as_of,
                                                int64 max_extrapolation_us,
                                                InterpolationSetting interpolation, Oid role) {
  SpiScope spi;
  Sources sources = configured_sources(role);
  // As the worker reads a report's inputs: the caller's privileges and
  // row-level security, in a security-restricted read whose settings end
  // with it.
  OwnerRead reader(role);
  std::array<SourceShape, 3> shapes = check_sources(sources, role);
  if (!as_of) as_of = newest_poll(shapes[0]).value_or(no_polls_as_of);
  ReportEngine engine({*as_of + kPgEpochInUnixMicros, max_extrapolation_us,
                       interpolation == InterpolationSetting::previous ? Interpolation::previous
                                                                       : Interpolation::nearest});
  Span range = engine.evidence_range();
  BadRows bad(false);  // the first bad row ends it, as it ends a report
  StoreHoursTable hours = read_business_hours(shapes[1], bad, store_id);
  StoreZoneTable zones = read_time_zones(shapes[2], bad, store_id);
  StorePolls polls;
  read_store_polls_in_range(shapes[0], store_id, range.begin - kPgEpochInUnixMicros,
                            range.end - 1 - kPgEpochInUnixMicros, polls, bad);
  if (hours.size() == 0 && zones.size() == 0 && polls.polls.empty() &&
      !store_has_polls(shapes[0], store_id))
    return std::nullopt;
  std::vector<BusinessHours> store_hours;
  if (hours.size() > 0) {
    auto rows = hours.hours(0);
    store_hours.assign(rows.begin(), rows.end());
  }
  std::string zone = zones.size() > 0 ? std::string(zones.zone(0)) : std::string();
  return engine.compute_store(zone, store_hours, polls.polls);
}

}  // namespace store_monitoring::pg
