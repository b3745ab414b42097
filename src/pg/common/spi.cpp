#include "pg/common/spi.hpp"

#include "pg/common/extension.hpp"

extern "C" {
#include "executor/tuptable.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
}

#include <cstdlib>
#include <string>
#include <string_view>

namespace store_monitoring::pg {

namespace {

constexpr int kMaxArgs = 16;

struct SpiArgs {
  Oid types[kMaxArgs];
  Datum values[kMaxArgs];
  char nulls[kMaxArgs];
  int count = 0;
  explicit SpiArgs(std::initializer_list<SqlArg> args) {
    for (const SqlArg& arg : args) {
      if (count == kMaxArgs) throw std::logic_error("too many SQL arguments");
      types[count] = arg.type;
      values[count] = arg.value;
      nulls[count] = arg.is_null ? 'n' : ' ';
      ++count;
    }
  }
};

uint64 spi_result(int result) {
  if (result < 0)
    throw std::runtime_error(std::string("SPI failed: ") + SPI_result_code_string(result));
  return SPI_processed;
}

}  // namespace

uint64 spi_execute(const char* sql, std::initializer_list<SqlArg> args, bool read_only,
                   long row_limit) {
  SpiArgs a(args);
  return spi_result(pg_call([&] {
    return SPI_execute_with_args(sql, a.count, a.types, a.values, a.nulls, read_only, row_limit);
  }));
}

uint64 spi_execute_latest(const char* sql, std::initializer_list<SqlArg> args) {
  SpiArgs a(args);
  return spi_result(pg_call([&] {
    SPIPlanPtr plan = SPI_prepare(sql, a.count, a.types);
    if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    // Not read-only: the command counter advances first, so the rows this
    // transaction inserted a moment ago are seen too.
    int result = SPI_execute_snapshot(plan, a.values, a.nulls, GetLatestSnapshot(), InvalidSnapshot,
                                      false, false, 0);
    SPI_freeplan(plan);
    return result;
  }));
}

SpiCursor::SpiCursor(const char* sql, std::initializer_list<SqlArg> args, long batch)
    : batch_(batch) {
  SpiArgs a(args);
  portal_ = pg_call([&] {
    Portal portal = SPI_cursor_open_with_args(nullptr, sql, a.count, a.types, a.values, a.nulls,
                                              true /* the caller's snapshot */, 0);
    if (portal == nullptr)
      elog(ERROR, "SPI_cursor_open failed: %s", SPI_result_code_string(SPI_result));
    return portal;
  });
}

// Bare: freeing a tuple table and closing a portal of this SPI connection
// raise no error (after an error the transaction's abort would do both).
SpiCursor::~SpiCursor() {
  if (table_ != nullptr) SPI_freetuptable(table_);
  if (portal_ != nullptr) SPI_cursor_close(portal_);
}

bool SpiCursor::next() {
  if (++row_ < rows_) return true;
  if (done_) return false;
  pg_call_void([&] {
    if (table_ != nullptr) SPI_freetuptable(table_);
    table_ = nullptr;
    SPI_cursor_fetch(portal_, true, batch_);
    table_ = SPI_tuptable;
    rows_ = SPI_processed;
  });
  row_ = 0;
  if (rows_ < static_cast<uint64>(batch_)) done_ = true;
  return rows_ > 0;
}

Datum SpiCursor::value(int column, bool* is_null) const {
  return pg_call(
      [&] { return SPI_getbinval(table_->vals[row_], table_->tupdesc, column + 1, is_null); });
}

double spi_planned_rows(const std::string& sql, std::initializer_list<SqlArg> args) {
  const std::string explain = "EXPLAIN (FORMAT JSON) " + sql;
  // Not read-only: SPI refuses EXPLAIN so; it reads no rows.
  if (spi_execute(explain.c_str(), args, false, 1) != 1) return -1;
  bool is_null = true;
  Datum plan = spi_value(0, 1, &is_null);
  if (is_null) return -1;
  std::string json;
  pg_call_void([&] { json = text_to_cstring(DatumGetTextPP(plan)); });
  constexpr std::string_view kRows = "\"Plan Rows\":";
  const size_t at = json.find(kRows);
  return at == std::string::npos ? -1 : std::strtod(json.c_str() + at + kRows.size(), nullptr);
}

Datum spi_value(uint64 row, int column, bool* is_null) {
  return pg_call([&] {
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, is_null);
  });
}

namespace {

constexpr int kMaxStreamedColumns = 16;

// PostgreSQL calls this receiver from C: it never lets a C++ exception escape,
// and while it calls PostgreSQL it holds no C++ object a longjmp could skip.
struct StreamReceiver {
  DestReceiver base;  // first: PostgreSQL sees a DestReceiver*
  RowCallback callback;
  void* context;
  int columns;
  bool varlena[kMaxStreamedColumns];
  std::exception_ptr error;

  // Its methods are C to PostgreSQL: noexcept, and what they call of it
  // (elog, slot_getallattrs, detoasting) may longjmp over their frames,
  // which own nothing.
  static void startup(DestReceiver* self, int, TupleDesc desc) noexcept {
    auto* receiver = reinterpret_cast<StreamReceiver*>(self);
    if (desc->natts > kMaxStreamedColumns) elog(ERROR, "too many columns to stream");
    receiver->columns = desc->natts;
    for (int i = 0; i < desc->natts; ++i)
      receiver->varlena[i] = TupleDescAttr(desc, i)->attlen == -1;
  }

  static bool receive(TupleTableSlot* slot, DestReceiver* self) noexcept {
    auto* receiver = reinterpret_cast<StreamReceiver*>(self);
    Datum values[kMaxStreamedColumns];
    bool nulls[kMaxStreamedColumns];
    slot_getallattrs(slot);
    for (int i = 0; i < receiver->columns; ++i) {
      nulls[i] = slot->tts_isnull[i];
      values[i] = slot->tts_values[i];
      if (receiver->varlena[i] && !nulls[i])
        values[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(values[i]));
    }
    return receiver->deliver(values, nulls);
  }

  bool deliver(const Datum* values, const bool* nulls) noexcept {
    try {
      callback(context, values, nulls);
      return true;
    } catch (...) {
      error = std::current_exception();
      return false;  // stops the executor
    }
  }

  static void shutdown(DestReceiver*) noexcept {}
  static void destroy(DestReceiver*) noexcept {}
};

}  // namespace

void spi_stream_rows(const char* sql, std::initializer_list<SqlArg> args, RowCallback callback,
                     void* context, bool read_only) {
  StreamReceiver receiver{};
  receiver.base.receiveSlot = StreamReceiver::receive;
  receiver.base.rStartup = StreamReceiver::startup;
  receiver.base.rShutdown = StreamReceiver::shutdown;
  receiver.base.rDestroy = StreamReceiver::destroy;
  receiver.base.mydest = DestNone;
  receiver.callback = callback;
  receiver.context = context;
  const SqlArg* arg_list = args.begin();
  int count = static_cast<int>(args.size());
  pg_call([&] {
    ParamListInfo params = count > 0 ? makeParamList(count) : nullptr;
    for (int i = 0; i < count; ++i)
      params->params[i] = {arg_list[i].value, arg_list[i].is_null, PARAM_FLAG_CONST,
                           arg_list[i].type};
    SPIExecuteOptions options{};
    options.params = params;
    options.read_only = read_only;  // true: the caller's one snapshot
    options.dest = &receiver.base;
    int result = SPI_execute_extended(sql, &options);
    if (result < 0) elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(result));
  });
  if (receiver.error) std::rethrow_exception(receiver.error);
}

ScopedSetting::ScopedSetting(const char* name, const char* value) {
  nest_level_ = pg_call([&] {
    int level = NewGUCNestLevel();
    (void)set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                            false);
    return level;
  });
}

// Safe bare: AtEOXact_GUC only restores the values saved above and raises no
// error.
ScopedSetting::~ScopedSetting() { AtEOXact_GUC(true, nest_level_); }

OwnerRead::OwnerRead(Oid owner, int lock_timeout_ms) {
  // Bare: these only read and set backend-local variables (NewGUCNestLevel
  // increments a counter), raising no error.
  GetUserIdAndSecContext(&saved_user_, &saved_context_);
  SetUserIdAndSecContext(
      owner, saved_context_ | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  nest_level_ = NewGUCNestLevel();
  try {
    // Inside the level: rolled back with everything else the read sets.
    pg_call([&] {
      (void)set_config_option("search_path", kSafeSearchPath, PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
      // Over the worker's pinned 0 (a session value outranks PGC_S_OVERRIDE's),
      // in this level only: from PGC_S_OVERRIDE itself it would become the
      // session's default too (guc.c sets reset values for sources up to it),
      // which the level's end does not undo. A SET in the owner's code
      // outranks it, which the worker's watch covers (deadline.cpp).
      if (lock_timeout_ms > 0)
        (void)set_config_option("lock_timeout", std::to_string(lock_timeout_ms).c_str(), PGC_SUSET,
                                PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    });
  } catch (...) {
    AtEOXact_GUC(false, nest_level_);
    SetUserIdAndSecContext(saved_user_, saved_context_);
    throw;
  }
}

// Safe bare: AtEOXact_GUC restores saved values and raises no error.
// isCommit false: every value set at this level or deeper (SET, SET LOCAL,
// set_config(..., false), a function's SET clause) goes back to what it was
// before the read.
OwnerRead::~OwnerRead() {
  AtEOXact_GUC(false, nest_level_);
  SetUserIdAndSecContext(saved_user_, saved_context_);
}

SpiConnection::SpiConnection() {
  pg_call([] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  });
}

// Bare: only pops the connection made above.
SpiConnection::~SpiConnection() { SPI_finish(); }

SpiScope::VersionCheck::VersionCheck() { require_current_extension_version(); }

SpiScope::SpiScope(Oid role) : role_(role) {}

SpiScope::~SpiScope() = default;

}  // namespace store_monitoring::pg
