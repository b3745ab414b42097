// Compact, read-only tables of what a report holds for every store while it
// reads the polls: the store ids (one arena), each store's business hours
// (identical weekly schedules stored once: most stores share a few) and its
// time zone (interned: there are few distinct zones). Stores are kept in the
// order added, which the readers give in store_id byte order.
//
// Memory is what bytes_held() says: the id bytes plus 8 bytes per store for
// its id's end, 4 for its schedule or zone, and the distinct schedules and
// zones once each. A std::string and a std::vector per store (the form these
// replace) cost about 300 bytes per store with hours.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report_engine.hpp"

namespace store_monitoring {

// Strings back to back in one arena, addressed by position.
class StoreIdList {
 public:
  void push_back(std::string_view id);
  size_t size() const noexcept { return ends_.size(); }
  bool empty() const noexcept { return ends_.empty(); }
  std::string_view operator[](size_t i) const noexcept {
    size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(bytes_).substr(begin, ends_[i] - begin);
  }
  std::string_view back() const noexcept { return (*this)[size() - 1]; }
  void shrink_to_fit();
  size_t bytes_held() const noexcept {
    return bytes_.capacity() + ends_.capacity() * sizeof(uint64_t);
  }

 private:
  std::string bytes_;
  std::vector<uint64_t> ends_;
};

// Business hours per store; a store's rows must be added consecutively.
class StoreHoursTable {
 public:
  StoreHoursTable();

  // One row of `store_id`: the last store added, or a new one after it.
  void add(std::string_view store_id, const BusinessHours& row);
  // Call once after the last add(): stores the last store's schedule and
  // trims spare capacity.
  void finish();

  // Stores whose rows are complete (after finish(): every store).
  size_t size() const noexcept { return schedule_of_.size(); }
  std::string_view store_id(size_t i) const noexcept { return ids_[i]; }
  // The store of the last add() (still open until the next store or
  // finish()); empty before any.
  std::string_view last_store_id() const noexcept {
    return ids_.empty() ? std::string_view() : ids_.back();
  }
  // The rows of store i, in the order added.
  std::span<const BusinessHours> hours(size_t i) const noexcept {
    uint32_t s = schedule_of_[i];
    return std::span<const BusinessHours>(rows_).subspan(
        schedule_begin_[s], schedule_begin_[s + 1] - schedule_begin_[s]);
  }
  size_t schedule_count() const noexcept { return schedule_begin_.size() - 1; }
  size_t bytes_held() const noexcept;

 private:
  std::span<const BusinessHours> schedule(uint32_t s) const noexcept;
  void close_store();

  StoreIdList ids_;
  std::vector<uint32_t> schedule_of_;     // per store
  std::vector<BusinessHours> rows_;       // the distinct schedules back to back
  std::vector<uint64_t> schedule_begin_;  // per schedule, and one past the last
  std::vector<BusinessHours> pending_;    // the rows of the store being added
  // The schedules by the hash of their rows (no hasher state: moves safely).
  std::unordered_multimap<size_t, uint32_t> known_;
};

// The time zone per store, at most one per store.
class StoreZoneTable {
 public:
  // A store after the last one added.
  void add(std::string_view store_id, std::string_view zone);
  void finish();

  size_t size() const noexcept { return zone_of_.size(); }
  std::string_view store_id(size_t i) const noexcept { return ids_[i]; }
  std::string_view zone(size_t i) const noexcept { return zones_[zone_of_[i]]; }
  size_t zone_count() const noexcept { return zones_.size(); }
  size_t bytes_held() const noexcept;

 private:
  StoreIdList ids_;
  std::vector<uint32_t> zone_of_;  // per store
  std::vector<std::string> zones_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> zone_index_;
};

}  // namespace store_monitoring
