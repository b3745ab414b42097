#include "pg/pg_boundary.hpp"

#include <cstring>

namespace store_monitoring::pg {

namespace detail {
void throw_pg_error(ErrorData* data) { throw PgError(data); }

ErrorData* take_error(MemoryContext caller_context) {
  // At most one carried error is in flight: freeing the previous one bounds
  // what errors that were handled in C++ (and never re-raised) can leak.
  static ErrorData* previous = nullptr;
  MemoryContextSwitchTo(TopMemoryContext);
  ErrorData* error = CopyErrorData();
  FlushErrorState();
  MemoryContextSwitchTo(caller_context);
  if (previous != nullptr) FreeErrorData(previous);
  previous = error;
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
}  // namespace

PendingError capture_current_exception() noexcept {
  PendingError pending;
  try {
    throw;
  } catch (const PgError& e) {
    pending.pg = e.data();
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
