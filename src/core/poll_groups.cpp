#include "poll_groups.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace store_monitoring {

PollGroups::PollGroups(Span range) : range_(range) {
  if (range.end < range.begin) throw std::invalid_argument("PollGroups: empty range");
  slots_.resize(1024);
  shift_ = 64 - 10;
  pending_.reserve(kBatch);
}

// Store ids are short (a decimal 64-bit integer, a UUID): eight bytes at a
// time, multiplied and folded; the table takes the top bits, which depend
// on every input byte.
uint64_t PollGroups::hash(std::string_view id) noexcept {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = id.size() * kMul;
  size_t i = 0;
  for (; i + 8 <= id.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, id.data() + i, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  if (i < id.size()) {
    uint64_t word = 0;
    std::memcpy(&word, id.data() + i, id.size() - i);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  h *= kMul;
  return h ^ (h >> 32);
}

uint32_t PollGroups::find(std::string_view store_id, uint64_t h) const noexcept {
  const size_t mask = slots_.size() - 1;
  const auto tag = static_cast<uint32_t>(h);
  for (size_t i = h >> shift_;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.store == kNone) return kNone;
    if (slot.tag == tag && id_of(stores_[slot.store]) == store_id) return slot.store;
  }
}

void PollGroups::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{});
  --shift_;
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.store == kNone) continue;
    size_t i = hash(id_of(stores_[slot.store])) >> shift_;
    while (slots_[i].store != kNone) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

uint32_t PollGroups::find_or_add(std::string_view store_id, uint64_t h) {
  const size_t mask = slots_.size() - 1;
  const auto tag = static_cast<uint32_t>(h);
  size_t i = h >> shift_;
  for (;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.store == kNone) break;
    if (slot.tag == tag && id_of(stores_[slot.store]) == store_id) return slot.store;
  }
  if (stores_.size() >= kNone - 1) throw std::length_error("PollGroups: too many stores");
  const auto index = static_cast<uint32_t>(stores_.size());
  stores_.push_back(Store{ids_.size(), static_cast<uint32_t>(store_id.size())});
  ids_.append(store_id);
  slots_[i] = Slot{index, tag};
  if (stores_.size() * 2 > slots_.size()) grow();
  return index;
}

void PollGroups::add_store(std::string_view store_id) {
  flush();  // a store's index follows its first appearance, polls or not
  (void)find_or_add(store_id, hash(store_id));
}

uint32_t PollGroups::new_block() {
  if (blocks_ == kNone) throw std::length_error("PollGroups: too many polls");
  if (blocks_ % kBlocksPerChunk == 0) chunks_.push_back(std::make_unique<Block[]>(kBlocksPerChunk));
  Block& b = block(blocks_);
  b.next = kNone;
  b.count = 0;
  return blocks_++;
}

void PollGroups::add(std::string_view store_id, Poll poll) {
  if (poll.at < range_.begin || poll.at >= range_.end)
    throw std::out_of_range("PollGroups: a poll outside the evidence range");
  const uint64_t h = hash(store_id);
  __builtin_prefetch(&slots_[h >> shift_]);
  pending_.push_back(Pending{h,
                             (static_cast<uint64_t>(poll.at - range_.begin) << 1) |
                                 (poll.status == PollStatus::active ? 1U : 0U),
                             static_cast<uint32_t>(pending_ids_.size()),
                             static_cast<uint32_t>(store_id.size())});
  pending_ids_.append(store_id);
  ++polls_;
  if (pending_.size() == kBatch) flush_batch();
}

void PollGroups::flush() const {
  if (!pending_.empty()) const_cast<PollGroups*>(this)->flush_batch();
}

void PollGroups::flush_batch() {
  // Prefetch each row's store (the slot is cached by now; a miss of the tag
  // only costs a useless prefetch), then its id and last block; then add.
  for (const Pending& p : pending_) {
    const Slot& slot = slots_[p.hash >> shift_];
    if (slot.store != kNone) __builtin_prefetch(&stores_[slot.store]);
  }
  for (const Pending& p : pending_) {
    const Slot& slot = slots_[p.hash >> shift_];
    if (slot.store == kNone || slot.tag != static_cast<uint32_t>(p.hash)) continue;
    const Store& s = stores_[slot.store];
    __builtin_prefetch(ids_.data() + s.id_offset);
    if (s.last != kNone) __builtin_prefetch(&block(s.last).count, 1);
  }
  for (const Pending& p : pending_)
    append(find_or_add(std::string_view(pending_ids_).substr(p.id_offset, p.id_length), p.hash),
           p.packed);
  pending_.clear();
  pending_ids_.clear();
}

void PollGroups::append(uint32_t store, uint64_t packed) {
  Store& s = stores_[store];
  if (s.last == kNone || block(s.last).count == kBlockPolls) {
    uint32_t added = new_block();
    if (s.last == kNone)
      s.first = added;
    else
      block(s.last).next = added;
    s.last = added;
  }
  Block& b = block(s.last);
  b.packed[b.count++] = packed;
}

std::string_view PollGroups::store_id_at(size_t index) const {
  flush();
  return id_of(stores_.at(index));
}

void PollGroups::packed_polls_at(size_t index, std::vector<uint64_t>& out) const {
  flush();
  for (uint32_t i = stores_.at(index).first; i != kNone; i = block(i).next) {
    const Block& b = block(i);
    out.insert(out.end(), b.packed, b.packed + b.count);
  }
}

void PollGroups::add_packed(std::string_view store_id, std::span<const uint64_t> packed) {
  const auto span_micros = static_cast<uint64_t>(range_.end - range_.begin);
  for (uint64_t p : packed)
    if ((p >> 1) >= span_micros)
      throw std::out_of_range("PollGroups: a poll outside the evidence range");
  flush();  // the polls added before come first, as they arrived
  const uint32_t store = find_or_add(store_id, hash(store_id));
  for (uint64_t p : packed) append(store, p);
  polls_ += packed.size();
}

std::vector<std::string_view> PollGroups::sorted_store_ids() const {
  flush();
  std::vector<std::string_view> ids;
  ids.reserve(stores_.size());
  for (const Store& s : stores_) ids.push_back(id_of(s));
  std::sort(ids.begin(), ids.end());
  return ids;
}

void PollGroups::polls_of(std::string_view store_id, std::vector<Poll>& out) const {
  flush();
  out.clear();
  uint32_t found = find(store_id, hash(store_id));
  if (found == kNone) return;
  for (uint32_t i = stores_[found].first; i != kNone; i = block(i).next) {
    const Block& b = block(i);
    for (uint32_t k = 0; k < b.count; ++k)
      out.push_back({range_.begin + static_cast<Micros>(b.packed[k] >> 1),
                     (b.packed[k] & 1U) ? PollStatus::active : PollStatus::inactive});
  }
}

}  // namespace store_monitoring
