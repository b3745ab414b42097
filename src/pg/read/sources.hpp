// The relations a report reads ("sources"): which ones a role has chosen
// (store_monitoring.set_sources), and whether a relation has the shape a
// report needs. Reading their rows is in source_read.hpp.
//
// Sources are a setting of each role, like ALTER ROLE ... SET: a report reads
// the sources of the role that triggers it, as that role. No role can point
// another role's reports at a relation it controls (a view whose functions
// would then run with the other role's privileges).
#pragma once

extern "C" {
#include "postgres.h"
}

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace store_monitoring::pg {

enum class Input : int { polls = 0, business_hours = 1, time_zones = 2 };
inline constexpr std::array<Input, 3> kInputs = {Input::polls, Input::business_hours,
                                                 Input::time_zones};

// One relation per input, indexed by Input.
using Sources = std::array<Oid, 3>;

// The extension's own table for `input` (store_monitoring.store_status, ...).
Oid default_source(Input input);

// The sources `role` has set in this database, with the default table where
// it has set none. Needs a connected SPI that may read the internal tables
// (SpiScope).
Sources configured_sources(Oid role);

// A relation that passed the shape check, with what reading it needs.
struct SourceShape {
  Input input;
  Oid relation;
  std::string name;  // schema-qualified and quoted: for SQL and for messages
  // polls: status is text/varchar, or an enum whose labels are listed here.
  bool status_is_enum = false;
  Oid active_label = InvalidOid;
  Oid inactive_label = InvalidOid;
  std::vector<std::pair<Oid, std::string>> enum_labels;
  // business_hours: INT2OID, INT4OID or INT8OID.
  Oid weekday_type = InvalidOid;
};

// Locks `relation` for the rest of the transaction (AccessShareLock, as a
// SELECT would), then checks that it still exists, is a table, view,
// materialized view, partitioned table or foreign table that is not
// temporary, that `role` may read the columns `input` needs, and that those
// columns have accepted types. Throws a UserError naming the relation, the
// column and the type wanted.
SourceShape check_source(Input input, Oid relation, Oid role);

// The same for the three relations, in Input order.
std::array<SourceShape, 3> check_sources(const Sources& sources, Oid role);

// check_sources without waiting: nullopt, having checked nothing, when
// another transaction holds a lock on one of the relations that a read
// waits for (a loader's TRUNCATE or LOCK ... ACCESS EXCLUSIVE).
std::optional<std::array<SourceShape, 3>> check_sources_without_waiting(const Sources& sources,
                                                                        Oid role);

// The schema-qualified, quoted name of `relation`, looked up without a lock
// (for messages only: it may be renamed meanwhile); "OID n" once dropped.
std::string source_name(Oid relation);

}  // namespace store_monitoring::pg
