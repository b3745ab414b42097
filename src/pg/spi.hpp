// SQL from C++ through SPI, with PostgreSQL errors turned into PgError.
#pragma once

#include "pg/pg_boundary.hpp"

extern "C" {
#include "executor/spi.h"
#include "miscadmin.h"
}

#include <initializer_list>

namespace store_monitoring::pg {

struct SqlArg {
  Oid type;
  Datum value;
  bool is_null = false;
};

// Runs one statement; returns the number of rows processed. read_only runs
// it in the current snapshot (the caller's one consistent view).
uint64 spi_execute(const char* sql, std::initializer_list<SqlArg> args, bool read_only,
                   long row_limit = 0);

// Column `column` (1-based) of result row `row`.
Datum spi_value(uint64 row, int column, bool* is_null);

// Runs code as `role` with that role's privileges and row-level security, and
// restores the previous identity however the scope ends.
class ActAsRole {
 public:
  explicit ActAsRole(Oid role) noexcept {
    GetUserIdAndSecContext(&saved_user_, &saved_context_);
    SetUserIdAndSecContext(role, saved_context_ | SECURITY_LOCAL_USERID_CHANGE);
  }
  ~ActAsRole() { SetUserIdAndSecContext(saved_user_, saved_context_); }
  ActAsRole(const ActAsRole&) = delete;
  ActAsRole& operator=(const ActAsRole&) = delete;

 private:
  Oid saved_user_ = InvalidOid;
  int saved_context_ = 0;
};

}  // namespace store_monitoring::pg
