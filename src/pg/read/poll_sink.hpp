// Where a read of polls delivers them: the reads of a source's rows
// (source_read.hpp) and of sealed polls (sealed_read.hpp).
#pragma once

#include "core/report_engine.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include <span>
#include <string_view>

namespace store_monitoring::pg {

// Receives polls (read_polls: in store_id byte order, then time order;
// read_polls_in_range: in any order) and store ids (read_poll_store_ids).
class PollSink {
 public:
  virtual void poll(std::string_view store_id, TimestampTz at, PollStatus status) = 0;
  virtual void store(std::string_view /*store_id*/) {}
  // Several polls of one store at once (a sealed row's), in core time
  // (Micros since 1970): each to poll() unless the sink takes them at once.
  virtual void store_polls(std::string_view store_id, std::span<const Poll> polls) {
    for (const Poll& p : polls) poll(store_id, p.at - kPgEpochInUnixMicros, p.status);
  }

 protected:
  ~PollSink() = default;
};

}  // namespace store_monitoring::pg
