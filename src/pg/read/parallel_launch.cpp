#include "pg/read/parallel_launch.hpp"

#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/wait_event.h"
}

namespace store_monitoring::pg {

ParallelWorkers::ParallelWorkers(const char* function, int workers,
                                 std::initializer_list<Size> entry_bytes, Size queue_bytes)
    : queue_bytes_(queue_bytes), workers_(workers) {
  pg_call_void([&] {
    EnterParallelMode();
    context_ = CreateParallelContext("store_monitoring", function, workers);
    for (Size bytes : entry_bytes) shm_toc_estimate_chunk(&context_->estimator, bytes);
    shm_toc_estimate_chunk(&context_->estimator, queue_bytes * workers);
    shm_toc_estimate_keys(&context_->estimator, entry_bytes.size() + 1);
    InitializeParallelDSM(context_);
    if (context_->seg == nullptr) return;  // no dynamic shared memory: no worker either
    uint64 key = 0;
    for (Size bytes : entry_bytes) {
      entries_.push_back(static_cast<char*>(shm_toc_allocate(context_->toc, bytes)));
      shm_toc_insert(context_->toc, ++key, entries_.back());
    }
    queue_space_ = static_cast<char*>(shm_toc_allocate(context_->toc, queue_bytes * workers));
    shm_toc_insert(context_->toc, ++key, queue_space_);
  });
}

void* ParallelWorkers::entry(uint64 key) const {
  return key >= 1 && key <= entries_.size() ? entries_[key - 1] : nullptr;
}

void ParallelWorkers::launch() {
  if (queue_space_ == nullptr) return;
  pg_call_void([&] {
    for (int i = 0; i < workers_; ++i)
      shm_mq_set_receiver(shm_mq_create(queue_space_ + i * queue_bytes_, queue_bytes_), MyProc);
    LaunchParallelWorkers(context_);
    // Workers are registered in order and the first refusal ends the
    // launch: those launched are the first ones.
    for (int i = 0; i < context_->nworkers_launched; ++i)
      queues_.push_back(shm_mq_attach(reinterpret_cast<shm_mq*>(queue_space_ + i * queue_bytes_),
                                      context_->seg, context_->worker[i].bgwhandle));
  });
}

void ParallelWorkers::finish() {
  if (context_ == nullptr) return;
  pg_call_void([&] {
    WaitForParallelWorkersToFinish(context_);
    DestroyParallelContext(context_);
    ExitParallelMode();
  });
  context_ = nullptr;
  entries_.clear();
  queue_space_ = nullptr;
  queues_.clear();
}

void ParallelWorkers::abandon() {
  if (context_ == nullptr) return;
  pg_call_void([&] {
    for (shm_mq_handle* queue : queues_) shm_mq_detach(queue);
  });
  queues_.clear();
  finish();
}

shm_mq_handle* attach_worker_queue(dsm_segment* segment, shm_toc* toc, uint64 key,
                                   Size queue_bytes) {
  auto* space = static_cast<char*>(pg_call([&] { return shm_toc_lookup(toc, key, false); }));
  // Bare: reads a process-global variable the parallel machinery set.
  auto* queue =
      reinterpret_cast<shm_mq*>(space + static_cast<Size>(ParallelWorkerNumber) * queue_bytes);
  pg_call_void([&] { shm_mq_set_sender(queue, MyProc); });
  return pg_call([&] { return shm_mq_attach(queue, segment, nullptr); });
}

bool send_message(shm_mq_handle* queue, std::string_view message) {
  return pg_call([&] { return shm_mq_send(queue, message.size(), message.data(), false, true); }) ==
         SHM_MQ_SUCCESS;
}

void receive_messages(const std::vector<shm_mq_handle*>& queues,
                      const std::function<void(size_t, std::string_view)>& on_message,
                      const std::function<void()>& check) {
  std::vector<bool> open(queues.size(), true);
  size_t still_open = queues.size();
  while (still_open > 0) {
    bool received = false;
    for (size_t i = 0; i < queues.size(); ++i) {
      if (!open[i]) continue;
      Size length = 0;
      void* data = nullptr;
      shm_mq_result result =
          pg_call([&] { return shm_mq_receive(queues[i], &length, &data, true); });
      if (result == SHM_MQ_WOULD_BLOCK) continue;
      received = true;
      if (result == SHM_MQ_DETACHED) {
        open[i] = false;
        --still_open;
        continue;
      }
      on_message(i, std::string_view(static_cast<const char*>(data), length));
    }
    check();
    if (!received)
      pg_call_void([] {
        // A send sets this latch; the timeout only bounds how late a cancel
        // is seen.
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
                        WAIT_EVENT_MQ_RECEIVE);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
      });
  }
}

}  // namespace store_monitoring::pg
