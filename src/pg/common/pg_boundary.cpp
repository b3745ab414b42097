#include "pg/common/pg_boundary.hpp"

#include <cstring>

namespace store_monitoring::pg {

namespace detail {
namespace {
// FreeErrorData only pfrees chunks it owns: it does not raise an error.
void free_error_data(ErrorData* data) noexcept { FreeErrorData(data); }
}  // namespace

void throw_pg_error(ErrorData* data) {
  // Should the shared_ptr's control block fail to allocate, its constructor
  // frees `data` before bad_alloc is thrown.
  throw PgError(std::shared_ptr<ErrorData>(data, free_error_data));
}

ErrorData* take_error(MemoryContext caller_context) {
  MemoryContextSwitchTo(TopMemoryContext);
  ErrorData* error = CopyErrorData();
  FlushErrorState();
  MemoryContextSwitchTo(caller_context);
  return error;
}
}  // namespace detail

namespace {
// pstrdup without the risk of a longjmp: a failed allocation gives NULL.
char* copy_message(const char* text) noexcept {
  size_t length = std::strlen(text);
  auto* copy = static_cast<char*>(
      MemoryContextAllocExtended(CurrentMemoryContext, length + 1, MCXT_ALLOC_NO_OOM));
  if (copy != nullptr) std::memcpy(copy, text, length + 1);
  return copy;
}

// CopyErrorData of the error being handled, or NULL when there is no memory
// for it; the error stack is cleared either way.
ErrorData* copy_current_error_or_null() noexcept {
  ErrorData* volatile copy = nullptr;
  PG_TRY();
  { copy = CopyErrorData(); }
  PG_CATCH();
  {}  // out of memory: what was copied goes with the context
  PG_END_TRY();
  FlushErrorState();
  return copy;
}

// A copy of `source` in CurrentMemoryContext, or NULL when there is no memory
// for it. PostgreSQL's own CopyErrorData makes it (it knows every field of
// this server's ErrorData): `source` is pushed back onto the error stack
// (ReThrowError copies it there) and copied off again. No C++ object lives in
// this frame, which the longjmp returns to.
ErrorData* copy_error_data(ErrorData* source) noexcept {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile copy = nullptr;
  PG_TRY();
  { ReThrowError(source); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    copy = copy_current_error_or_null();
  }
  PG_END_TRY();
  return copy;
}
}  // namespace

PendingError capture_current_exception() noexcept {
  PendingError pending;
  try {
    throw;
  } catch (const PgError& e) {
    // The exception, and with it e.data(), is gone once the catch block in
    // pg_entry ends; raise_pending runs after that.
    if (e.data() == nullptr) {
      pending.sqlstate = ERRCODE_INTERNAL_ERROR;
    } else {
      pending.pg = copy_error_data(e.data());
      if (pending.pg == nullptr) pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
    }
  } catch (const UserError& e) {
    pending.sqlstate = e.sqlstate();
    pending.message = copy_message(e.what());
    if (!e.hint().empty()) pending.hint = copy_message(e.hint().c_str());
  } catch (const std::bad_alloc&) {
    pending.sqlstate = ERRCODE_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    pending.sqlstate = ERRCODE_INTERNAL_ERROR;
    pending.message = copy_message(e.what());
  } catch (...) {
    pending.sqlstate = ERRCODE_INTERNAL_ERROR;
  }
  return pending;
}

void raise_pending(const PendingError& pending) {
  if (pending.pg != nullptr) ReThrowError(pending.pg);
  if (pending.sqlstate == ERRCODE_OUT_OF_MEMORY)
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in store_monitoring")));
  ereport(ERROR, (errcode(pending.sqlstate),
                  errmsg("%s", pending.message ? pending.message : "unexpected C++ exception"),
                  pending.hint ? errhint("%s", pending.hint) : 0));
  pg_unreachable();
}

}  // namespace store_monitoring::pg
