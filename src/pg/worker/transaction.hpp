// The worker's transactions: each body runs in a transaction of its own,
// connected to SPI, and its error (if any) comes back as a value. Also the
// worker's memory context and the query text pg_stat_activity shows.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>

namespace store_monitoring::pg {

struct TransactionResult {
  bool ok;
  std::string error;    // message (and detail) of the error that rolled it back
  std::string message;  // the message alone (details name values that change)
  int sqlstate = 0;     // its SQLSTATE (ERRCODE_*)
};

using TransactionBody = void (*)(void* state);

// Runs body(state) in a transaction; false (with the error's copies in
// *error and *message, palloc'd, and its SQLSTATE in *sqlstate) when it
// rolled back.
bool run_transaction_raw(TransactionBody body, void* state, char** error, char** message,
                         int* sqlstate);

template <typename Fn>
TransactionResult in_transaction(Fn&& fn) {
  char* error = nullptr;
  char* message = nullptr;
  auto body = [](void* state) { (*static_cast<std::remove_reference_t<Fn>*>(state))(); };
  int sqlstate = 0;
  bool ok = run_transaction_raw(body, &fn, &error, &message, &sqlstate);
  TransactionResult result{ok, error ? std::string(error) : std::string(),
                           message ? std::string(message) : std::string(), sqlstate};
  if (error) pfree(error);
  if (message) pfree(message);
  return result;
}

// The worker's own memory context, made once at connection; the one it
// returns to after an error.
void create_worker_context();
MemoryContext worker_memory() noexcept;

// Names the report in the worker's query text while computing it (empty:
// none).
void show_report(const std::string& report_id);

// The extension is installed here at the version this library serves.
bool extension_installed();

}  // namespace store_monitoring::pg
