// The range read of a report (report_compute.cpp) on the default polls
// table or a user's plain table, by the report's process and parallel
// workers at once. PostgreSQL's
// parallel infrastructure gives every worker the report's snapshots, role
// and settings: one snapshot per report still holds.
//
// Split: every participant (the report's process too) claims chunks of heap
// blocks from a counter in the shared segment and groups their polls of the
// range in a PollGroups of its own; each worker then hands its groups to the
// report's process through a queue of its own, in messages of a bounded
// size, and the report's process merges them into its groups. Not split (the
// range is a small part of the table: the block-range index serves it
// better), the report's process reads the range alone and the first worker
// every store id of the polls (a loose index scan); split, the chunks give
// them, as every row of every block is read. With no worker launched the
// report's process does it all.
//
// The bytes every participant's groups hold are added up in the shared
// segment as they grow: over the budget anywhere, every participant stops
// and RangeOverBudget is thrown. A cancel of the report stops every
// participant within a few thousand rows (ReportCanceled).
#pragma once

#include "core/poll_groups.hpp"
#include "pg/read/source_read.hpp"

extern "C" {
#include "postgres.h"

#include "storage/dsm.h"
#include "storage/shm_toc.h"
}

#include <cstdint>
#include <functional>
#include <vector>

namespace store_monitoring::pg {

// Thrown when the groups outgrow the budget while they are read, whatever
// the estimate said (statistics gone stale, a user's view the planner
// cannot see through).
struct RangeOverBudget {};

struct RangeReadPlan {
  int workers = 0;  // parallel workers to ask for; 0: no parallel mode at all
  bool split = false;
  size_t budget_bytes = 0;
};

struct RangeReadStats {
  int launched = 0;             // parallel workers launched
  bool split = false;           // the range was split across participants
  uint32_t chunks = 0;          // block chunks (split)
  std::vector<uint64_t> polls;  // polls of the range per participant, the leader's first
  const char* ids_by = "";      // who read the store ids: the log says
  TimestampTz read_us = 0;      // this process: its own share read
  TimestampTz merge_us = 0;     // this process: the workers' groups merged (or the ids read)
};

// The heap blocks of one chunk a participant claims.
inline constexpr uint32_t kChunkBlocks = 512;

// How many parallel workers a split read of a table of `blocks` heap blocks
// asks for: as PostgreSQL's planner counts them for a parallel sequential
// scan (one from min_parallel_table_scan_size on, one more each time the
// table triples), at most max_parallel_workers_per_gather; 0 below it.
int parallel_workers_for(double blocks);

// Reads the polls of [from, to] of `polls` (plan.workers = 0 for a relation
// parallel mode may refuse, plan.split only for a plain table: the choice
// is report_compute.cpp's) and every store id of the polls into
// `groups`. `leader_first` runs in the report's process once the workers
// are launched, before it reads (it must read nothing parallel mode
// refuses: the default tables only).
RangeReadStats read_range_grouped(const SourceShape& polls, TimestampTz from, TimestampTz to,
                                  const RangeReadPlan& plan, PollGroups& groups, BadRows& bad,
                                  const std::function<void()>& leader_first);

}  // namespace store_monitoring::pg

extern "C" {
PGDLLEXPORT void store_monitoring_range_read_worker(dsm_segment* segment, shm_toc* toc);
}
