#include "poll_groups.hpp"

#include <algorithm>
#include <stdexcept>

namespace store_monitoring {

PollGroups::PollGroups(Span range) : range_(range) {
  if (range.end < range.begin) throw std::invalid_argument("PollGroups: empty range");
}

PollGroups::Store& PollGroups::store(std::string_view store_id) {
  auto found = stores_.find(store_id);
  if (found != stores_.end()) return found->second;
  return stores_.emplace(std::string(store_id), Store{}).first->second;
}

void PollGroups::add_store(std::string_view store_id) { (void)store(store_id); }

uint32_t PollGroups::new_block() {
  if (blocks_ == kNoBlock) throw std::length_error("PollGroups: too many polls");
  if (blocks_ % kBlocksPerChunk == 0) chunks_.push_back(std::make_unique<Block[]>(kBlocksPerChunk));
  Block& b = block(blocks_);
  b.next = kNoBlock;
  b.count = 0;
  return blocks_++;
}

void PollGroups::add(std::string_view store_id, Poll poll) {
  if (poll.at < range_.begin || poll.at >= range_.end)
    throw std::out_of_range("PollGroups: a poll outside the evidence range");
  Store& s = store(store_id);
  if (s.last == kNoBlock || block(s.last).count == kBlockPolls) {
    uint32_t added = new_block();
    if (s.last == kNoBlock)
      s.first = added;
    else
      block(s.last).next = added;
    s.last = added;
  }
  Block& b = block(s.last);
  b.packed[b.count++] = (static_cast<uint64_t>(poll.at - range_.begin) << 1) |
                        (poll.status == PollStatus::active ? 1U : 0U);
  ++polls_;
}

std::vector<std::string_view> PollGroups::sorted_store_ids() const {
  std::vector<std::string_view> ids;
  ids.reserve(stores_.size());
  for (const auto& entry : stores_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void PollGroups::polls_of(std::string_view store_id, std::vector<Poll>& out) const {
  out.clear();
  auto found = stores_.find(store_id);
  if (found == stores_.end()) return;
  for (uint32_t i = found->second.first; i != kNoBlock; i = block(i).next) {
    const Block& b = block(i);
    for (uint32_t k = 0; k < b.count; ++k)
      out.push_back({range_.begin + static_cast<Micros>(b.packed[k] >> 1),
                     (b.packed[k] & 1U) ? PollStatus::active : PollStatus::inactive});
  }
}

}  // namespace store_monitoring
