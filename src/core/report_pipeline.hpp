// Computes a report's stores on a second thread while the caller keeps
// reading input, so that reading (PostgreSQL, one thread) and computing
// (pure C++) overlap on two cores. Results come back in submission order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "report_codec.hpp"
#include "report_engine.hpp"

namespace store_monitoring {

struct StoreInput {
  std::string store_id;
  std::string time_zone;  // empty: kDefaultTimeZone
  std::vector<BusinessHours> hours;
  std::vector<Poll> polls;
};

// What a pipeline gives back (see ReportPipeline's constructor).
enum class ReportForm {
  rows_and_csv,  // store_ids, durations and csv
  stored,        // only stored (report_codec.hpp), built store by store
};

struct ReportOutput {
  std::vector<std::string> store_ids;
  std::vector<StoreDurations> durations;
  std::string csv;  // header and one line per store
  // ReportForm::stored: encode_report's bytes, and the stores they hold.
  std::string stored;
  size_t store_count = 0;
};

// How far a report got, and a request to stop it, shared with other threads
// or processes while it computes: lock-free atomics only, so that it may live
// in shared memory.
// Each counter has one writer and a cache line of its own, so that the two
// threads never slow each other down through it.
struct ReportProgress {
  alignas(64) std::atomic<std::uint64_t> stores_read{0};  // stores submitted so far
  alignas(64) std::atomic<std::uint64_t> stores_done{0};  // stores computed so far
  // The token of the run to stop (see report_progress_to); 0: none. A token
  // rather than a flag, so that a late request for an earlier run sharing
  // this memory cannot stop a later one.
  alignas(64) std::atomic<std::uint64_t> cancel{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// Thrown by submit() once ReportProgress::cancel is set.
class ReportCanceled : public std::runtime_error {
 public:
  ReportCanceled() : std::runtime_error("the report was canceled") {}
};

class ReportPipeline {
 public:
  // threaded = false computes inline in submit() (same results; for tests
  // and for callers that cannot start threads). ReportForm::stored keeps
  // about 50 bytes per store where rows and CSV take about 200 (a 1M-store
  // report's worker holds it all).
  explicit ReportPipeline(ReportSettings settings, bool threaded = true,
                          ReportForm form = ReportForm::rows_and_csv);
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

  // Counts stores into `progress` (which must outlive the pipeline) from now
  // on, and makes submit() throw ReportCanceled once its `cancel` holds
  // `token` (nonzero).
  void report_progress_to(ReportProgress* progress, std::uint64_t token) noexcept {
    progress_ = progress;
    token_ = token;
  }

 private:
  using Batch = std::vector<StoreInput>;
  void flush_pending();
  void run() noexcept;
  void compute_batch(Batch& batch);

  ReportEngine engine_;
  ReportForm form_;
  ReportOutput output_;
  ReportEncoder encoder_;
  ReportProgress* progress_ = nullptr;
  std::uint64_t token_ = 0;
  std::uint64_t stores_read_ = 0;  // published to progress_ (plain stores: one writer each)
  std::uint64_t stores_done_ = 0;
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
