#include "pg/read/parallel_store_order_read.hpp"

#include "core/store_assembly.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/parallel_launch.hpp"
#include "pg/read/parallel_messages.hpp"
#include "pg/worker/progress.hpp"

extern "C" {
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

#include <algorithm>
#include <atomic>
#include <new>
#include <optional>

namespace store_monitoring::pg {
namespace {

constexpr uint64 kKeyShared = 1;
constexpr uint64 kKeyInputs = 2;
constexpr uint64 kKeyQueues = 3;
constexpr int kMaxWorkers = 16;
// Per worker: a worker sends once its ranges are computed; beyond this it
// waits for the report's process, which receives once its own are.
constexpr Size kQueueBytes = 256 * 1024;
constexpr size_t kMessageBytes = 64 * 1024;
// Polls between two looks at the cancel flag and the others' stop.
constexpr uint64_t kCheckEvery = 4096;
// Histogram bounds per range at least, for ranges of about as many polls.
constexpr size_t kBoundsPerPart = 4;

constexpr char kPartMessage = 'P';  // a range's number, then bytes of its stored form
constexpr char kDoneMessage = 'D';  // a range's number: its stored form is complete
constexpr char kEndMessage = 'E';

enum Stop : uint32_t { kGoOn = 0, kCanceled = 1, kAbandoned = 2 };

// The report's process stopped the read: the workers end without sending.
struct Abandoned {};

struct SharedStoreOrder {
  Oid owner = InvalidOid;
  ReportSettings settings{};
  Span range{};
  uint32_t parts = 0;
  std::atomic<uint32_t> stop{kGoOn};
  std::atomic<uint64_t> stores[kMaxWorkers + 1]{};
  std::atomic<uint64_t> polls[kMaxWorkers + 1]{};
  // Per range, its pipeline's counts: the report's progress is their sum.
  ReportProgress progress[kMaxWorkers + 1];
};

// The segment's entries are only BUFFERALIGN'ed; the progress counters
// have a cache line each. The same offset in every process's mapping.
SharedStoreOrder* aligned_shared(void* space) {
  constexpr uintptr_t kAlign = alignof(SharedStoreOrder);
  return reinterpret_cast<SharedStoreOrder*>((reinterpret_cast<uintptr_t>(space) + kAlign - 1) &
                                             ~(kAlign - 1));
}

// What a worker cannot look up: the sources' shapes and the bounds.
struct Inputs {
  std::array<SourceShape, 3> shapes;
  std::vector<std::string> bounds;
};

std::string encode_inputs(const Inputs& inputs) {
  std::string out;
  for (const SourceShape& shape : inputs.shapes) {
    put(out, static_cast<uint32_t>(shape.input));
    put(out, static_cast<uint32_t>(shape.relation));
    put_bytes(out, shape.name);
    put(out, static_cast<uint8_t>(shape.status_is_enum));
    put(out, static_cast<uint32_t>(shape.active_label));
    put(out, static_cast<uint32_t>(shape.inactive_label));
    put(out, static_cast<uint32_t>(shape.weekday_type));
    put_labels(out, shape);
  }
  put(out, static_cast<uint32_t>(inputs.bounds.size()));
  for (const std::string& bound : inputs.bounds) put_bytes(out, bound);
  std::string blob;
  put_bytes(blob, out);
  return blob;
}

Inputs decode_inputs(const char* blob) {
  uint32_t length = 0;
  std::memcpy(&length, blob, sizeof(length));
  std::string_view in(blob + sizeof(length), length);
  size_t at = 0;
  Inputs inputs;
  for (SourceShape& shape : inputs.shapes) {
    shape.input = static_cast<Input>(take<uint32_t>(in, at));
    shape.relation = take<uint32_t>(in, at);
    shape.name = take_bytes(in, at);
    shape.status_is_enum = take<uint8_t>(in, at) != 0;
    shape.active_label = take<uint32_t>(in, at);
    shape.inactive_label = take<uint32_t>(in, at);
    shape.weekday_type = take<uint32_t>(in, at);
    take_labels(in, at, shape);
  }
  for (auto count = take<uint32_t>(in, at); count > 0; --count)
    inputs.bounds.emplace_back(take_bytes(in, at));
  return inputs;
}

// Range `part` of those `bounds` cut.
StoreKeyRange key_range(const std::vector<std::string>& bounds, uint32_t part) {
  return {part == 0 ? std::string() : bounds[part - 1],
          part < bounds.size() ? bounds[part] : std::string()};
}

// The report's progress, which the report's process alone writes: every
// range's stores, whoever computes them.
void publish_progress(const SharedStoreOrder& shared) {
  ReportProgress* progress = progress_counters();
  if (progress == nullptr) return;
  uint64_t done = 0;
  uint64_t read = 0;
  // Done first: a store is read before it is computed, so done <= read.
  for (uint32_t part = 0; part < shared.parts; ++part)
    done += shared.progress[part].stores_done.load(std::memory_order_relaxed);
  for (uint32_t part = 0; part < shared.parts; ++part)
    read += shared.progress[part].stores_read.load(std::memory_order_relaxed);
  progress->stores_read.store(read, std::memory_order_relaxed);
  progress->stores_done.store(done, std::memory_order_relaxed);
}

void check_stop(SharedStoreOrder& shared, bool leader) {
  uint32_t expected = kGoOn;
  if (leader) publish_progress(shared);
  if (leader && progress_cancel_requested())
    shared.stop.compare_exchange_strong(expected, kCanceled);
  switch (shared.stop.load()) {
    case kCanceled:
      throw ReportCanceled();
    case kAbandoned:
      throw Abandoned{};
    default:
      break;
  }
}

class AssemblingSink final : public PollSink {
 public:
  AssemblingSink(StoreAssembler& assembler, SharedStoreOrder& shared, bool leader,
                 std::atomic<uint64_t>& counter)
      : assembler_(assembler), shared_(shared), leader_(leader), counter_(counter) {}
  void poll(std::string_view store_id, TimestampTz at, PollStatus status) override {
    assembler_.poll(store_id, at + kPgEpochInUnixMicros, status);
    if (++polls_ % kCheckEvery == 0) {
      counter_.fetch_add(kCheckEvery, std::memory_order_relaxed);
      check_stop(shared_, leader_);
    }
  }
  ~AssemblingSink() { counter_.fetch_add(polls_ % kCheckEvery, std::memory_order_relaxed); }

 private:
  StoreAssembler& assembler_;
  SharedStoreOrder& shared_;
  bool leader_;
  std::atomic<uint64_t>& counter_;
  uint64_t polls_ = 0;
};

// One range's stored form: its hours and zones, then its polls in store
// order, each store computed as its polls end (one store held at a time).
std::string compute_part(const Inputs& inputs, SharedStoreOrder& shared, uint32_t part,
                         int participant) {
  const bool leader = participant == 0;
  const StoreKeyRange keys = key_range(inputs.bounds, part);
  BadRows bad(false);  // the first bad row ends the report
  StoreHoursTable hours = read_business_hours(inputs.shapes[1], bad, std::nullopt, keys);
  StoreZoneTable zones = read_time_zones(inputs.shapes[2], bad, std::nullopt, keys);
  ReportPipeline pipeline(shared.settings, false, ReportForm::stored);
  // Token 0: a cancel is seen by check_stop.
  pipeline.report_progress_to(&shared.progress[part], 0);
  StoreAssembler assembler(hours, zones,
                           [&](StoreInput&& store) { pipeline.submit(std::move(store)); });
  assembler.keep_polls_between(shared.range.begin, shared.range.end - 1);
  {
    AssemblingSink sink(assembler, shared, leader, shared.polls[participant]);
    read_polls_in_keys(inputs.shapes[0], keys, sink, bad);
  }
  assembler.finish();
  ReportOutput output = pipeline.finish();
  shared.stores[participant].fetch_add(output.store_count);
  return std::move(output.stored);
}

bool send(shm_mq_handle* queue, std::string_view bytes, const SharedStoreOrder& shared) {
  return send_message(queue, bytes) && shared.stop.load() == kGoOn;
}

// A range's stored form in messages of at most kMessageBytes, then its end.
bool send_part(shm_mq_handle* queue, uint32_t part, std::string_view stored,
               const SharedStoreOrder& shared) {
  std::string message;
  constexpr size_t kHead = 1 + sizeof(uint32_t);
  for (size_t at = 0; at < stored.size(); at += kMessageBytes - kHead) {
    message.assign(1, kPartMessage);
    put(message, part);
    message.append(stored.substr(at, kMessageBytes - kHead));
    if (!send(queue, message, shared)) return false;
  }
  message.assign(1, kDoneMessage);
  put(message, part);
  return send(queue, message, shared);
}

// Collects what the workers send until every one has detached; returns
// how many sent their end.
int receive_parts(const std::vector<shm_mq_handle*>& queues, std::vector<std::string>& parts,
                  std::vector<bool>& done, SharedStoreOrder& shared) {
  int ended = 0;
  receive_messages(
      queues,
      [&](size_t, std::string_view message) {
        if (message == std::string_view(&kEndMessage, 1)) {
          ++ended;
          return;
        }
        size_t at = 1;
        const auto part = message.empty() ? parts.size() : take<uint32_t>(message, at);
        if (part >= parts.size() || done[part] ||
            (message[0] != kPartMessage && message[0] != kDoneMessage))
          throw std::runtime_error("an unknown store-order read message");
        if (message[0] == kDoneMessage)
          done[part] = true;
        else
          parts[part].append(message.substr(at));
      },
      [&] { check_stop(shared, true); });
  return ended;
}

}  // namespace

std::vector<std::string> store_key_bounds(Oid polls, int parts) {
  if (parts < 2) return {};
  // The histogram is in the column's collation: "C" is byte order.
  // pg_stats: the bounds only when the owner may read the column.
  uint64 found = spi_execute(
      "SELECT st.histogram_bounds::pg_catalog.text::pg_catalog.text[]"
      " FROM pg_catalog.pg_class c"
      " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
      " JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid"
      "  AND a.attname OPERATOR(pg_catalog.=) 'store_id'"
      " JOIN pg_catalog.pg_stats st ON st.schemaname OPERATOR(pg_catalog.=) n.nspname"
      "  AND st.tablename OPERATOR(pg_catalog.=) c.relname"
      "  AND st.attname OPERATOR(pg_catalog.=) 'store_id'"
      " WHERE c.oid OPERATOR(pg_catalog.=) $1 AND a.attcollation OPERATOR(pg_catalog.=) $2",
      {{OIDOID, ObjectIdGetDatum(polls)}, {OIDOID, ObjectIdGetDatum(C_COLLATION_OID)}}, true, 1);
  bool is_null = true;
  Datum array = found == 1 ? spi_value(0, 1, &is_null) : Datum(0);
  if (is_null) return {};
  std::vector<std::string> histogram;
  pg_call_void([&] {
    Datum* elements = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &elements,
                      &nulls, &count);
    for (int i = 0; i < count; ++i)
      if (!nulls[i]) histogram.emplace_back(text_to_cstring(DatumGetTextPP(elements[i])));
  });
  std::sort(histogram.begin(), histogram.end());  // byte order, whatever was stored
  histogram.erase(std::unique(histogram.begin(), histogram.end()), histogram.end());
  if (histogram.size() < kBoundsPerPart * static_cast<size_t>(parts)) return {};
  std::vector<std::string> bounds;
  for (int i = 1; i < parts; ++i) bounds.push_back(histogram[i * (histogram.size() - 1) / parts]);
  return bounds;
}

std::optional<ReportOutput> read_store_order_split(const std::array<SourceShape, 3>& shapes,
                                                   const ReportSettings& settings, Span range,
                                                   const std::vector<std::string>& bounds,
                                                   int workers, StoreOrderStats& stats) {
  // A range's progress each (never more: one range per participant).
  if (bounds.size() > static_cast<size_t>(kMaxWorkers)) return std::nullopt;
  Inputs inputs{shapes, bounds};
  const std::string blob = encode_inputs(inputs);
  workers = std::clamp(workers, 0, kMaxWorkers);
  auto fill = [&](SharedStoreOrder& into) {
    // Bare: reads a backend-local variable (inside the owner's OwnerRead).
    into.owner = GetUserId();
    into.settings = settings;
    into.range = range;
    into.parts = static_cast<uint32_t>(bounds.size() + 1);
  };
  ParallelWorkers parallel("store_monitoring_store_order_worker", workers,
                           {sizeof(SharedStoreOrder) + alignof(SharedStoreOrder), blob.size()},
                           kQueueBytes);
  SharedStoreOrder local;
  SharedStoreOrder* shared = &local;
  if (void* space = parallel.entry(kKeyShared); space != nullptr) {
    shared = new (aligned_shared(space)) SharedStoreOrder();
    std::memcpy(parallel.entry(kKeyInputs), blob.data(), blob.size());
  }
  fill(*shared);
  parallel.launch();
  stats.launched = parallel.launched();
  if (stats.launched == 0) {
    parallel.finish();  // the serial read overlaps reading and computing
    return std::nullopt;
  }
  std::vector<std::string> parts(shared->parts);
  std::vector<bool> done(shared->parts, false);
  int ended = 0;
  try {
    // Range n + 1 is worker n's: the report's process reads the first,
    // then those of workers not launched.
    for (uint32_t part = 0; part < shared->parts;
         part = part == 0 ? static_cast<uint32_t>(stats.launched) + 1 : part + 1) {
      parts[part] = compute_part(inputs, *shared, part, 0);
      done[part] = true;
      publish_progress(*shared);
    }
    ended = receive_parts(parallel.queues(), parts, done, *shared);
  } catch (const PgError&) {
    throw;  // the transaction aborts, ending the workers and parallel mode
  } catch (...) {
    shared->stop.store(kAbandoned);
    parallel.abandon();
    throw;
  }
  for (int i = 0; i <= stats.launched; ++i) {
    stats.stores.push_back(shared->stores[i].load());
    stats.polls.push_back(shared->polls[i].load());
  }
  parallel.finish();  // `shared` is gone
  if (ended != stats.launched || std::find(done.begin(), done.end(), false) != done.end())
    throw std::runtime_error("a parallel worker of the store-order read ended without its stores");
  ReportEncoder encoder;
  size_t bytes = 0;
  for (const std::string& part : parts) bytes += part.size();
  encoder.reserve(bytes);
  for (std::string& part : parts) {
    encoder.append(part);
    std::string().swap(part);
  }
  ReportOutput output;
  output.store_count = encoder.store_count();
  if (ReportProgress* progress = progress_counters(); progress != nullptr) {
    progress->stores_read.store(output.store_count, std::memory_order_relaxed);
    progress->stores_done.store(output.store_count, std::memory_order_relaxed);
  }
  output.stored = encoder.finish();
  return output;
}

}  // namespace store_monitoring::pg

using namespace store_monitoring;
using namespace store_monitoring::pg;

void store_monitoring_store_order_worker(dsm_segment* segment, shm_toc* toc) {
  pg_entry([&] {
    auto lookup = [&](uint64 key) {
      return pg_call([&] { return shm_toc_lookup(toc, key, false); });
    };
    SharedStoreOrder* shared = aligned_shared(lookup(kKeyShared));
    Inputs inputs = decode_inputs(static_cast<const char*>(lookup(kKeyInputs)));
    // Bare: reads a process-global variable the parallel machinery set.
    const int number = ParallelWorkerNumber;
    shm_mq_handle* handle = attach_worker_queue(segment, toc, kKeyQueues, kQueueBytes);
    {
      SpiConnection spi;
      // PostgreSQL gives the worker the leader's identity and settings; the
      // read is restricted here all the same, as every read is.
      OwnerRead reader(shared->owner);
      try {
        const auto part = static_cast<uint32_t>(number) + 1;
        if (part < shared->parts &&
            send_part(handle, part, compute_part(inputs, *shared, part, number + 1), *shared))
          (void)send(handle, std::string_view(&kEndMessage, 1), *shared);
      } catch (const ReportCanceled&) {
      } catch (const Abandoned&) {
      }
    }
    pg_call_void([&] { shm_mq_detach(handle); });
  });
}
