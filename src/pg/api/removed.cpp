// SQL functions that 1.3 drops. The released install and upgrade scripts
// still create them (every install runs store_monitoring--1.0.sql), and
// CREATE FUNCTION looks the C symbol up, so the symbols stay; a call can only
// come from a database not yet updated, which is told so.
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"

namespace {
[[noreturn]] void removed(const char* function) {
  throw store_monitoring::pg::UserError(
      ERRCODE_FEATURE_NOT_SUPPORTED,
      std::string(function) + "() was removed in store_monitoring 1.3",
      "Run ALTER EXTENSION store_monitoring UPDATE.");
}
}  // namespace

SM_PG_FUNCTION(store_monitoring_visible_report,
               [](FunctionCallInfo) -> Datum { removed("_visible_report"); })
SM_PG_FUNCTION(store_monitoring_triggered_in_this_transaction,
               [](FunctionCallInfo) -> Datum { removed("_triggered_in_this_transaction"); })
