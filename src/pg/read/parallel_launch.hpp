// The parallel workers of a split read (parallel_range_read.cpp,
// parallel_store_order_read.cpp): parallel mode, a segment whose entries
// the read lays out, one queue per worker to the report's process, and the
// report's process receiving from all of them. PostgreSQL's parallel
// infrastructure gives every worker the report's snapshots, role and
// settings.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "storage/shm_mq.h"
}

#include <functional>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace store_monitoring::pg {

class ParallelWorkers {
 public:
  // Enters parallel mode and lays out a segment for `workers` workers
  // running `function` (of this library): entries of `entry_bytes` under
  // keys 1, 2, ..., then the queues (`queue_bytes` each). A PostgreSQL
  // error ends parallel mode with the transaction's abort.
  ParallelWorkers(const char* function, int workers, std::initializer_list<Size> entry_bytes,
                  Size queue_bytes);
  ParallelWorkers(const ParallelWorkers&) = delete;
  ParallelWorkers& operator=(const ParallelWorkers&) = delete;

  // Entry `key`; nullptr without dynamic shared memory (and no worker).
  void* entry(uint64 key) const;
  // Creates the queues and launches the workers (once the entries are
  // filled); those launched are the first ones.
  void launch();
  int launched() const noexcept { return static_cast<int>(queues_.size()); }
  const std::vector<shm_mq_handle*>& queues() const noexcept { return queues_; }
  // Waits for the workers, raising a worker's error if any, and leaves
  // parallel mode.
  void finish();
  // After an error of the report's process the transaction survives: the
  // queues detach (a worker's next send fails and it stops), then finish().
  void abandon();

 private:
  ParallelContext* context_ = nullptr;
  std::vector<char*> entries_;
  char* queue_space_ = nullptr;
  Size queue_bytes_;
  int workers_;
  std::vector<shm_mq_handle*> queues_;
};

// In a worker: its queue to the report's process, in the segment's entry
// `key`.
shm_mq_handle* attach_worker_queue(dsm_segment* segment, shm_toc* toc, uint64 key,
                                   Size queue_bytes);

// Sends one message, waiting for room; false when the report's process
// detached.
bool send_message(shm_mq_handle* queue, std::string_view message);

// Receives from every queue until each has detached, handing each message
// to `on_message` (queue index, bytes); `check` runs after every round and
// may throw to stop. Interrupts (a worker's error among them) are served
// while it waits.
void receive_messages(const std::vector<shm_mq_handle*>& queues,
                      const std::function<void(size_t, std::string_view)>& on_message,
                      const std::function<void()>& check);

}  // namespace store_monitoring::pg
