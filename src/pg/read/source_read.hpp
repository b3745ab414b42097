// Reading the rows of a report's sources (checked by sources.hpp), in store_id
// byte order, with every row checked: a NULL, an unknown status or zone, a
// weekday outside 0-6, a second zone row for a store, an empty or overlong
// store id. The default tables refuse such rows when they are written; a
// user's relation may hold them. Types are checked once per read (the
// SourceShape), nulls and values per row, in C++ without calling PostgreSQL.
//
// Each read runs one read-only statement in the caller's snapshot, as the
// current role; the caller sets the role (privileges, row-level security).
#pragma once

#include "core/report_engine.hpp"
#include "core/store_tables.hpp"
#include "pg/read/poll_sink.hpp"
#include "pg/read/sources.hpp"

extern "C" {
#include "datatype/timestamp.h"
}

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace store_monitoring::pg {

// A row a report cannot use.
struct BadRow {
  std::string relation;
  std::optional<std::string> store_id;  // nullopt: the store_id is NULL
  std::string column;
  std::optional<std::string> value;  // nullopt: NULL
  std::string problem;               // follows the column and value: "is NULL"
};

// Where bad rows go: a report stops at the first (throws a UserError naming
// the relation, the store and the value); check_sources() collects them all.
// A suspect row (note) is one the rules give a meaning the writer hardly
// meant: a report uses it as the rules say, check_sources() lists it.
class BadRows {
 public:
  explicit BadRows(bool collect) : collect_(collect) {}
  void add(BadRow&& row);
  void note(BadRow&& row) {
    if (collect_) rows_.push_back(std::move(row));
  }
  const std::vector<BadRow>& rows() const noexcept { return rows_; }

 private:
  bool collect_;
  std::vector<BadRow> rows_;
};

// The error message of a report stopped by `row`.
std::string bad_row_message(const BadRow& row);

// The store ids of [lo, hi) in byte order; an empty bound: none on that
// side (store ids are never empty).
struct StoreKeyRange {
  std::string lo;
  std::string hi;
};

// Business hours and zones per store, in store_id byte order, in the compact
// tables of core/store_tables.hpp: a report holds them for every store while
// it reads the polls.
// store_id_only: the rows of that store alone (store_report); keys: those
// of the stores of that range alone (a store-order read split in ranges).
StoreHoursTable read_business_hours(const SourceShape& source, BadRows& bad,
                                    std::optional<std::string_view> store_id_only = {},
                                    const StoreKeyRange& keys = {});
StoreZoneTable read_time_zones(const SourceShape& source, BadRows& bad,
                               std::optional<std::string_view> store_id_only = {},
                               const StoreKeyRange& keys = {});

// Every poll, in store order (check_sources: every bad row); or those of
// the stores of `keys` alone.
void read_polls(const SourceShape& source, PollSink& sink, BadRows& bad);
void read_polls_in_keys(const SourceShape& source, const StoreKeyRange& keys, PollSink& sink,
                        BadRows& bad);

// What a report reads: the polls of [from, to] in the order the rows lie on
// disk (then the sealed polls of the range), and the polls no range holds (NULL or infinite time), which are bad
// rows. Rows outside the range are not read, so they cannot end a report.
void read_polls_in_range(const SourceShape& source, TimestampTz from, TimestampTz to,
                         PollSink& sink, BadRows& bad);

// The two parts of read_polls_in_range on the default table, for a read
// split across processes (parallel_range_read.hpp): the polls no range
// holds, and the polls of [from, to] and those no range holds in heap
// blocks [first, end) (end nullopt: to the end of the relation), by a TID
// range scan, with the store id of every other row of those blocks to
// sink.store() (so that reading every block finds every store id of the
// polls). For a plain table only: a view or a parent's children have no
// such blocks.
void read_polls_without_range(const SourceShape& source, PollSink& sink, BadRows& bad);
void read_polls_in_blocks(const SourceShape& source, TimestampTz from, TimestampTz to,
                          uint32_t first, std::optional<uint32_t> end, PollSink& sink,
                          BadRows& bad);

// Every store id of the polls, also of stores with no poll in any range, to
// sink.store(), in no particular order: a loose scan of a B-tree index whose
// first key is store_id in byte order ("C"), one descent per store, or
// without such an index a DISTINCT over every row.
void read_poll_store_ids(const SourceShape& source, PollSink& sink, BadRows& bad);

// read_polls_in_range for the polls of one store (store_report): its
// rows in time order, then its sealed polls in time order; and whether the
// store has any poll at all (it then has a row in a report, also with none
// in the range).
void read_store_polls_in_range(const SourceShape& source, std::string_view store_id,
                               TimestampTz from, TimestampTz to, PollSink& sink, BadRows& bad);
bool store_has_polls(const SourceShape& source, std::string_view store_id);

// The newest poll time in `source`, if any (infinity ignored: the read
// refuses it, naming the store).
std::optional<TimestampTz> newest_poll(const SourceShape& source);

// The statement that reads `source` (exposed for tests of its plan).
std::string read_query(const SourceShape& source);

}  // namespace store_monitoring::pg
