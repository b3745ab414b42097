// Module entry: settings, the launcher in preload mode, input validation.
#include "core/report_engine.hpp"
#include "pg/common/compat.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/worker/worker.hpp"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

SM_PG_MODULE_MAGIC("store_monitoring", store_monitoring::pg::kExtensionVersion);

PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
  store_monitoring::pg::pg_entry([] {
    store_monitoring::pg::define_settings();
    if (process_shared_preload_libraries_in_progress)
      store_monitoring::pg::pg_call([] { store_monitoring::pg::register_launcher(); });
  });
}

// CHECK constraint of store_timezone.timezone_str: refuses, naming the value,
// any zone the engine cannot convert with.
SM_PG_FUNCTION(store_monitoring_check_time_zone, [](FunctionCallInfo fcinfo) {
  text* zone = PG_GETARG_TEXT_PP(0);
  std::string_view name(VARDATA_ANY(zone), VARSIZE_ANY_EXHDR(zone));
  if (!store_monitoring::is_known_time_zone(name))
    throw store_monitoring::pg::UserError(
        ERRCODE_INVALID_PARAMETER_VALUE, "unknown time zone \"" + std::string(name) + "\"",
        "Use an IANA time-zone name such as \"America/New_York\".");
  return BoolGetDatum(true);
})
