#include "store_tables.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace store_monitoring {

void StoreIdList::push_back(std::string_view id) {
  bytes_.append(id);
  ends_.push_back(bytes_.size());
}

void StoreIdList::shrink_to_fit() {
  bytes_.shrink_to_fit();
  ends_.shrink_to_fit();
}

StoreHoursTable::StoreHoursTable() { schedule_begin_.push_back(0); }

std::span<const BusinessHours> StoreHoursTable::schedule(uint32_t s) const noexcept {
  return std::span<const BusinessHours>(rows_).subspan(schedule_begin_[s],
                                                       schedule_begin_[s + 1] - schedule_begin_[s]);
}

namespace {

size_t hash_rows(std::span<const BusinessHours> rows) noexcept {
  size_t h = rows.size();
  for (const BusinessHours& row : rows)
    for (uint64_t v :
         {static_cast<uint64_t>(row.day_of_week), static_cast<uint64_t>(row.start_local),
          static_cast<uint64_t>(row.end_local)})
      h = (h ^ std::hash<uint64_t>{}(v)) * 0x100000001b3ULL;
  return h;
}

bool same_rows(std::span<const BusinessHours> a, std::span<const BusinessHours> b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const BusinessHours& x, const BusinessHours& y) {
                      return x.day_of_week == y.day_of_week && x.start_local == y.start_local &&
                             x.end_local == y.end_local;
                    });
}

}  // namespace

void StoreHoursTable::close_store() {
  if (ids_.size() == schedule_of_.size()) return;  // no store open
  size_t h = hash_rows(pending_);
  auto [first, last] = known_.equal_range(h);
  for (auto it = first; it != last; ++it)
    if (same_rows(schedule(it->second), pending_)) {
      schedule_of_.push_back(it->second);
      pending_.clear();
      return;
    }
  if (schedule_count() >= UINT32_MAX)
    throw std::length_error("StoreHoursTable: too many schedules");
  auto s = static_cast<uint32_t>(schedule_count());
  rows_.insert(rows_.end(), pending_.begin(), pending_.end());
  schedule_begin_.push_back(rows_.size());
  known_.emplace(h, s);
  schedule_of_.push_back(s);
  pending_.clear();
}

void StoreHoursTable::add(std::string_view store_id, const BusinessHours& row) {
  if (ids_.empty() || ids_.back() != store_id) {
    close_store();
    ids_.push_back(store_id);
  }
  pending_.push_back(row);
}

void StoreHoursTable::finish() {
  close_store();
  // Only needed while adding: give it back before the polls are read.
  std::unordered_multimap<size_t, uint32_t>().swap(known_);
  std::vector<BusinessHours>().swap(pending_);
  ids_.shrink_to_fit();
  schedule_of_.shrink_to_fit();
  rows_.shrink_to_fit();
  schedule_begin_.shrink_to_fit();
}

size_t StoreHoursTable::bytes_held() const noexcept {
  return ids_.bytes_held() + schedule_of_.capacity() * sizeof(uint32_t) +
         rows_.capacity() * sizeof(BusinessHours) + schedule_begin_.capacity() * sizeof(uint64_t) +
         pending_.capacity() * sizeof(BusinessHours) +
         known_.size() * (sizeof(void*) + sizeof(size_t) + sizeof(std::pair<size_t, uint32_t>)) +
         known_.bucket_count() * sizeof(void*);
}

void StoreZoneTable::add(std::string_view store_id, std::string_view zone) {
  auto found = zone_index_.find(zone);
  uint32_t index;
  if (found != zone_index_.end()) {
    index = found->second;
  } else {
    if (zones_.size() >= UINT32_MAX) throw std::length_error("StoreZoneTable: too many zones");
    index = static_cast<uint32_t>(zones_.size());
    zones_.emplace_back(zone);
    zone_index_.emplace(std::string(zone), index);
  }
  ids_.push_back(store_id);
  zone_of_.push_back(index);
}

void StoreZoneTable::finish() {
  decltype(zone_index_)().swap(zone_index_);
  ids_.shrink_to_fit();
  zone_of_.shrink_to_fit();
}

size_t StoreZoneTable::bytes_held() const noexcept {
  size_t zones = zones_.capacity() * sizeof(std::string);
  for (const std::string& zone : zones_) zones += zone.capacity() + 1;
  return ids_.bytes_held() + zone_of_.capacity() * sizeof(uint32_t) + zones +
         zone_index_.size() * (sizeof(void*) * 2 + sizeof(std::string) + 8 + 64) +
         zone_index_.bucket_count() * sizeof(void*);
}

}  // namespace store_monitoring
