#include "pg/store/visibility.hpp"

#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
}

namespace store_monitoring::pg {

bool may_see(Oid caller, Oid owner) {
  return pg_call([&] { return has_privs_of_role(caller, owner); });
}

// The owners whose reports `caller` may see (may_see), as an oid[] for a
// query's `owner = ANY (...)`, so that it reads those owners' rows through
// report_owner_idx alone; NULL (is_null) for a superuser, who sees all. A
// query parameter, so that the planner sees the owners. Needs a SpiScope;
// the value lives until it ends.
Datum visible_owners(Oid caller, bool* is_null) {
  *is_null = pg_call([&] { return superuser_arg(caller); });
  if (*is_null) return Datum(0);
  spi_execute(
      "SELECT pg_catalog.array_agg(oid) FROM pg_catalog.pg_authid "
      "WHERE pg_catalog.pg_has_role($1, oid, 'USAGE')",
      {{OIDOID, ObjectIdGetDatum(caller)}}, true, 1);
  return spi_value(0, 1, is_null);
}

constexpr int kShownIdCharacters = 64;

std::string shown_id(text* id) {
  const char* data = VARDATA_ANY(id);
  int length = VARSIZE_ANY_EXHDR(id);
  int clipped = pg_call([&] { return pg_mbcharcliplen(data, length, kShownIdCharacters); });
  std::string shown(data, clipped);
  if (clipped < length) shown += "...";
  return shown;
}

void report_does_not_exist(text* id) {
  throw UserError(ERRCODE_UNDEFINED_OBJECT, "report \"" + shown_id(id) + "\" does not exist",
                  "Use the id that trigger_report() returned, as the role that triggered it.");
}

text* report_id_argument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0))
    throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "report_id must not be NULL");
  return PG_GETARG_TEXT_PP(0);
}

void find_visible_report(const char* sql, text* id, Oid caller, bool read_only) {
  uint64 found = spi_execute(sql, {{TEXTOID, PointerGetDatum(id)}}, read_only, 1);
  if (found == 0) report_does_not_exist(id);
  bool is_null = false;
  Oid owner = DatumGetObjectId(spi_value(0, 1, &is_null));
  if (!may_see(caller, owner)) report_does_not_exist(id);
}

std::string report_row_sql(std::string_view columns) {
  return "SELECT " + std::string(columns) +
         " FROM _store_monitoring_internal.report r WHERE r.report_id OPERATOR(pg_catalog.=) $1";
}

}  // namespace store_monitoring::pg
