// SQL from C++ through SPI, with PostgreSQL errors turned into PgError.
#pragma once

#include "pg/common/datum.hpp"
#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "miscadmin.h"
}

#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

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

// Runs one statement in the latest snapshot, whatever the isolation level,
// seeing what other transactions committed until now and this one's own
// changes: for counts made under a lock that must include what the lock's
// previous holders committed.
uint64 spi_execute_latest(const char* sql, std::initializer_list<SqlArg> args);

// The planner's estimate of the rows `sql` (a SELECT) returns: the first
// "Plan Rows" of its EXPLAIN (FORMAT JSON), the top node's; -1 when none.
double spi_planned_rows(const std::string& sql, std::initializer_list<SqlArg> args);

// Column `column` (1-based) of result row `row`.
Datum spi_value(uint64 row, int column, bool* is_null);

// Streams the rows of one read-only statement, in the current snapshot, to a
// callback as the executor produces them: no SPI tuple table, no copies.
// Variable-length values arrive detoasted. The callback is C++ that must not
// call PostgreSQL; an exception it throws stops the statement and is
// rethrown here.
// read_only false: a statement that writes and returns rows (DELETE ...
// RETURNING), in a new snapshot as a statement of READ COMMITTED takes.
using RowCallback = void (*)(void* context, const Datum* values, const bool* nulls);
void spi_stream_rows(const char* sql, std::initializer_list<SqlArg> args, RowCallback callback,
                     void* context, bool read_only = true);

template <typename Fn>
void spi_stream(const char* sql, std::initializer_list<SqlArg> args, Fn&& on_row,
                bool read_only = true) {
  spi_stream_rows(
      sql, args,
      [](void* context, const Datum* values, const bool* nulls) {
        (*static_cast<std::remove_reference_t<Fn>*>(context))(values, nulls);
      },
      &on_row, read_only);
}

// A read-only statement in the current snapshot, read through a cursor in
// batches: for reading two statements in step (a merge), which the
// streaming above cannot (its callback may not call PostgreSQL). Values of
// the current row are valid until the next call of next(); variable-length
// ones may be toasted.
class SpiCursor {
 public:
  SpiCursor(const char* sql, std::initializer_list<SqlArg> args, long batch = 2000);
  ~SpiCursor();
  SpiCursor(const SpiCursor&) = delete;
  SpiCursor& operator=(const SpiCursor&) = delete;
  // Moves to the next row; false after the last.
  bool next();
  Datum value(int column, bool* is_null) const;  // 0-based, of the current row

 private:
  Portal portal_ = nullptr;
  SPITupleTable* table_ = nullptr;
  uint64 row_ = 0;
  uint64 rows_ = 0;
  long batch_;
  bool done_ = false;
};

// CHECK_FOR_INTERRUPTS for C++ loops: a pending cancel, timeout or
// termination is served (as a PgError, or FATAL's exit). Only a flag is read
// while none is pending, so it may run every iteration.
inline void check_for_interrupts() {
  if (unlikely(INTERRUPTS_PENDING_CONDITION())) pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

// PostgreSQL counts time from 2000-01-01, the core (src/core) from
// 1970-01-01, both in microseconds: core time = PostgreSQL time + this.
inline constexpr int64 kPgEpochInUnixMicros =
    static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
// The same in days: core day = PostgreSQL date + this.
inline constexpr int32 kPgEpochInUnixDays = POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE;

// Runs code as `role` with that role's privileges and row-level security, and
// restores the previous identity however the scope ends. For the extension's
// own statements only: code a user wrote is read through OwnerRead.
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

// A setting changed for the SQL run in its scope, in a GUC nest level of its
// own (as PostgreSQL's own internal queries do): back as it was when the
// scope ends, and unwound with the transaction on an error.
class ScopedSetting {
 public:
  ScopedSetting(const char* name, const char* value);
  ~ScopedSetting();
  ScopedSetting(const ScopedSetting&) = delete;
  ScopedSetting& operator=(const ScopedSetting&) = delete;

 private:
  int nest_level_;
};

// The search_path every statement of the extension's own SQL runs under.
inline constexpr const char* kSafeSearchPath = "pg_catalog, pg_temp";

// Pins search_path to pg_catalog for the SQL run in its scope, so that
// statements run with raised privileges cannot be redirected to a user's
// functions or operators (as SET search_path does for SECURITY DEFINER).
class PinnedSearchPath : public ScopedSetting {
 public:
  PinnedSearchPath() : ScopedSetting("search_path", kSafeSearchPath) {}
};

// The one way every read of a user's relations runs (the report's inputs,
// a source's newest poll, check_sources, explain_store): as `owner`, in a
// security-restricted operation (no SET ROLE, no temporary objects), in a
// GUC nest level of its own with search_path pinned, as PostgreSQL runs
// maintenance commands (VACUUM, CREATE INDEX, REFRESH MATERIALIZED VIEW) on
// a table owner's behalf. When the scope ends, every setting the read made
// is rolled back, session-level set_config() included, so that nothing the
// owner's views, functions or operators do outlives the read or reaches the
// extension's own statements; the previous identity comes back.
//
// Both ways out are the same: a PostgreSQL error reaches C++ as a PgError
// (pg_call) before the transaction aborts, so the destructor always runs
// first and unwinds this level (and any deeper one a failed function left).
//
// lock_timeout_ms > 0 (a worker's reads): the read's lock_timeout. The
// owner's code may SET another; the worker then cancels a longer wait
// itself (worker/deadline.cpp).
class OwnerRead {
 public:
  explicit OwnerRead(Oid owner, int lock_timeout_ms = 0);
  ~OwnerRead();
  OwnerRead(const OwnerRead&) = delete;
  OwnerRead& operator=(const OwnerRead&) = delete;

 private:
  Oid saved_user_ = InvalidOid;
  int saved_context_ = 0;
  int nest_level_ = 0;
};

// A connection to SPI for the life of the scope (no identity or setting
// changes; see SpiScope for the extension's own tables).
class SpiConnection {
 public:
  SpiConnection();
  ~SpiConnection();
  SpiConnection(const SpiConnection&) = delete;
  SpiConnection& operator=(const SpiConnection&) = delete;
};

// The one way SQL functions reach the extension's internal tables: a
// connected SPI, acting as `role` (the bootstrap superuser, which owns them,
// unless said otherwise), with search_path pinned. It first checks that the
// database's extension objects are those this library was built for.
class SpiScope {
 public:
  explicit SpiScope(Oid role = BOOTSTRAP_SUPERUSERID);
  ~SpiScope();
  SpiScope(const SpiScope&) = delete;
  SpiScope& operator=(const SpiScope&) = delete;

 private:
  struct VersionCheck {
    VersionCheck();
  } version_;  // first: before connecting
  SpiConnection connection_;
  ActAsRole role_;
  PinnedSearchPath safe_names_;
};

}  // namespace store_monitoring::pg
