#include "pg/read/parallel_range_read.hpp"

#include "core/report_pipeline.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/parallel_launch.hpp"
#include "pg/read/parallel_messages.hpp"
#include "pg/read/sealed_read.hpp"
#include "pg/worker/progress.hpp"

extern "C" {
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "optimizer/paths.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {
namespace {

// The segment's entries (parallel_launch.hpp numbers them), the queues last.
constexpr uint64 kKeyShared = 1;
constexpr uint64 kKeyName = 2;
constexpr uint64 kKeyLabels = 3;
constexpr uint64 kKeyQueues = 4;
constexpr int kMaxWorkers = 16;
// Per worker: room for a few messages while the report's process still
// reads its own chunks; the worker waits beyond that.
constexpr Size kQueueBytes = 1024 * 1024;
// Groups go in messages of at most this size, so that the report's process
// merges while the workers still send.
constexpr size_t kMessageBytes = 64 * 1024;
// Rows between two looks at the budget, the cancel flag and the others'
// stop (the groups grow 1 MB at a time: a look every 32 kB of polls).
constexpr uint64_t kCheckEvery = 4096;

constexpr char kGroupsMessage = 'G';
constexpr char kEndMessage = 'E';

enum Stop : uint32_t { kGoOn = 0, kOverBudget = 1, kCanceled = 2, kAbandoned = 3 };

// The report's process stopped the read (an error of its own): the
// workers end without sending.
struct Abandoned {};

// What every participant shares; in the parallel segment, or on the stack
// of a read with no worker.
struct SharedRead {
  Oid owner = InvalidOid;  // the report's owner: every participant reads as it
  Oid relation = InvalidOid;
  bool status_is_enum = false;
  Oid active_label = InvalidOid;
  Oid inactive_label = InvalidOid;
  TimestampTz from = 0;
  TimestampTz to = 0;
  Micros range_begin = 0;
  Micros range_end = 0;
  bool split = false;
  uint32_t blocks = 0;  // of the relation once the snapshot was taken
  int64_t budget_bytes = 0;
  std::atomic<uint32_t> next_chunk{0};
  std::atomic<uint32_t> stop{kGoOn};
  std::atomic<int64_t> held_bytes{0};              // every participant's groups
  std::atomic<uint64_t> polls[kMaxWorkers + 1]{};  // polls read, the leader's first
};

// One participant's view of the shared limits.
class ReadLimits {
 public:
  ReadLimits(SharedRead& shared, bool leader) : shared_(shared), leader_(leader) {}
  // Adds the growth of this participant's groups to the shared count, then
  // throws when the read is to stop. No PostgreSQL call: runs in the
  // executor's row callback.
  void check(size_t held) {
    const auto now = static_cast<int64_t>(held);
    int64_t total = now != reported_
                        ? shared_.held_bytes.fetch_add(now - reported_) + now - reported_
                        : shared_.held_bytes.load();
    reported_ = now;
    if (total > shared_.budget_bytes) stop(kOverBudget);
    if (leader_ && progress_cancel_requested()) stop(kCanceled);
    switch (shared_.stop.load()) {
      case kOverBudget:
        throw RangeOverBudget{};
      case kCanceled:
        throw ReportCanceled();
      case kAbandoned:
        throw Abandoned{};
      default:
        break;
    }
  }
  void stop(uint32_t why) {
    uint32_t expected = kGoOn;
    shared_.stop.compare_exchange_strong(expected, why);
  }
  // This participant's groups are gone.
  void release() {
    shared_.held_bytes.fetch_sub(reported_);
    reported_ = 0;
  }

 private:
  SharedRead& shared_;
  bool leader_;
  int64_t reported_ = 0;
};

Micros to_unix_micros(TimestampTz value) { return value + kPgEpochInUnixMicros; }

class GroupingSink final : public PollSink {
 public:
  GroupingSink(PollGroups& groups, ReadLimits& limits, std::atomic<uint64_t>& counter)
      : groups_(groups), limits_(limits), counter_(counter) {}
  void poll(std::string_view store_id, TimestampTz at, PollStatus status) override {
    groups_.add(store_id, Poll{to_unix_micros(at), status});
    if (++polls_ % kCheckEvery == 0) check();
  }
  void store(std::string_view store_id) override { groups_.add_store(store_id); }
  // A sealed row's polls: one lookup of the store for all of them.
  void store_polls(std::string_view store_id, std::span<const Poll> polls) override {
    packed_.clear();
    for (const Poll& p : polls)
      packed_.push_back((static_cast<uint64_t>(p.at - begin_) << 1) |
                        (p.status == PollStatus::active ? 1U : 0U));
    groups_.add_packed(store_id, packed_);
    const uint64_t before = polls_;
    polls_ += polls.size();
    if (polls_ / kCheckEvery != before / kCheckEvery) check();
  }
  void check() {
    counter_.store(polls_, std::memory_order_relaxed);  // progress, for the log
    limits_.check(groups_.held_bytes());
  }

 private:
  PollGroups& groups_;
  ReadLimits& limits_;
  std::atomic<uint64_t>& counter_;
  uint64_t polls_ = 0;
  Micros begin_ = groups_.range().begin;
  std::vector<uint64_t> packed_;
};

// The polls no range holds are bad rows: none reaches a sink.
struct NoPolls final : PollSink {
  void poll(std::string_view, TimestampTz, PollStatus) override {}
};

// Claims chunks of blocks until none is left.
void read_chunks(const SourceShape& source, SharedRead& shared, GroupingSink& sink, BadRows& bad) {
  for (;;) {
    const uint64_t first = static_cast<uint64_t>(shared.next_chunk.fetch_add(1)) * kChunkBlocks;
    if (first >= shared.blocks) return;
    const uint64_t end = first + kChunkBlocks;
    // The last chunk reads to the end: nothing the snapshot sees lies past
    // the blocks counted once it was taken, but nothing is left out either.
    read_polls_in_blocks(
        source, shared.from, shared.to, static_cast<uint32_t>(first),
        end >= shared.blocks ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(end)),
        sink, bad);
    sink.check();
  }
}

// Messages: a type byte, then records of a store: the id's length (2
// bytes), the id, the number of polls (4 bytes) and the polls as PollGroups
// packs them (8 bytes each). A store's polls may span records.
void merge_message(std::string_view message, PollGroups& groups, std::vector<uint64_t>& polls) {
  size_t at = 1;
  while (at < message.size()) {
    const auto id_length = take<uint16_t>(message, at);
    if (message.size() - at < id_length) throw std::runtime_error("a truncated range read message");
    std::string_view id = message.substr(at, id_length);
    at += id_length;
    const auto count = take<uint32_t>(message, at);
    if ((message.size() - at) / sizeof(uint64_t) < count)
      throw std::runtime_error("a truncated range read message");
    polls.resize(count);
    std::memcpy(polls.data(), message.data() + at, count * sizeof(uint64_t));
    at += count * sizeof(uint64_t);
    groups.add_packed(id, polls);
  }
}

// Sends a worker's groups, then the end; false when the report's process
// is gone or the read stopped.
bool send_groups(shm_mq_handle* queue, const PollGroups& groups, SharedRead& shared) {
  std::string message(1, kGroupsMessage);
  message.reserve(kMessageBytes);
  auto send = [&](std::string_view bytes) {
    return send_message(queue, bytes) && shared.stop.load() == kGoOn;
  };
  std::vector<uint64_t> polls;
  constexpr size_t kRecordHead = sizeof(uint16_t) + sizeof(uint32_t);
  for (size_t store = 0; store < groups.store_count(); ++store) {
    std::string_view id = groups.store_id_at(store);
    polls.clear();
    groups.packed_polls_at(store, polls);
    size_t sent = 0;
    do {
      if (message.size() + kRecordHead + id.size() + sizeof(uint64_t) > kMessageBytes) {
        if (!send(message)) return false;
        message.resize(1);
      }
      const size_t room = (kMessageBytes - message.size() - kRecordHead - id.size()) / 8;
      const size_t count = std::min(room, polls.size() - sent);
      put(message, static_cast<uint16_t>(id.size()));
      message.append(id);
      put(message, static_cast<uint32_t>(count));
      message.append(reinterpret_cast<const char*>(polls.data() + sent), count * sizeof(uint64_t));
      sent += count;
    } while (sent < polls.size());
  }
  if (message.size() > 1 && !send(message)) return false;
  return send(std::string_view(&kEndMessage, 1));
}

// Merges what the workers send until every one has detached; returns how
// many sent their end.
int receive_groups(const std::vector<shm_mq_handle*>& queues, PollGroups& groups,
                   ReadLimits& limits) {
  int ended = 0;
  std::vector<uint64_t> polls;
  receive_messages(
      queues,
      [&](size_t, std::string_view message) {
        if (message.size() == 1 && message[0] == kEndMessage)
          ++ended;
        else if (!message.empty() && message[0] == kGroupsMessage)
          merge_message(message, groups, polls);
        else
          throw std::runtime_error("an unknown range read message");
      },
      [&] { limits.check(groups.held_bytes()); });
  return ended;
}

uint32_t relation_blocks(Oid relation) {
  spi_execute("SELECT pg_catalog.pg_relation_size($1)", {{OIDOID, ObjectIdGetDatum(relation)}},
              true, 1);
  bool is_null = true;
  Datum bytes = spi_value(0, 1, &is_null);
  return is_null ? 0 : static_cast<uint32_t>(DatumGetInt64(bytes) / BLCKSZ);
}

// Lays out the segment and launches the workers; `shared` is then the
// segment's, or `local` without dynamic shared memory.
SharedRead& start_workers(ParallelWorkers& parallel, SharedRead& local, const std::string& name,
                          const std::string& labels) {
  void* space = parallel.entry(kKeyShared);
  if (space == nullptr) {
    parallel.launch();  // none
    return local;
  }
  auto* shared = new (space) SharedRead();
  shared->owner = local.owner;
  shared->relation = local.relation;
  shared->status_is_enum = local.status_is_enum;
  shared->active_label = local.active_label;
  shared->inactive_label = local.inactive_label;
  shared->from = local.from;
  shared->to = local.to;
  shared->range_begin = local.range_begin;
  shared->range_end = local.range_end;
  shared->split = local.split;
  shared->blocks = local.blocks;
  shared->budget_bytes = local.budget_bytes;
  std::memcpy(parallel.entry(kKeyName), name.c_str(), name.size() + 1);
  std::memcpy(parallel.entry(kKeyLabels), labels.data(), labels.size());
  parallel.launch();
  return *shared;
}

}  // namespace

int parallel_workers_for(double blocks) {
  // Bare: read settings' variables.
  const double threshold = std::max(1, min_parallel_table_scan_size);
  if (blocks < threshold) return 0;
  int workers = 1;
  for (double limit = threshold * 3; blocks >= limit && workers < kMaxWorkers; limit *= 3)
    ++workers;
  return std::min(workers, std::min(max_parallel_workers_per_gather, kMaxWorkers));
}

RangeReadStats read_range_grouped(const SourceShape& polls, TimestampTz from, TimestampTz to,
                                  const RangeReadPlan& plan, PollGroups& groups, BadRows& bad,
                                  const std::function<void()>& leader_first) {
  RangeReadStats stats;
  SharedRead local;
  // Bare: reads a backend-local variable. The caller is inside the owner's
  // OwnerRead.
  local.owner = GetUserId();
  local.relation = polls.relation;
  local.status_is_enum = polls.status_is_enum;
  local.active_label = polls.active_label;
  local.inactive_label = polls.inactive_label;
  local.from = from;
  local.to = to;
  local.range_begin = to_unix_micros(from);
  local.range_end = to_unix_micros(to) + 1;
  local.budget_bytes = static_cast<int64_t>(plan.budget_bytes);
  const int workers = std::min(plan.workers, kMaxWorkers);
  local.split = plan.split && workers > 0;
  stats.split = local.split;
  if (workers <= 0) {
    // In turn, and not in parallel mode: a user's view, row-level security
    // policy or foreign table may call what parallel mode refuses.
    leader_first();
    ReadLimits limits(local, true);
    GroupingSink sink(groups, limits, local.polls[0]);
    read_polls_in_range(polls, from, to, sink, bad);
    read_poll_store_ids(polls, sink, bad);
    sink.check();
    stats.polls.push_back(local.polls[0].load());
    stats.ids_by = "read here";
    return stats;
  }
  if (local.split) {
    // First: a bad row ends the report before the long read (the default
    // table's index finds them; the chunks refuse them on any other).
    NoPolls none;
    if (polls.relation == default_source(Input::polls)) read_polls_without_range(polls, none, bad);
    local.blocks = relation_blocks(polls.relation);
    stats.chunks = (local.blocks + kChunkBlocks - 1) / kChunkBlocks;
  }
  // The status enum's labels, for messages, after their byte count.
  std::string shape;
  put_labels(shape, polls);
  std::string labels;
  put_bytes(labels, shape);
  // On a PostgreSQL error the transaction's abort ends the workers and
  // parallel mode.
  ParallelWorkers parallel("store_monitoring_range_read_worker", workers,
                           {sizeof(SharedRead), polls.name.size() + 1, labels.size()}, kQueueBytes);
  SharedRead& shared = start_workers(parallel, local, polls.name, labels);
  stats.launched = parallel.launched();
  int ended = 0;
  try {
    leader_first();
    ReadLimits limits(shared, true);
    GroupingSink sink(groups, limits, shared.polls[0]);
    TimestampTz reading = GetCurrentTimestamp();
    if (shared.split) {
      read_chunks(polls, shared, sink, bad);
      // The chunks are the table's blocks; its sealed polls are read here.
      if (reads_sealed_polls(polls)) {
        read_sealed_in_range(from, to, sink);
        read_sealed_store_ids(sink);
      }
    } else {
      read_polls_in_range(polls, from, to, sink, bad);
    }
    TimestampTz merging = GetCurrentTimestamp();
    stats.read_us = merging - reading;
    if (stats.launched > 0)
      ended = receive_groups(parallel.queues(), groups, limits);
    else if (!shared.split)
      read_poll_store_ids(polls, sink, bad);
    sink.check();
    stats.merge_us = GetCurrentTimestamp() - merging;
  } catch (const PgError&) {
    throw;  // the transaction aborts
  } catch (...) {
    ReadLimits(shared, true).stop(kAbandoned);
    parallel.abandon();
    throw;
  }
  for (int i = 0; i <= stats.launched; ++i) stats.polls.push_back(shared.polls[i].load());
  stats.ids_by = stats.split          ? "with the chunks"
                 : stats.launched > 0 ? "parallel worker"
                                      : "read here";
  parallel.finish();  // `shared` is gone
  if (ended != stats.launched)
    throw std::runtime_error("a parallel worker of the range read ended without its groups");
  return stats;
}

}  // namespace store_monitoring::pg

using namespace store_monitoring;
using namespace store_monitoring::pg;

void store_monitoring_range_read_worker(dsm_segment* segment, shm_toc* toc) {
  pg_entry([&] {
    auto* shared =
        static_cast<SharedRead*>(pg_call([&] { return shm_toc_lookup(toc, kKeyShared, false); }));
    auto* name = static_cast<char*>(pg_call([&] { return shm_toc_lookup(toc, kKeyName, false); }));
    // Bare: reads a process-global variable the parallel machinery set.
    const int number = ParallelWorkerNumber;
    shm_mq_handle* handle = attach_worker_queue(segment, toc, kKeyQueues, kQueueBytes);
    SourceShape source;
    source.input = Input::polls;
    source.relation = shared->relation;
    source.name = name;
    source.status_is_enum = shared->status_is_enum;
    source.active_label = shared->active_label;
    source.inactive_label = shared->inactive_label;
    auto* labels =
        static_cast<char*>(pg_call([&] { return shm_toc_lookup(toc, kKeyLabels, false); }));
    uint32_t label_bytes = 0;
    std::memcpy(&label_bytes, labels, sizeof(uint32_t));
    size_t at = 0;
    take_labels(std::string_view(labels + sizeof(uint32_t), label_bytes), at, source);
    ReadLimits limits(*shared, false);
    {
      PollGroups groups(Span{shared->range_begin, shared->range_end});
      GroupingSink sink(groups, limits, shared->polls[number + 1]);
      bool stopped = false;
      {
        SpiConnection spi;
        // PostgreSQL gives the worker the leader's identity and settings;
        // the read is restricted here all the same, as every read is.
        OwnerRead reader(shared->owner);
        BadRows bad(false);
        try {
          if (shared->split)
            read_chunks(source, *shared, sink, bad);  // the ids with them
          else if (number == 0)
            read_poll_store_ids(source, sink, bad);
          sink.check();
        } catch (const RangeOverBudget&) {
          stopped = true;
        } catch (const ReportCanceled&) {
          stopped = true;
        } catch (const Abandoned&) {
          stopped = true;
        }
      }
      if (!stopped) (void)send_groups(handle, groups, *shared);
    }
    limits.release();
    pg_call_void([&] { shm_mq_detach(handle); });
  });
}
