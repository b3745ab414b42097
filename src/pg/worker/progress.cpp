// Progress and cancellation through the worker's dynamic shared memory
// segment (cancel_report() is in api/report_admin.cpp).
//
// A handle found in a report row may be stale (the report ended) or even
// name a segment that now belongs to someone else (handles are reused), so a
// reader trusts a segment only when its size, magic number and report id
// match, read under a generation counter (odd while the worker rewrites it).
// A cancel request carries the generation it saw: a late request for an
// ended report can never stop the next one.
#include "pg/worker/progress.hpp"

#include "core/report_pipeline.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/locks.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "storage/dsm.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
}

#include <atomic>
#include <cstring>
#include <new>

namespace store_monitoring::pg {
namespace {

constexpr std::uint64_t kMagic = 0x534D50524F475231;  // "SMPROGR1"
constexpr size_t kIdBytes = 64;

struct SharedReportState {
  std::atomic<std::uint64_t> magic;
  std::atomic<std::uint64_t> generation;  // odd while report_id is rewritten
  char report_id[kIdBytes];               // NUL-terminated
  std::atomic<Oid> canceled_by;           // role of the last cancel request
  ReportProgress progress;                // progress.cancel: a generation
};

// The worker's segment, mapped for the life of the process.
SharedReportState* worker_state = nullptr;
dsm_handle worker_handle = 0;
std::uint64_t current_generation = 0;  // even; 0: no report

void write_id(SharedReportState* state, const std::string& report_id) {
  state->generation.fetch_add(1);  // odd: readers ignore the segment
  std::memset(state->report_id, 0, kIdBytes);
  std::memcpy(state->report_id, report_id.data(), std::min(report_id.size(), kIdBytes - 1));
}

// Calls fn(state, generation) when `handle` is a segment describing
// `report_id`; false when it is not.
template <typename Fn>
bool with_report_state(int64 handle, const std::string& report_id, Fn&& fn) {
  if (handle <= 0 || handle > static_cast<int64>(PG_UINT32_MAX) || report_id.size() >= kIdBytes)
    return false;
  // The worker's own segment (a role's view asking about the report being
  // read, from inside the read) is mapped already: dsm_attach would refuse a
  // second mapping with an internal error.
  bool own = worker_state != nullptr && static_cast<dsm_handle>(handle) == worker_handle;
  dsm_segment* segment =
      own ? nullptr : pg_call([&] { return dsm_attach(static_cast<dsm_handle>(handle)); });
  if (!own && segment == nullptr) return false;
  bool found = false;
  if (own || dsm_segment_map_length(segment) >= sizeof(SharedReportState)) {
    auto* state =
        own ? worker_state : static_cast<SharedReportState*>(dsm_segment_address(segment));
    const std::uint64_t generation = state->generation.load();
    char id[kIdBytes];
    std::memcpy(id, state->report_id, kIdBytes);
    if (state->magic.load() == kMagic && generation % 2 == 0 && generation != 0 &&
        state->generation.load() == generation &&
        std::strncmp(id, report_id.c_str(), kIdBytes) == 0) {
      found = true;
      fn(*state, generation);
    }
  }
  if (!own) pg_call([&] { dsm_detach(segment); });
  return found;
}

}  // namespace

void progress_begin(const std::string& report_id) {
  if (worker_state == nullptr) {
    pg_call([&] {
      dsm_segment* segment = dsm_create(sizeof(SharedReportState), 0);
      dsm_pin_mapping(segment);  // for the life of the worker, not the transaction
      worker_state = new (dsm_segment_address(segment)) SharedReportState();
      worker_handle = dsm_segment_handle(segment);
    });
    worker_state->magic.store(kMagic);
  }
  SharedReportState* state = worker_state;
  write_id(state, report_id);
  state->canceled_by.store(InvalidOid);
  state->progress.stores_read.store(0);
  state->progress.stores_done.store(0);
  state->progress.cancel.store(0);
  current_generation = state->generation.fetch_add(1) + 1;  // even again
  spi_execute(
      "UPDATE _store_monitoring_internal.report SET progress_handle = $2 WHERE report_id "
      "OPERATOR(pg_catalog.=) $1",
      {{TEXTOID, text_datum(report_id)}, {INT8OID, Int64GetDatum(worker_handle)}}, false);
}

void progress_end() noexcept {
  if (worker_state == nullptr) return;
  write_id(worker_state, std::string());
  worker_state->generation.fetch_add(1);
  current_generation = 0;
}

ReportProgress* progress_counters() noexcept {
  return current_generation != 0 ? &worker_state->progress : nullptr;
}

std::uint64_t progress_token() noexcept { return current_generation; }

bool progress_cancel_requested() noexcept {
  return current_generation != 0 && worker_state->progress.cancel.load() == current_generation;
}

std::optional<std::string> progress_cancel_message() {
  if (!progress_cancel_requested()) return std::nullopt;
  Oid role = worker_state->canceled_by.load();
  const char* name = pg_call([&] { return GetUserNameFromId(role, true); });
  return std::string("canceled by ") + (name != nullptr ? name : "a role that no longer exists");
}

void throw_if_canceled() {
  if (std::optional<std::string> message = progress_cancel_message())
    throw UserError(ERRCODE_QUERY_CANCELED, *message);
}

std::optional<ProgressCount> read_progress(int64 handle, const std::string& report_id) {
  std::optional<ProgressCount> count;
  with_report_state(handle, report_id, [&](SharedReportState& state, std::uint64_t) {
    // Done first: a store is read before it is computed, so done <= total.
    std::uint64_t done = state.progress.stores_done.load();
    count = ProgressCount{done, state.progress.stores_read.load()};
  });
  return count;
}

bool request_cancel(int64 handle, const std::string& report_id, Oid by) {
  return with_report_state(handle, report_id,
                           [&](SharedReportState& state, std::uint64_t generation) {
                             state.canceled_by.store(by);
                             state.progress.cancel.store(generation);
                           });
}

void pause_for_testing(PausePoint point) {
  Settings settings = current_settings();
  if (settings.debug_worker_delay <= 0 || settings.debug_pause_point != point) return;
  TimestampTz until =
      GetCurrentTimestamp() + static_cast<int64>(settings.debug_worker_delay) * 1000;
  for (;;) {
    long remaining_ms = static_cast<long>((until - GetCurrentTimestamp()) / 1000);
    if (remaining_ms <= 0 || progress_cancel_requested()) break;  // canceled: stop pausing
    pg_call([&] {
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, remaining_ms,
                      PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    });
  }
}

}  // namespace store_monitoring::pg
