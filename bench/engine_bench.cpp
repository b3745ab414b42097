// Micro-benchmarks of the computing core (no PostgreSQL): how many stores per
// second ReportEngine::compute_store and the two-thread ReportPipeline get
// through, on synthetic stores shaped like the public sample data (a week of
// hourly polls, business hours in US time zones).
//
//   cmake -S . -B build-bench -DSM_BENCH=ON && cmake --build build-bench -j2 --target engine_bench
//   build-bench/bench/engine_bench [--benchmark_filter=...]
//
// "stores/s" is the rate to compare; bench/run.sh measures the whole report.
#include "poll_groups.hpp"
#include "report_engine.hpp"
#include "report_pipeline.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace sm = store_monitoring;

namespace {

// T of the public data: 2023-01-25 18:13:22.47922 UTC; H = 2 hours.
constexpr sm::Micros kAsOf = 1674670402 * sm::kMicrosPerSecond + 479220;
constexpr sm::Micros kH = 2 * sm::kMicrosPerHour;

// Business-hours shapes, one per benchmark argument.
enum Shape : int {
  six_rows = 0,   // Monday to Saturday 10:00-22:00, closed Sunday (6 rows)
  always = 1,     // no rows: open 24x7
  split = 2,      // every day 11:00-14:00 and 17:00-23:59:59 (14 rows)
  overnight = 3,  // every day 18:00-02:00 (7 rows, each running into the next day)
};

constexpr std::array<const char*, 6> kZones = {"",  // no time-zone row: America/Chicago
                                               "America/New_York",
                                               "America/Chicago",
                                               "America/Los_Angeles",
                                               "America/Denver",
                                               "America/Phoenix"};

sm::Micros clock_time(int hours, int minutes = 0, int seconds = 0) {
  return hours * sm::kMicrosPerHour + minutes * sm::kMicrosPerMinute +
         seconds * sm::kMicrosPerSecond;
}

std::vector<sm::BusinessHours> hours_for(Shape shape) {
  std::vector<sm::BusinessHours> rows;
  switch (shape) {
    case six_rows:
      for (int day = 0; day < 6; ++day) rows.push_back({day, clock_time(10), clock_time(22)});
      break;
    case always:
      break;
    case split:
      for (int day = 0; day < 7; ++day) {
        rows.push_back({day, clock_time(11), clock_time(14)});
        rows.push_back({day, clock_time(17), clock_time(23, 59, 59)});
      }
      break;
    case overnight:
      for (int day = 0; day < 7; ++day) rows.push_back({day, clock_time(18), clock_time(2)});
      break;
  }
  return rows;
}

// `per_hour` polls per hour over the evidence range [T - 168 h - H, T], each
// in the first 15 minutes of its slot, in time order (as the worker's read
// delivers them); outages of a few hours make about a fifth inactive.
std::vector<sm::Poll> polls_for(std::mt19937_64& rng, int per_hour) {
  std::vector<sm::Poll> polls;
  const sm::Micros from = kAsOf - sm::kMicrosPerWeek - kH;
  const sm::Micros slot = sm::kMicrosPerHour / per_hour;
  std::uniform_int_distribution<sm::Micros> jitter(0, 15 * sm::kMicrosPerMinute);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  sm::Micros down_until = from;
  for (sm::Micros at = from - from % slot + slot; at <= kAsOf; at += slot) {
    const sm::Micros poll_at = std::min(at + jitter(rng), kAsOf);
    if (poll_at >= down_until && coin(rng) < 0.05)
      down_until = poll_at + static_cast<sm::Micros>(coin(rng) * 8 * sm::kMicrosPerHour);
    polls.push_back(
        {poll_at, poll_at < down_until ? sm::PollStatus::inactive : sm::PollStatus::active});
  }
  return polls;
}

struct Corpus {
  std::vector<sm::StoreInput> stores;
  std::size_t polls = 0;
};

// `count` stores of one shape, zones cycling through kZones.
Corpus make_corpus(Shape shape, int per_hour, std::size_t count) {
  std::mt19937_64 rng(42);
  Corpus corpus;
  corpus.stores.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    sm::StoreInput store;
    store.store_id = std::to_string(1000000000000000000ULL + i * 7919);
    store.time_zone = kZones[i % kZones.size()];
    store.hours = hours_for(shape);
    store.polls = polls_for(rng, per_hour);
    corpus.polls += store.polls.size();
    corpus.stores.push_back(std::move(store));
  }
  return corpus;
}

void set_rates(benchmark::State& state, std::size_t stores, std::size_t polls) {
  state.SetItemsProcessed(static_cast<int64_t>(stores));
  state.counters["stores/s"] =
      benchmark::Counter(static_cast<double>(stores), benchmark::Counter::kIsRate);
  state.counters["polls/s"] =
      benchmark::Counter(static_cast<double>(polls), benchmark::Counter::kIsRate);
}

// One store per iteration, cycling through 1,024 different stores so that
// branch predictors and caches see realistic variety.
void BM_ComputeStore(benchmark::State& state) {
  const auto shape = static_cast<Shape>(state.range(0));
  const int per_hour = static_cast<int>(state.range(1));
  const Corpus corpus = make_corpus(shape, per_hour, 1024);
  sm::ReportEngine engine({kAsOf, kH, sm::Interpolation::nearest});
  std::size_t i = 0;
  std::size_t stores = 0;
  std::size_t polls = 0;
  for (auto _ : state) {
    const sm::StoreInput& s = corpus.stores[i];
    benchmark::DoNotOptimize(engine.compute_store(s.time_zone, s.hours, s.polls));
    polls += s.polls.size();
    ++stores;
    if (++i == corpus.stores.size()) i = 0;
  }
  set_rates(state, stores, polls);
  state.SetLabel(std::to_string(corpus.polls / corpus.stores.size()) + " polls/store");
}
BENCHMARK(BM_ComputeStore)
    ->ArgNames({"shape", "polls_per_hour"})
    ->Args({six_rows, 1})
    ->Args({always, 1})
    ->Args({split, 1})
    ->Args({overnight, 1})
    ->Args({six_rows, 2});

// A whole report's computation as the worker runs it: 14,212 stores (the
// public data) through ReportPipeline, CSV included; threaded = a second
// thread computes while the caller submits (the worker's mode). The inputs
// are copied into the pipeline outside the timed region. progress = the
// worker's shared counters (stores read and computed, cancel checks) on.
void BM_ReportPipeline(benchmark::State& state) {
  const bool threaded = state.range(0) != 0;
  const bool with_progress = state.range(1) != 0;
  sm::ReportProgress progress;
  const Corpus corpus = make_corpus(six_rows, 1, 14212);
  std::size_t stores = 0;
  std::size_t polls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<sm::StoreInput> inputs = corpus.stores;
    state.ResumeTiming();
    sm::ReportPipeline pipeline({kAsOf, kH, sm::Interpolation::nearest}, threaded);
    if (with_progress) pipeline.report_progress_to(&progress, 1);
    for (sm::StoreInput& s : inputs) pipeline.submit(std::move(s));
    sm::ReportOutput output = pipeline.finish();
    benchmark::DoNotOptimize(output.csv.data());
    stores += corpus.stores.size();
    polls += corpus.polls;
  }
  set_rates(state, stores, polls);
}
BENCHMARK(BM_ReportPipeline)
    ->ArgNames({"threaded", "progress"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The range read's grouping as the worker does it (src/pg/report_compute.cpp):
// every poll of the evidence range of 14,212 stores arrives in time order,
// each hour's stores in a random order (as rows lie in the heap), into
// PollGroups; then every store's polls are taken out in store-id order.
// "polls/s" is the rate to compare with the range read's rows per second.
void BM_PollGroups(benchmark::State& state) {
  const Corpus corpus = make_corpus(six_rows, 1, 14212);
  // The id inside the row, as in a heap tuple: reading it costs no miss of
  // its own.
  struct Row {
    char store_id[23];
    std::uint8_t length;
    sm::Poll poll;
  };
  std::vector<Row> rows;
  rows.reserve(corpus.polls);
  for (const sm::StoreInput& s : corpus.stores)
    for (const sm::Poll& p : s.polls) {
      Row row{{}, static_cast<std::uint8_t>(s.store_id.size()), p};
      s.store_id.copy(row.store_id, sizeof row.store_id);
      rows.push_back(row);
    }
  std::mt19937_64 rng(7);
  std::shuffle(rows.begin(), rows.end(), rng);  // random order within an hour...
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.poll.at / sm::kMicrosPerHour < b.poll.at / sm::kMicrosPerHour;
  });  // ...hours in time order
  const sm::Span range{kAsOf - sm::kMicrosPerWeek - kH, kAsOf + 1};
  std::size_t polls = 0;
  std::vector<sm::Poll> out;
  for (auto _ : state) {
    sm::PollGroups groups(range);
    for (const Row& row : rows) groups.add({row.store_id, row.length}, row.poll);
    for (std::string_view id : groups.sorted_store_ids()) {
      groups.polls_of(id, out);
      benchmark::DoNotOptimize(out.data());
    }
    polls += rows.size();
  }
  set_rates(state, corpus.stores.size() * static_cast<std::size_t>(state.iterations()), polls);
}
BENCHMARK(BM_PollGroups)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
