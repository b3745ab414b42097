// The threaded pipeline gives exactly what computing store by store gives,
// in submission order, and hands the computing thread's errors back.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "report_codec.hpp"
#include "report_pipeline.hpp"
#include "test_util.hpp"

namespace {

using namespace store_monitoring;
using sm_test::hms;
using sm_test::kMin;
using sm_test::utc;

const ReportSettings kSettings{utc(2023, 1, 25, 12), 2 * sm_test::kHour, Interpolation::nearest};

StoreInput make_store(int n) {
  StoreInput store;
  store.store_id = "store-" + std::to_string(100000 + n);
  store.time_zone = (n % 3 == 0) ? "America/New_York" : (n % 3 == 1 ? "" : "UTC");
  if (n % 4 != 0) store.hours.push_back({n % 7, hms(8 + n % 5, 0), hms(17 + n % 6, 30)});
  for (int i = 0; i < 200; ++i)
    store.polls.push_back({utc(2023, 1, 18) + (i * 53 + n) * kMin, ((i / (2 + n % 5)) % 3 == 0)
                                                                       ? PollStatus::inactive
                                                                       : PollStatus::active});
  return store;
}

ReportOutput run(bool threaded, int stores) {
  ReportPipeline pipeline(kSettings, threaded);
  for (int n = 0; n < stores; ++n) pipeline.submit(make_store(n));
  return pipeline.finish();
}

TEST(ReportPipeline, ThreadedEqualsInlineInOrder) {
  ReportOutput threaded = run(true, 1000);
  ReportOutput inline_ = run(false, 1000);
  ASSERT_EQ(threaded.store_ids.size(), 1000u);
  EXPECT_EQ(threaded.store_ids, inline_.store_ids);
  EXPECT_EQ(threaded.durations, inline_.durations);
  EXPECT_EQ(threaded.csv, inline_.csv);
  ReportEngine engine(kSettings);
  for (int n : {0, 1, 2, 63, 64, 65, 999}) {
    StoreInput store = make_store(n);
    EXPECT_EQ(threaded.store_ids[n], store.store_id);
    EXPECT_EQ(threaded.durations[n],
              engine.compute_store(store.time_zone, store.hours, store.polls));
  }
}

// What is stored is the whole report: the CSV rendered from the stored
// bytes is byte for byte the CSV the pipeline writes while computing (1.0
// stored the latter), and the microseconds come back unchanged.
TEST(ReportPipeline, StoredFormRendersThePipelinesCsv) {
  ReportOutput output = run(true, 1000);
  std::string stored = encode_report(output.store_ids, output.durations);
  EXPECT_EQ(render_csv(std::string_view(stored)), output.csv);
  StoredReport back = decode_report(stored);
  EXPECT_EQ(back.store_ids, output.store_ids);
  EXPECT_EQ(back.durations, output.durations);
}

TEST(ReportPipeline, EmptyReportHasOnlyTheHeader) {
  ReportOutput output = run(true, 0);
  EXPECT_TRUE(output.store_ids.empty());
  EXPECT_EQ(output.csv, std::string(csv_header()) + "\n");
}

TEST(ReportPipeline, ComputeErrorsReachTheCaller) {
  for (bool threaded : {true, false}) {
    ReportPipeline pipeline(kSettings, threaded);
    StoreInput bad = make_store(1);
    bad.time_zone = "Not/AZone";
    EXPECT_THROW(
        {
          pipeline.submit(std::move(bad));
          for (int n = 0; n < 5000; ++n) pipeline.submit(make_store(n));
          pipeline.finish();
        },
        std::runtime_error);
  }
}

TEST(ReportPipeline, AbandonedPipelineStopsCleanly) {
  ReportPipeline pipeline(kSettings, true);
  for (int n = 0; n < 500; ++n) pipeline.submit(make_store(n));
  // Destroyed without finish(): must join without hanging or leaking.
}

}  // namespace

namespace {
using namespace store_monitoring;

// Progress counts every store read and computed; a cancel request with the
// run's token stops the next submit(), another token does not.
TEST(ReportPipeline, CountsProgressAndStopsWhenCanceled) {
  for (bool threaded : {true, false}) {
    ReportProgress progress;
    ReportPipeline pipeline(kSettings, threaded);
    pipeline.report_progress_to(&progress, 7);
    for (int n = 0; n < 300; ++n) pipeline.submit(make_store(n));
    EXPECT_EQ(progress.stores_read.load(), 300u);
    ReportOutput out = pipeline.finish();
    EXPECT_EQ(out.store_ids.size(), 300u);
    EXPECT_EQ(progress.stores_done.load(), 300u);

    ReportProgress canceled;
    ReportPipeline stopped(kSettings, threaded);
    stopped.report_progress_to(&canceled, 7);
    stopped.submit(make_store(0));
    canceled.cancel = 6;  // another run's token: no effect
    stopped.submit(make_store(1));
    canceled.cancel = 7;
    EXPECT_THROW(stopped.submit(make_store(1)), ReportCanceled);
    EXPECT_EQ(canceled.stores_read.load(), 2u);
  }
}
}  // namespace
