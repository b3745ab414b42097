// The extension's SQL objects as this library expects them, and the one
// macro that declares every SQL-callable function.
#pragma once

#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "fmgr.h"
#include "funcapi.h"
}

namespace store_monitoring::pg {

// The extension version whose SQL objects this library reads and writes.
inline constexpr const char* kExtensionVersion = "1.5";

// Raises a clear error when the database's store_monitoring is not at
// kExtensionVersion (new library files installed, ALTER EXTENSION ... UPDATE
// not yet run): its tables would not have the shape this code expects.
void require_current_extension_version();

// The owner of extension store_monitoring in this database (InvalidOid when
// it is not installed), read from the catalog.
Oid extension_owner();

// A set-returning function's result, materialized (its rows go into
// result->setResult, described by result->setDesc).
inline ReturnSetInfo* materialized_rows(FunctionCallInfo fcinfo) {
  pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
  return reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
}

}  // namespace store_monitoring::pg

// Declares the SQL-callable function `name` (the symbol the install script
// names) whose body is the callable `...` taking FunctionCallInfo and
// returning Datum (a function name or a lambda; variadic so that commas in a
// lambda need no parentheses): PostgreSQL's V1 calling
// convention plus pg_entry, so that no C++ exception reaches PostgreSQL's
// frames and no PostgreSQL error longjmps over a C++ frame. Every
// SQL-callable function goes through it. The library is built with hidden
// visibility: PG_FUNCTION_INFO_V1 marks only pg_finfo_<name> PGDLLEXPORT
// before PostgreSQL 16, so `name` itself is declared PGDLLEXPORT here.
#define SM_PG_FUNCTION(name, ...)                                                              \
  extern "C" {                                                                                 \
  PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);                                                    \
  PG_FUNCTION_INFO_V1(name);                                                                   \
  }                                                                                            \
  extern "C" Datum name(PG_FUNCTION_ARGS) {                                                    \
    return ::store_monitoring::pg::pg_entry([&]() -> Datum { return (__VA_ARGS__)(fcinfo); }); \
  }
