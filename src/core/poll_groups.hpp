// Groups polls read in any order (heap order, from one or several readers)
// per store, so that a report can read only its evidence range in the order
// the rows lie on disk and still hand each store's polls over at once.
//
// Each poll is packed into 8 bytes (offset from the range start in
// microseconds, and the status in the lowest bit) in fixed-size blocks
// chained per store: memory is 8 bytes per poll of the range plus at most
// one partly filled block (128 bytes) per store, whatever the order of
// arrival.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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

  size_t store_count() const {
    flush();
    return stores_.size();
  }
  size_t poll_count() const noexcept { return polls_; }
  Span range() const noexcept { return range_; }

  // About how many bytes groups of `polls` polls of `stores` stores take:
  // each poll packed, its share of a block, and per store its entry, slots,
  // id and half a block on average. For choosing a read before reading.
  static double estimated_bytes(double polls, double stores) noexcept {
    return polls * sizeof(Block) / kBlockPolls +
           stores * (sizeof(Store) + 2 * sizeof(Slot) + 24 + sizeof(Block) / 2);
  }

  // The bytes the groups hold now (blocks allocated, stores, slots, ids),
  // counted as they grow: for keeping a read within a budget while it runs.
  size_t held_bytes() const noexcept {
    return chunks_.size() * kBlocksPerChunk * sizeof(Block) + stores_.capacity() * sizeof(Store) +
           slots_.capacity() * sizeof(Slot) + ids_.capacity() + pending_ids_.capacity() +
           pending_.capacity() * sizeof(Pending);
  }

  // Store ids in byte order (the order of the report's rows).
  std::vector<std::string_view> sorted_store_ids() const;

  // The polls of `store_id` in arrival order (the engine takes any order),
  // into `out` after clearing it; none when the store is unknown.
  void polls_of(std::string_view store_id, std::vector<Poll>& out) const;

  // Handing groups over to another PollGroups of the same range (another
  // process's, through shared memory): store `index` (0 to store_count() - 1,
  // in order of first appearance), its id and its polls as packed here
  // (appended to `out`). add_packed() takes them, in any number of parts,
  // as add_store() and add() would have taken each poll; it throws
  // std::out_of_range for a packed poll outside the range.
  std::string_view store_id_at(size_t index) const;
  void packed_polls_at(size_t index, std::vector<uint64_t>& out) const;
  void add_packed(std::string_view store_id, std::span<const uint64_t> packed);

 private:
  static constexpr uint32_t kBlockPolls = 15;  // with next and count: 128 bytes
  static constexpr uint32_t kBlocksPerChunk = 8192;
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Block {
    uint64_t packed[kBlockPolls];
    uint32_t next;
    uint32_t count;
  };
  // A store: its id in ids_ and its chain of blocks.
  struct Store {
    uint64_t id_offset;
    uint32_t id_length;
    uint32_t first = kNone;
    uint32_t last = kNone;
  };
  // The map from id to store is an open-addressing table of 8-byte slots
  // (store index and 32 bits of the id's hash), so a lookup reads one slot
  // and compares one id; the node-based std::unordered_map it replaced took
  // three or four cache misses per row, the read's hottest spot
  // (bench/README.md, "Where the time goes").
  struct Slot {
    uint32_t store = kNone;
    uint32_t tag = 0;
  };

  // Rows wait in a small batch: add() computes the id's hash and prefetches
  // its slot; flush() then prefetches each row's store and last block before
  // it touches them, so that the batch's cache misses overlap instead of
  // following one another (each row is another store's: rows lie in time
  // order). Logically const: a batch is polls already added.
  static constexpr size_t kBatch = 32;
  struct Pending {
    uint64_t hash;
    uint64_t packed;
    uint32_t id_offset;  // in pending_ids_
    uint32_t id_length;
  };
  void flush() const;
  void flush_batch();

  static uint64_t hash(std::string_view id) noexcept;
  std::string_view id_of(const Store& s) const noexcept {
    return std::string_view(ids_).substr(s.id_offset, s.id_length);
  }
  uint32_t find(std::string_view store_id, uint64_t h) const noexcept;
  uint32_t find_or_add(std::string_view store_id, uint64_t h);
  void grow();
  Block& block(uint32_t index) const noexcept {
    return chunks_[index / kBlocksPerChunk][index % kBlocksPerChunk];
  }
  uint32_t new_block();
  void append(uint32_t store, uint64_t packed);

  Span range_;
  std::string ids_;  // every store id, back to back
  std::vector<Store> stores_;
  std::vector<Slot> slots_;  // a power of two, at most half full
  unsigned shift_ = 64;      // 64 - log2(slots_.size())
  std::vector<std::unique_ptr<Block[]>> chunks_;
  uint32_t blocks_ = 0;
  size_t polls_ = 0;
  mutable std::vector<Pending> pending_;
  mutable std::string pending_ids_;
};

}  // namespace store_monitoring
