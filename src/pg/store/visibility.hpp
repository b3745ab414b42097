// Which reports a role may see: a report it may not see does not exist for
// it (the same error as one that does not exist).
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include "pg/common/spi.hpp"

extern "C" {
#include "miscadmin.h"
}

#include <string>
#include <string_view>

namespace store_monitoring::pg {

// Whether `caller` may see (and cancel, wait for, delete) the reports of
// `owner`: as a member of its role. A report it may not see does not exist
// for it.
bool may_see(Oid caller, Oid owner);

// Owners whose reports `caller` may see (may_see), as an oid[] for a
// query's `owner = ANY (...)`, so that it reads those owners' rows through
// report_owner_idx alone; NULL (is_null) for a superuser, who sees all. A
// query parameter, so that the planner sees the owners. Needs a SpiScope;
// the value lives until it ends.
Datum visible_owners(Oid caller, bool* is_null);

// Helpers shared by the functions that take a report id.
[[noreturn]] void report_does_not_exist(text* id);
std::string shown_id(text* id);
text* report_id_argument(FunctionCallInfo fcinfo);
// Runs `sql` (its $1 is the report id, its first column the report's owner)
// and raises the common error unless it found a report `caller` may see. The
// row stays in SPI_tuptable. read_only: in the caller's snapshot; otherwise
// in a new one (READ COMMITTED), seeing what committed since.
void find_visible_report(const char* sql, text* id, Oid caller, bool read_only = true);

// The query of a report's own row for find_visible_report: `columns` (the
// owner, r.owner, first) of _store_monitoring_internal.report r for the
// report id $1.
std::string report_row_sql(std::string_view columns);

// The start of every function that reads one report: the caller's identity,
// taken before SpiScope acts as the tables' owner, then the SpiScope and the
// report's row as `sql` reads it (find_visible_report), which stays in
// SPI_tuptable while this lives.
class VisibleReport {
 public:
  VisibleReport(const char* sql, text* id, bool read_only = true) : caller_(GetUserId()) {
    find_visible_report(sql, id, caller_, read_only);
  }
  VisibleReport(const std::string& sql, text* id, bool read_only = true)
      : VisibleReport(sql.c_str(), id, read_only) {}
  Oid caller() const noexcept { return caller_; }

 private:
  Oid caller_;  // first: initialized before spi_
  SpiScope spi_;
};

}  // namespace store_monitoring::pg
