// Reading sealed polls (store_monitoring.sealed_polls: one row per store and
// UTC day, written by seal/compaction.hpp) beside the rows of the default
// polls table, so that every read of it sees sealed polls as the rows they
// were. The reads run as the current role: the table's policy shows its
// rows to whoever may read store_status's columns.
#pragma once

#include "pg/read/poll_sink.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/sources.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/date.h"
}

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace store_monitoring::pg {

// Whether reads of `source` must read sealed polls too: it is the default
// polls table and sealed polls exist. Throws a UserError when store_status
// has row-level security of its own then (sealed rows cannot follow its
// policies).
bool reads_sealed_polls(const SourceShape& source);

// What a statement reading one store's polls of a time range (store_id,
// status, timestamp_utc; its $1 the store id, $2 and $3 the range's ends)
// names: the table's rows and the store's sealed polls of the range
// (sealed_poll_rows(), through the table's keys) when reads_sealed_polls(),
// else the source.
std::string store_polls_relation(const SourceShape& source);

// The core's day of a date of sealed_polls; nullopt for one no segment
// holds (infinity, written by hand or restored), checked before any
// arithmetic.
std::optional<int32_t> sealed_day(DateADT date);

// The error of a read of sealed polls while store_status has row-level
// security (`relation`: its name).
[[noreturn]] void refuse_sealed_under_row_security(const std::string& relation);

// The sealed polls of [from, to] to sink.poll(), in no particular order.
void read_sealed_in_range(TimestampTz from, TimestampTz to, PollSink& sink);

// The store id of every store with sealed polls to sink.store(), by a loose
// scan of the table's key (one descent per store).
void read_sealed_store_ids(PollSink& sink);

// The sealed polls of [from, to] of one store to sink.poll(), in time order.
void read_sealed_store_in_range(std::string_view store_id, TimestampTz from, TimestampTz to,
                                PollSink& sink);

// The sealed rows of the stores of [lo, hi) (an empty bound: none on that
// side) in key order, store by store and day by day: beside the table's
// rows in the same order, for the reads in store order.
class SealedRows {
 public:
  SealedRows(const std::string& lo, const std::string& hi);
  // Moves to the next row; false after the last.
  bool next() { return cursor_.next(); }
  std::string_view store_id() const;
  // Appends the row's polls (core time), in time order.
  void polls(std::vector<Poll>& out) const;

 private:
  SpiCursor cursor_;
};

// Whether the store has sealed polls; the newest sealed poll.
bool store_has_sealed_polls(std::string_view store_id);
std::optional<TimestampTz> newest_sealed_poll();

}  // namespace store_monitoring::pg
