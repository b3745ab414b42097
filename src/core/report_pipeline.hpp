// Computes a report's stores on a second thread while the caller keeps
// reading input, so that reading (PostgreSQL, one thread) and computing
// (pure C++) overlap on two cores. Results come back in submission order.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "report_engine.hpp"

namespace store_monitoring {

struct StoreInput {
  std::string store_id;
  std::string time_zone;  // empty: kDefaultTimeZone
  std::vector<BusinessHours> hours;
  std::vector<Poll> polls;
};

struct ReportOutput {
  std::vector<std::string> store_ids;
  std::vector<StoreDurations> durations;
  std::string csv;  // header and one line per store
};

class ReportPipeline {
 public:
  // threaded = false computes inline in submit() (same results; for tests
  // and for callers that cannot start threads).
  explicit ReportPipeline(ReportSettings settings, bool threaded = true);
  // Stops and joins the thread, discarding unfinished work.
  ~ReportPipeline();
  ReportPipeline(const ReportPipeline&) = delete;
  ReportPipeline& operator=(const ReportPipeline&) = delete;

  // Queues one store. Blocks while too much work is queued (bounded memory).
  // Rethrows the first error of the computing thread.
  void submit(StoreInput&& store);

  // Waits for every queued store and returns all results. Rethrows the first
  // error of the computing thread. Call once.
  ReportOutput finish();

  // Stops the thread without waiting for queued work (for process exit).
  void abandon() noexcept;

 private:
  using Batch = std::vector<StoreInput>;
  void flush_pending();
  void run() noexcept;
  void compute_batch(Batch& batch);

  ReportEngine engine_;
  ReportOutput output_;
  Batch pending_;
  bool threaded_;

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable space_ready_;
  std::deque<Batch> queue_;
  bool closing_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace store_monitoring
