// The one place where C++ and PostgreSQL error handling meet.
//
// PostgreSQL reports errors with longjmp; C++ with exceptions. Neither may
// cross the other's frames: a longjmp over a C++ frame skips its destructors,
// and a C++ exception thrown through PostgreSQL's C frames leaves its state
// (PG_exception_stack, memory contexts) corrupt.
//
//   pg_call(fn)   runs PostgreSQL code from C++. A PostgreSQL ERROR raised
//                 inside becomes a PgError exception, so C++ frames unwind
//                 normally. `fn` itself must not own resources (no locals
//                 with destructors), since its own frame is longjmp'd over.
//   pg_entry(fn)  wraps the body of every function PostgreSQL calls into. Any
//                 C++ exception is caught, the C++ frames are gone, and only
//                 then is the error re-raised the PostgreSQL way.
//
// The rule, for every function PostgreSQL calls:
//   - SQL functions (SM_PG_FUNCTION), _PG_init, and the background and
//     parallel workers' main functions run their bodies in pg_entry;
//   - callbacks (GUC check and assign hooks, transaction and exit callbacks,
//     a DestReceiver's methods, timeout and signal handlers) are noexcept and
//     hold no C++ object with a destructor while they call PostgreSQL, or
//     run their C++ in a try block that catches everything;
//   - inside C++, every PostgreSQL call that may ereport (ERROR, but also a
//     LOG or WARNING, whose formatting may fail) goes through pg_call; a
//     bare call is fine only where it cannot raise, with a comment saying why;
//   - a PgError caught in C++ is handled only where a transaction or
//     subtransaction abort follows (in_transaction, OwnerRead); anywhere
//     else it propagates.
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"
}

#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace store_monitoring::pg {

// A PostgreSQL error carried through C++ frames. It owns its ErrorData (a
// copy in TopMemoryContext, so that it outlives SPI and transaction
// contexts): copies of the exception share it, and the last one frees it,
// whether the error is handled in C++ or re-raised (capture_current_exception
// copies it first).
class PgError : public std::exception {
 public:
  explicit PgError(std::shared_ptr<ErrorData> data) noexcept : data_(std::move(data)) {}
  const char* what() const noexcept override {
    return data_ && data_->message ? data_->message : "PostgreSQL error";
  }
  ErrorData* data() const noexcept { return data_.get(); }

 private:
  std::shared_ptr<ErrorData> data_;
};

// An error meant for the user, with its SQLSTATE (ERRCODE_*).
class UserError : public std::runtime_error {
 public:
  UserError(int sqlstate, const std::string& message, std::string hint = {})
      : std::runtime_error(message), sqlstate_(sqlstate), hint_(std::move(hint)) {}
  int sqlstate() const noexcept { return sqlstate_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  int sqlstate_;
  std::string hint_;
};

namespace detail {
// Out of line so that no C++ object lives in the frame that calls sigsetjmp.
// Takes ownership of `data` (from take_error).
[[noreturn]] void throw_pg_error(ErrorData* data);
// Copies the error being handled to TopMemoryContext (it must outlive SPI
// and transaction contexts until re-raised), clears it, and switches back to
// `caller_context`. The caller owns the copy.
ErrorData* take_error(MemoryContext caller_context);
}  // namespace detail

template <typename Fn>
void pg_call_void(Fn&& fn) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile error = nullptr;
  std::exception_ptr cpp_error;  // set only when no longjmp can follow
  PG_TRY();
  {
    try {
      fn();
    } catch (...) {
      cpp_error = std::current_exception();
    }
  }
  PG_CATCH();
  { error = detail::take_error(caller_context); }
  PG_END_TRY();
  if (error) detail::throw_pg_error(error);
  if (cpp_error) std::rethrow_exception(cpp_error);
}

template <typename Fn>
auto pg_call(Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  static_assert(std::is_void_v<Result> || std::is_scalar_v<Result>,
                "pg_call results must be plain values (Datum, pointers, numbers)");
  if constexpr (std::is_void_v<Result>) {
    pg_call_void(fn);
  } else {
    // Lives in this frame, not in the one that calls sigsetjmp.
    Result result{};
    pg_call_void([&] { result = fn(); });
    return result;
  }
}

// What a caught C++ exception becomes once the C++ frames are gone.
struct PendingError {
  ErrorData* pg = nullptr;  // re-thrown as is (a copy in CurrentMemoryContext)
  int sqlstate = 0;
  char* message = nullptr;  // palloc'd copies
  char* hint = nullptr;
};

// Converts the exception in flight (call only inside a catch block).
PendingError capture_current_exception() noexcept;

// Raises the error with ereport/ReThrowError. Never returns.
[[noreturn]] void raise_pending(const PendingError& pending);

template <typename Fn>
auto pg_entry(Fn&& fn) -> decltype(fn()) {
  PendingError pending;
  try {
    return fn();
  } catch (...) {
    pending = capture_current_exception();
  }
  raise_pending(pending);
}

}  // namespace store_monitoring::pg
