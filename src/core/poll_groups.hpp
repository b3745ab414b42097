// Groups polls read in any order (heap order, from one or several readers)
// per store, so that a report can read only its evidence range in the order
// the rows lie on disk and still hand each store's polls over at once.
//
// Each poll is packed into 8 bytes (offset from the range start in
// microseconds, and the status in the lowest bit) in fixed-size blocks
// chained per store: memory is 8 bytes per poll of the range plus at most
// one partly filled block per store, whatever the order of arrival.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "report_engine.hpp"

namespace store_monitoring {

class PollGroups {
 public:
  // Polls must lie in `range` (the caller filters; add() checks).
  explicit PollGroups(Span range);

  // A store known to the report (it gets a row even without polls).
  void add_store(std::string_view store_id);

  // A poll of `store_id`; throws std::out_of_range when `poll.at` lies
  // outside the range.
  void add(std::string_view store_id, Poll poll);

  size_t store_count() const noexcept { return stores_.size(); }
  size_t poll_count() const noexcept { return polls_; }

  // Store ids in byte order (the order of the report's rows).
  std::vector<std::string_view> sorted_store_ids() const;

  // The polls of `store_id` in arrival order (the engine takes any order),
  // into `out` after clearing it; none when the store is unknown.
  void polls_of(std::string_view store_id, std::vector<Poll>& out) const;

 private:
  static constexpr uint32_t kBlockPolls = 31;  // with next and count: 256 bytes
  static constexpr uint32_t kBlocksPerChunk = 4096;
  static constexpr uint32_t kNoBlock = UINT32_MAX;
  struct Block {
    uint64_t packed[kBlockPolls];
    uint32_t next;
    uint32_t count;
  };
  struct Store {
    uint32_t first = kNoBlock;
    uint32_t last = kNoBlock;
  };
  // Not noexcept on purpose: libstdc++ then keeps each key's hash in its
  // node, so a lookup neither rehashes the keys of a bucket's chain nor
  // compares strings whose hashes differ (the read's hottest spot).
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Store& store(std::string_view store_id);
  Block& block(uint32_t index) const noexcept {
    return chunks_[index / kBlocksPerChunk][index % kBlocksPerChunk];
  }
  uint32_t new_block();

  Span range_;
  std::unordered_map<std::string, Store, Hash, std::equal_to<>> stores_;
  std::vector<std::unique_ptr<Block[]>> chunks_;
  uint32_t blocks_ = 0;
  size_t polls_ = 0;
};

}  // namespace store_monitoring
