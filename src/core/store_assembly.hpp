// Assembling each store's input from the three sources: its polls, its
// business hours and its time zone, every store known to any source, in
// store_id byte order, handed one by one to a consumer (the report
// pipeline). Two ways, one per read of the polls: as they arrive in store
// order (StoreAssembler), or from polls already grouped per store
// (submit_stores).
#pragma once

#include <functional>
#include <string_view>

#include "poll_groups.hpp"
#include "report_engine.hpp"
#include "report_pipeline.hpp"
#include "store_tables.hpp"

namespace store_monitoring {

// Takes each finished store (ReportPipeline::submit); may throw to stop.
using StoreConsumer = std::function<void(StoreInput&&)>;

// Stores in byte order, merged from the three inputs: the polls arrive sorted
// (poll() calls in store_id byte order); business hours and zones were read
// and sorted before. Each finished store goes to the consumer; stores with
// hours or a zone but no polls get theirs in order too.
class StoreAssembler {
 public:
  StoreAssembler(const StoreHoursTable& hours, const StoreZoneTable& zones, StoreConsumer consumer)
      : hours_(hours), zones_(zones), consumer_(std::move(consumer)) {}

  // Only polls in [from, to] (inclusive) are kept as evidence candidates; the
  // others just make the store known (it gets a row all the same). None is
  // kept until this is called.
  void keep_polls_between(Micros from, Micros to) {
    from_ = from;
    to_ = to;
  }

  // Throws std::runtime_error when store ids arrive out of byte order (a
  // relation that broke it would give wrong numbers, never a crash).
  void poll(std::string_view store_id, Micros at, PollStatus status);

  // After the last poll: the current store and those left without polls.
  void finish();

 private:
  void emit_stores_without_polls_before(std::string_view limit);
  void start_store(std::string_view store_id);
  void finish_current();

  const StoreHoursTable& hours_;
  const StoreZoneTable& zones_;
  StoreConsumer consumer_;
  size_t next_hours_ = 0;
  size_t next_zone_ = 0;
  StoreInput current_;
  Micros from_ = 0;
  Micros to_ = -1;
};

// Every store of `groups` (which already holds the ids of the hours and
// zones too), in byte order, to the consumer with its hours, zone and polls.
void submit_stores(const PollGroups& groups, const StoreHoursTable& hours,
                   const StoreZoneTable& zones, const StoreConsumer& consumer);

}  // namespace store_monitoring
