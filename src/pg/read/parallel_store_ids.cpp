#include "pg/read/parallel_store_ids.hpp"

#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "access/parallel.h"
#include "access/xact.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
}

#include <cstring>
#include <string>

namespace store_monitoring::pg {
namespace {

constexpr uint64 kKeySource = 1;
constexpr uint64 kKeyQueue = 2;
// Room for the ids of about 150,000 stores while the leader is busy; beyond
// that the worker waits for the leader to drain the queue.
constexpr Size kQueueBytes = 4 * 1024 * 1024;

struct SharedSource {
  Oid owner;  // the report's owner: the worker reads as the leader does
  Oid relation;
  int name_length;
  char name[FLEXIBLE_ARRAY_MEMBER];
};

// The ids go to the queue only after the statement ends: the executor's
// callback never calls PostgreSQL.
struct CollectIds final : PollSink {
  std::vector<std::string> ids;
  void poll(std::string_view, TimestampTz, PollStatus) override {}
  void store(std::string_view store_id) override { ids.emplace_back(store_id); }
};

}  // namespace

namespace detail {

struct ParallelIds {
  ParallelContext* context = nullptr;
  shm_mq_handle* queue = nullptr;
};

ParallelIds* start_store_id_worker(const SourceShape& source) {
  return pg_call([&] {
    auto* state = static_cast<ParallelIds*>(palloc0(sizeof(ParallelIds)));
    EnterParallelMode();
    ParallelContext* context =
        CreateParallelContext("store_monitoring", "store_monitoring_store_ids_worker", 1);
    Size source_bytes = offsetof(SharedSource, name) + source.name.size() + 1;
    shm_toc_estimate_chunk(&context->estimator, source_bytes);
    shm_toc_estimate_chunk(&context->estimator, kQueueBytes);
    shm_toc_estimate_keys(&context->estimator, 2);
    InitializeParallelDSM(context);
    if (context->seg == nullptr) {  // no dynamic shared memory: no worker either
      state->context = context;
      return state;
    }
    auto* shared = static_cast<SharedSource*>(shm_toc_allocate(context->toc, source_bytes));
    // Bare: reads a backend-local variable. The leader is inside the
    // owner's OwnerRead.
    shared->owner = GetUserId();
    shared->relation = source.relation;
    shared->name_length = static_cast<int>(source.name.size());
    memcpy(shared->name, source.name.data(), source.name.size() + 1);
    shm_toc_insert(context->toc, kKeySource, shared);
    shm_mq* queue = shm_mq_create(shm_toc_allocate(context->toc, kQueueBytes), kQueueBytes);
    shm_toc_insert(context->toc, kKeyQueue, queue);
    shm_mq_set_receiver(queue, MyProc);
    LaunchParallelWorkers(context);
    if (context->nworkers_launched > 0)
      state->queue = shm_mq_attach(queue, context->seg, context->worker[0].bgwhandle);
    state->context = context;
    return state;
  });
}

bool finish_store_id_worker(ParallelIds* state, const SourceShape& source, PollSink& sink,
                            BadRows& bad) {
  bool launched = state->queue != nullptr;
  if (launched) {
    std::string id;
    for (;;) {
      Size length = 0;
      void* data = nullptr;
      shm_mq_result result =
          pg_call([&] { return shm_mq_receive(state->queue, &length, &data, false); });
      if (result != SHM_MQ_SUCCESS) break;  // the worker detached: all sent
      id.assign(static_cast<const char*>(data), length);
      sink.store(id);
    }
  }
  // Raises the worker's error, if any, here.
  pg_call([&] {
    WaitForParallelWorkersToFinish(state->context);
    DestroyParallelContext(state->context);
    ExitParallelMode();
  });
  if (!launched) read_poll_store_ids(source, sink, bad);
  return launched;
}

void abandon_store_id_worker(ParallelIds* state) {
  pg_call([&] {
    // Detached, the queue makes the worker's next send fail: it stops.
    if (state->queue != nullptr) shm_mq_detach(state->queue);
    WaitForParallelWorkersToFinish(state->context);
    DestroyParallelContext(state->context);
    ExitParallelMode();
  });
  state->queue = nullptr;
}

}  // namespace detail
}  // namespace store_monitoring::pg

using namespace store_monitoring::pg;

void store_monitoring_store_ids_worker(dsm_segment* segment, shm_toc* toc) {
  pg_entry([&] {
    auto* shared =
        static_cast<SharedSource*>(pg_call([&] { return shm_toc_lookup(toc, kKeySource, false); }));
    auto* queue =
        static_cast<shm_mq*>(pg_call([&] { return shm_toc_lookup(toc, kKeyQueue, false); }));
    pg_call([&] { shm_mq_set_sender(queue, MyProc); });
    shm_mq_handle* handle = pg_call([&] { return shm_mq_attach(queue, segment, nullptr); });
    SourceShape source;
    source.input = Input::polls;
    source.relation = shared->relation;
    source.name.assign(shared->name, shared->name_length);
    CollectIds collected;
    {
      SpiConnection spi;
      // PostgreSQL gives the worker the leader's identity and settings;
      // the read is restricted here all the same, as every read is.
      OwnerRead reader(shared->owner);
      BadRows bad(false);
      read_poll_store_ids(source, collected, bad);
    }
    for (const std::string& id : collected.ids) {
      shm_mq_result result =
          pg_call([&] { return shm_mq_send(handle, id.size(), id.data(), false, true); });
      if (result != SHM_MQ_SUCCESS) break;  // the leader is gone
    }
    pg_call([&] { shm_mq_detach(handle); });
  });
}
