// The compact per-store tables (store_tables.hpp) give back exactly what was
// added, hold few bytes per store (the bound a 1M-store report's memory
// rests on), and the stored form built store by store (ReportForm::stored,
// what the worker writes) is the bytes encoded from the rows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "report_codec.hpp"
#include "report_pipeline.hpp"
#include "store_tables.hpp"
#include "test_util.hpp"

namespace {

using namespace store_monitoring;
using sm_test::hms;
using sm_test::kMin;
using sm_test::utc;

// Ids like the sample data's: 19-digit decimal, a UUID now and then.
std::string store_id(int n) {
  if (n % 31 == 0) return "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9" + std::to_string(1000 + n % 9000);
  return std::to_string(1000000000000000000LL + 7919LL * n);
}

// Hours like the sample data's: a few shapes of shift, some stores without.
std::vector<BusinessHours> hours_of(int n) {
  std::vector<BusinessHours> rows;
  if (n % 7 == 3) return rows;
  int open = 8 + n % 4;
  int close = 17 + n % 6;
  for (int day = 0; day < 7; ++day) {
    if (n % 11 == 0 && day == 6) continue;
    rows.push_back({day, hms(open, 0), hms(close, n % 2 == 0 ? 0 : 30)});
    if (n % 13 == 0) rows.push_back({day, hms(close + 1, 0), hms(23, 59, 59)});
  }
  return rows;
}

const char* zone_of(int n) {
  static const char* zones[] = {"America/Chicago", "America/New_York", "America/Los_Angeles",
                                "America/Denver", "America/Boise"};
  return zones[n % 5];
}

bool same(std::span<const BusinessHours> a, const std::vector<BusinessHours>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].day_of_week != b[i].day_of_week || a[i].start_local != b[i].start_local ||
        a[i].end_local != b[i].end_local)
      return false;
  return true;
}

TEST(StoreIdList, GivesBackEachId) {
  StoreIdList ids;
  std::vector<std::string> plain;
  for (int n = 0; n < 1000; ++n) {
    plain.push_back(store_id(n) + std::string(n % 3, 'x'));
    ids.push_back(plain.back());
  }
  ids.push_back("");  // allowed here; the readers refuse empty ids
  ASSERT_EQ(ids.size(), 1001u);
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(ids[i], plain[i]);
  EXPECT_EQ(ids.back(), "");
}

TEST(StoreHoursTable, GivesBackEachStoresRowsInOrder) {
  StoreHoursTable table;
  std::vector<int> stores;
  for (int n = 0; n < 2000; ++n) {
    std::vector<BusinessHours> rows = hours_of(n);
    if (rows.empty()) continue;  // a store without hours has no rows
    // The order read is kept: the same rows in another order are another
    // schedule.
    if (n % 17 == 0) std::swap(rows.front(), rows.back());
    for (const BusinessHours& row : rows) table.add(store_id(n), row);
    stores.push_back(n);
  }
  table.finish();
  ASSERT_EQ(table.size(), stores.size());
  for (size_t i = 0; i < stores.size(); ++i) {
    int n = stores[i];
    std::vector<BusinessHours> rows = hours_of(n);
    if (n % 17 == 0) std::swap(rows.front(), rows.back());
    EXPECT_EQ(table.store_id(i), store_id(n));
    EXPECT_TRUE(same(table.hours(i), rows)) << "store " << n;
  }
  // Shapes: open 4 x close 6 x minute 2 x day 6 off 2 x split 2, fewer
  // combined; plus the reordered ones. Far fewer than the stores.
  EXPECT_LT(table.schedule_count(), 400u);
}

TEST(StoreHoursTable, EmptyTable) {
  StoreHoursTable table;
  table.finish();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.schedule_count(), 0u);
}

TEST(StoreZoneTable, GivesBackEachStoresZone) {
  StoreZoneTable table;
  for (int n = 0; n < 3000; ++n) table.add(store_id(n), zone_of(n));
  table.add("zz-last", "Etc/UTC");
  table.finish();
  ASSERT_EQ(table.size(), 3001u);
  for (int n = 0; n < 3000; ++n) {
    EXPECT_EQ(table.store_id(n), store_id(n));
    EXPECT_EQ(table.zone(n), zone_of(n));
  }
  EXPECT_EQ(table.zone(3000), "Etc/UTC");
  EXPECT_EQ(table.zone_count(), 6u);
}

// The memory bound: what a report holds per store for hours and zones while
// it reads the polls. A 1M-store report must stay under 256 MB in all; the
// std::string-and-vector-per-store form took about 300 bytes per store for
// hours alone. Ids average about 20 bytes here.
TEST(StoreTables, FewBytesPerStore) {
  constexpr int kStores = 200000;
  StoreHoursTable hours;
  StoreZoneTable zones;
  size_t id_bytes = 0;
  for (int n = 0; n < kStores; ++n) {
    std::string id = store_id(n);
    id_bytes += id.size();
    for (const BusinessHours& row : hours_of(n)) hours.add(id, row);
    zones.add(id, zone_of(n));
  }
  hours.finish();
  zones.finish();
  double id_per_store = static_cast<double>(id_bytes) / kStores;
  // Id bytes, an 8-byte end, a 4-byte schedule or zone; a little slack for
  // the distinct schedules.
  EXPECT_LT(static_cast<double>(hours.bytes_held()) / hours.size(), id_per_store + 14);
  EXPECT_LT(static_cast<double>(zones.bytes_held()) / zones.size(), id_per_store + 13);
}

// The old path's input for store n, and the new path's (from the tables):
// the same report, byte for byte.
StoreInput store_input(int n) {
  StoreInput store;
  store.store_id = store_id(n);
  store.time_zone = n % 9 == 0 ? "" : zone_of(n);
  store.hours = hours_of(n);
  for (int i = 0; i < 150; ++i)
    store.polls.push_back({utc(2023, 1, 18) + (i * 67 + n) * kMin, ((i / (2 + n % 5)) % 3 == 0)
                                                                       ? PollStatus::inactive
                                                                       : PollStatus::active});
  return store;
}

const ReportSettings kSettings{utc(2023, 1, 25, 12), 2 * sm_test::kHour, Interpolation::nearest};

TEST(StoreTables, ReportFromTheTablesEqualsTheReportFromPlainInputs) {
  constexpr int kStores = 3000;
  StoreHoursTable hours;
  StoreZoneTable zones;
  for (int n = 0; n < kStores; ++n) {
    StoreInput plain = store_input(n);
    for (const BusinessHours& row : plain.hours) hours.add(plain.store_id, row);
    if (!plain.time_zone.empty()) zones.add(plain.store_id, plain.time_zone);
  }
  hours.finish();
  zones.finish();

  ReportPipeline old_path(kSettings, true);
  ReportPipeline new_path(kSettings, true, ReportForm::stored);
  size_t next_hours = 0;
  size_t next_zone = 0;
  for (int n = 0; n < kStores; ++n) {
    StoreInput plain = store_input(n);
    StoreInput compact;
    compact.store_id = plain.store_id;
    if (next_hours < hours.size() && hours.store_id(next_hours) == compact.store_id) {
      auto rows = hours.hours(next_hours++);
      compact.hours.assign(rows.begin(), rows.end());
    }
    if (next_zone < zones.size() && zones.store_id(next_zone) == compact.store_id)
      compact.time_zone.assign(zones.zone(next_zone++));
    compact.polls = plain.polls;
    old_path.submit(std::move(plain));
    new_path.submit(std::move(compact));
  }
  EXPECT_EQ(next_hours, hours.size());
  EXPECT_EQ(next_zone, zones.size());
  ReportOutput rows = old_path.finish();
  ReportOutput stored = new_path.finish();
  EXPECT_EQ(stored.store_count, static_cast<size_t>(kStores));
  EXPECT_TRUE(stored.store_ids.empty());
  EXPECT_TRUE(stored.csv.empty());
  EXPECT_EQ(stored.stored, encode_report(rows.store_ids, rows.durations));
  EXPECT_EQ(render_csv(std::string_view(stored.stored)), rows.csv);
}

// The stored form built store by store is encode_report's, for every count
// (the store count's varint grows at 128 and 16384) and without unknown time.
TEST(ReportEncoder, SameBytesAsEncodeReport) {
  for (int count : {0, 1, 127, 128, 129, 16384}) {
    for (bool has_unknown : {true, false}) {
      std::vector<std::string> ids;
      std::vector<StoreDurations> durations;
      ReportEncoder encoder(has_unknown);
      for (int n = 0; n < count; ++n) {
        ids.push_back(store_id(n));
        StoreDurations d{};
        d.uptime = {n, 60 * n, 3600LL * n};
        d.downtime = {-n, 7, 1LL << 40};
        d.unknown = {has_unknown ? n : 0, 0, 3};
        if (!has_unknown) d.unknown = {};
        durations.push_back(d);
        encoder.add(ids.back(), d);
      }
      EXPECT_EQ(encoder.store_count(), static_cast<size_t>(count));
      EXPECT_EQ(encoder.finish(), encode_report(ids, durations, has_unknown)) << count << " stores";
    }
  }
}

// The worker's result holds about 50 bytes per store (rows and CSV took
// about 200): a regression to holding rows shows here.
TEST(ReportPipeline, StoredFormHoldsFewBytesPerStore) {
  constexpr int kStores = 20000;
  ReportPipeline pipeline(kSettings, true, ReportForm::stored);
  size_t id_bytes = 0;
  for (int n = 0; n < kStores; ++n) {
    StoreInput store = store_input(n);
    id_bytes += store.store_id.size();
    pipeline.submit(std::move(store));
  }
  ReportOutput out = pipeline.finish();
  // Front-coded ids share a prefix; each store's nine durations are varints
  // (up to 6 bytes for a week in microseconds).
  EXPECT_LT(out.stored.capacity(), id_bytes + kStores * 9 * 6);
  EXPECT_LT(out.stored.size() / kStores, 50u);
}

// The readers check byte order against the store being added, not only the
// ones already complete: rows A, B, A must be caught at the second A.
TEST(StoreHoursTable, LastStoreIdIsTheOneBeingAdded) {
  StoreHoursTable table;
  EXPECT_TRUE(table.last_store_id().empty());
  table.add("A", {0, 0, 3600000000});
  EXPECT_EQ(table.last_store_id(), "A");
  EXPECT_EQ(table.size(), 0U);  // A is still open
  table.add("B", {1, 0, 3600000000});
  EXPECT_EQ(table.last_store_id(), "B");
  EXPECT_LT(std::string_view("A"), table.last_store_id());  // a second A sorts before it
  table.finish();
  EXPECT_EQ(table.size(), 2U);
}

}  // namespace
