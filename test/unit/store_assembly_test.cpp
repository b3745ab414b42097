// Assembling each store's input (store_assembly.hpp): every store known to
// any source gets exactly one input, in byte order, with its own hours, zone
// and the polls in the evidence range; both ways give the same inputs.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "poll_groups.hpp"
#include "store_assembly.hpp"
#include "store_tables.hpp"

namespace {

using namespace store_monitoring;

struct Fixture {
  StoreHoursTable hours;
  StoreZoneTable zones;
  Fixture() {
    // "b" has hours only, "d" a zone only, "a" and "c" both; "e" only polls.
    hours.add("a", BusinessHours{0, 0, 3600});
    hours.add("a", BusinessHours{1, 60, 7200});
    hours.add("b", BusinessHours{2, 0, 60});
    hours.add("c", BusinessHours{3, 10, 20});
    hours.finish();
    zones.add("a", "Europe/Paris");
    zones.add("c", "Asia/Tokyo");
    zones.add("d", "America/Chicago");
    zones.finish();
  }
};

std::vector<StoreInput> assembled_in_store_order(const Fixture& f) {
  std::vector<StoreInput> out;
  StoreAssembler assembler(f.hours, f.zones, [&](StoreInput&& s) { out.push_back(std::move(s)); });
  assembler.keep_polls_between(100, 200);
  assembler.poll("a", 50, PollStatus::active);     // before the range: not kept
  assembler.poll("a", 100, PollStatus::active);    // first instant kept
  assembler.poll("a", 200, PollStatus::inactive);  // last instant kept
  assembler.poll("c", 150, PollStatus::active);
  assembler.poll("e", 201, PollStatus::active);  // after the range: store known only
  assembler.finish();
  return out;
}

void expect_fixture_inputs(const std::vector<StoreInput>& out) {
  ASSERT_EQ(out.size(), 5u);
  const char* ids[] = {"a", "b", "c", "d", "e"};
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].store_id, ids[i]);
  EXPECT_EQ(out[0].hours.size(), 2u);
  EXPECT_EQ(out[0].hours[1].start_local, 60);
  EXPECT_EQ(out[0].time_zone, "Europe/Paris");
  ASSERT_EQ(out[0].polls.size(), 2u);
  EXPECT_EQ(out[0].polls[0].at, 100);
  EXPECT_EQ(out[0].polls[1].status, PollStatus::inactive);
  EXPECT_EQ(out[1].hours.size(), 1u);
  EXPECT_EQ(out[1].time_zone, "");
  EXPECT_TRUE(out[1].polls.empty());
  EXPECT_EQ(out[2].time_zone, "Asia/Tokyo");
  ASSERT_EQ(out[2].polls.size(), 1u);
  EXPECT_TRUE(out[3].hours.empty());
  EXPECT_EQ(out[3].time_zone, "America/Chicago");
  EXPECT_TRUE(out[4].hours.empty());
  EXPECT_TRUE(out[4].polls.empty());
}

TEST(StoreAssembler, EveryStoreOnceInByteOrderWithItsOwnInputs) {
  Fixture f;
  expect_fixture_inputs(assembled_in_store_order(f));
}

TEST(StoreAssembler, KeepsNoPollBeforeARangeIsSet) {
  Fixture f;
  std::vector<StoreInput> out;
  StoreAssembler assembler(f.hours, f.zones, [&](StoreInput&& s) { out.push_back(std::move(s)); });
  assembler.poll("a", 150, PollStatus::active);
  assembler.finish();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].polls.empty());
}

TEST(StoreAssembler, RefusesPollsOutOfByteOrder) {
  Fixture f;
  StoreAssembler assembler(f.hours, f.zones, [](StoreInput&&) {});
  assembler.keep_polls_between(0, 1000);
  assembler.poll("c", 150, PollStatus::active);
  EXPECT_THROW(assembler.poll("a", 150, PollStatus::active), std::runtime_error);
}

TEST(StoreAssembler, NoSourcesNoStores) {
  StoreHoursTable hours;
  hours.finish();
  StoreZoneTable zones;
  zones.finish();
  int count = 0;
  StoreAssembler assembler(hours, zones, [&](StoreInput&&) { ++count; });
  assembler.finish();
  EXPECT_EQ(count, 0);
}

TEST(SubmitStores, GivesTheSameInputsAsTheStoreOrderRead) {
  Fixture f;
  PollGroups groups(Span{100, 201});
  // Any arrival order: the range read's polls come as they lie on disk.
  groups.add("e", Poll{200, PollStatus::active});
  groups.add("c", Poll{150, PollStatus::active});
  groups.add("a", Poll{100, PollStatus::active});
  groups.add("a", Poll{200, PollStatus::inactive});
  for (size_t i = 0; i < f.hours.size(); ++i) groups.add_store(f.hours.store_id(i));
  for (size_t i = 0; i < f.zones.size(); ++i) groups.add_store(f.zones.store_id(i));
  std::vector<StoreInput> out;
  submit_stores(groups, f.hours, f.zones, [&](StoreInput&& s) { out.push_back(std::move(s)); });
  ASSERT_EQ(out.size(), 5u);
  std::vector<StoreInput> expected = assembled_in_store_order(f);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].store_id, expected[i].store_id);
    EXPECT_EQ(out[i].time_zone, expected[i].time_zone);
    EXPECT_EQ(out[i].hours.size(), expected[i].hours.size());
  }
  EXPECT_EQ(out[0].polls.size(), 2u);
  EXPECT_EQ(out[2].polls.size(), 1u);
  EXPECT_EQ(out[4].polls.size(), 1u);  // 200 is inside [100, 201)
}

}  // namespace
