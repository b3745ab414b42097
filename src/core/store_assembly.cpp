#include "store_assembly.hpp"

#include <stdexcept>
#include <utility>

namespace store_monitoring {

void StoreAssembler::poll(std::string_view store_id, Micros at, PollStatus status) {
  if (current_.store_id.empty() || store_id != current_.store_id) {
    // The merge below needs byte order; the query asks for it.
    if (!current_.store_id.empty() && store_id < current_.store_id)
      throw std::runtime_error("the polls did not arrive in store_id byte order");
    finish_current();
    emit_stores_without_polls_before(store_id);
    start_store(store_id);
  }
  if (at >= from_ && at <= to_) current_.polls.push_back(Poll{at, status});
}

void StoreAssembler::finish() {
  finish_current();
  emit_stores_without_polls_before({});
}

// Stores with hours or a zone but no polls that sort before `limit` (all of
// them when limit is empty; store ids are never empty).
void StoreAssembler::emit_stores_without_polls_before(std::string_view limit) {
  for (;;) {
    std::string_view next;  // store ids are never empty
    if (next_hours_ < hours_.size()) next = hours_.store_id(next_hours_);
    if (next_zone_ < zones_.size() && (next.empty() || zones_.store_id(next_zone_) < next))
      next = zones_.store_id(next_zone_);
    if (next.empty() || (!limit.empty() && next >= limit)) return;
    start_store(next);
    finish_current();
  }
}

void StoreAssembler::start_store(std::string_view store_id) {
  // Copies before advancing: `store_id` may point into the tables.
  current_.store_id.assign(store_id);
  current_.hours.clear();
  if (next_hours_ < hours_.size() && hours_.store_id(next_hours_) == current_.store_id) {
    auto rows = hours_.hours(next_hours_++);
    current_.hours.assign(rows.begin(), rows.end());
  }
  current_.time_zone.clear();
  if (next_zone_ < zones_.size() && zones_.store_id(next_zone_) == current_.store_id)
    current_.time_zone.assign(zones_.zone(next_zone_++));
}

void StoreAssembler::finish_current() {
  if (current_.store_id.empty()) return;
  consumer_(std::move(current_));
  current_ = StoreInput();
}

void submit_stores(const PollGroups& groups, const StoreHoursTable& hours,
                   const StoreZoneTable& zones, const StoreConsumer& consumer) {
  size_t next_hours = 0;
  size_t next_zone = 0;
  for (std::string_view store_id : groups.sorted_store_ids()) {
    StoreInput store;
    store.store_id.assign(store_id);
    while (next_hours < hours.size() && hours.store_id(next_hours) < store_id) ++next_hours;
    if (next_hours < hours.size() && hours.store_id(next_hours) == store_id) {
      auto rows = hours.hours(next_hours);
      store.hours.assign(rows.begin(), rows.end());
    }
    while (next_zone < zones.size() && zones.store_id(next_zone) < store_id) ++next_zone;
    if (next_zone < zones.size() && zones.store_id(next_zone) == store_id)
      store.time_zone.assign(zones.zone(next_zone));
    groups.polls_of(store_id, store.polls);
    consumer(std::move(store));
  }
}

}  // namespace store_monitoring
