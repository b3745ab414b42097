// Reading reports. Nobody but the extension reads the report tables directly:
// with a plain SELECT grant (even behind row-level security) a role's own
// conditions on report_id run in the index before any visibility filter, and
// EXPLAIN ANALYZE would tell whether another role's id exists. These
// functions read as the table owner and show a report only to roles with the
// privileges of its owner (superusers included); every other id gets the
// same "does not exist".
#include "pg/extension.hpp"
#include "pg/pg_boundary.hpp"
#include "pg/report_store.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <string>
#include <string_view>

namespace store_monitoring::pg {
namespace {

// The report row (a composite datum, copied out of SPI).
Datum visible_report(text* id, Oid caller) {
  SpiScope spi;
  find_visible_report(
      "SELECT r.owner, r FROM _store_monitoring_internal.report r WHERE r.report_id = $1", id,
      caller);
  bool is_null = false;
  Datum row = spi_value(0, 2, &is_null);
  return pg_call([&] { return SPI_datumTransfer(row, false, -1); });
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_visible_report, [](FunctionCallInfo fcinfo) {
  return store_monitoring::pg::visible_report(store_monitoring::pg::report_id_argument(fcinfo),
                                              GetUserId());
})
