#include "report_pipeline.hpp"

#include "zone_calendar.hpp"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace store_monitoring {
namespace {

constexpr size_t kBatchStores = 64;       // stores handed over at once
constexpr size_t kMaxQueuedBatches = 16;  // bounds memory held in flight

// Starts a thread with every signal blocked, so that the host process's
// signal handlers (PostgreSQL's) always run on the thread that owns them.
std::thread start_with_signals_blocked(ReportPipeline* pipeline, void (ReportPipeline::*run)()) {
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  std::thread thread;
  try {
    thread = std::thread(run, pipeline);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return thread;
}

}  // namespace

ReportPipeline::ReportPipeline(ReportSettings settings, bool threaded, ReportForm form)
    : engine_(settings), form_(form), threaded_(threaded) {
  if (form_ == ReportForm::rows_and_csv) output_.csv.append(csv_header()).push_back('\n');
  pending_.reserve(kBatchStores);
  if (threaded_) {
    detail::load_zone_database();  // before the thread's first lookup
    thread_ = start_with_signals_blocked(this, &ReportPipeline::run);
  }
}

ReportPipeline::~ReportPipeline() { abandon(); }

void ReportPipeline::abandon() noexcept {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  space_ready_.notify_all();
  thread_.join();
}

void ReportPipeline::compute_batch(Batch& batch) {
  for (StoreInput& store : batch) {
    StoreDurations durations = engine_.compute_store(store.time_zone, store.hours, store.polls);
    if (form_ == ReportForm::stored) {
      encoder_.add(store.store_id, durations);
      continue;
    }
    append_csv_row(output_.csv, store.store_id, durations);
    output_.store_ids.push_back(std::move(store.store_id));
    output_.durations.push_back(durations);
  }
  if (progress_ != nullptr) {
    stores_done_ += batch.size();
    progress_->stores_done.store(stores_done_, std::memory_order_relaxed);
  }
}

void ReportPipeline::submit(StoreInput&& store) {
  if (progress_ != nullptr) {
    if (token_ != 0 && progress_->cancel.load(std::memory_order_relaxed) == token_)
      throw ReportCanceled();
    progress_->stores_read.store(++stores_read_, std::memory_order_relaxed);
  }
  pending_.push_back(std::move(store));
  if (pending_.size() >= kBatchStores) flush_pending();
}

void ReportPipeline::flush_pending() {
  if (pending_.empty()) return;
  if (!threaded_) {
    compute_batch(pending_);
    pending_.clear();
    return;
  }
  {
    std::unique_lock lock(mutex_);
    space_ready_.wait(lock, [&] { return queue_.size() < kMaxQueuedBatches || error_; });
    if (error_) std::rethrow_exception(error_);
    queue_.push_back(std::move(pending_));
  }
  work_ready_.notify_one();
  pending_ = Batch();
  pending_.reserve(kBatchStores);
}

void ReportPipeline::run() noexcept {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return !queue_.empty() || closing_ || stopping_; });
      if (stopping_ || queue_.empty()) return;  // closing and drained
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    space_ready_.notify_one();
    try {
      compute_batch(batch);
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      space_ready_.notify_all();
      return;
    }
  }
}

ReportOutput ReportPipeline::finish() {
  flush_pending();
  if (threaded_) {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    work_ready_.notify_all();
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }
  if (form_ == ReportForm::stored) {
    output_.store_count = encoder_.store_count();
    output_.stored = encoder_.finish();
  } else {
    output_.store_count = output_.store_ids.size();
  }
  return std::move(output_);
}

}  // namespace store_monitoring
