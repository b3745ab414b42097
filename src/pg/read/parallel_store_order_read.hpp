// The store-order read of a report (report_compute.cpp) on the default
// tables, split across the report's process and parallel workers in key
// ranges of store_id, one per participant: each reads its range's polls,
// business hours and zones in store order (the covering index, an
// index-only scan), computes its stores one at a time into the stored form
// and, a worker, sends that to the report's process through a queue of its
// own in messages of a bounded size. The report's process appends the
// ranges in key order: the bytes of the serial read's report.
//
// A bad row ends the report with the serial read's message for that row;
// with more than one, which one is named may differ from the serial read's
// (each range finds its own first). A cancel of the report stops every
// participant within a few thousand polls (ReportCanceled).
#pragma once

#include "core/report_pipeline.hpp"
#include "pg/read/source_read.hpp"

extern "C" {
#include "postgres.h"

#include "storage/dsm.h"
#include "storage/shm_toc.h"
}

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace store_monitoring::pg {

// The store ids that cut the polls table `polls` into `parts` key ranges of
// about as many polls each: from the histogram of store_id's statistics
// (in byte order: the column's collation is "C"). Empty (no split) without
// statistics, with too few bounds, or for fewer than two parts.
std::vector<std::string> store_key_bounds(Oid polls, int parts);

struct StoreOrderStats {
  int launched = 0;              // parallel workers launched
  std::vector<uint64_t> stores;  // stores computed per participant, this process first
  std::vector<uint64_t> polls;   // polls read per participant, this process first
};

// The report of the default tables (`shapes`, in Input order) read in the
// key ranges `bounds` cut, by up to `workers` parallel workers and the
// report's process. ReportForm::stored. Nothing (nothing read) when no
// parallel worker could be launched: the caller reads serially.
std::optional<ReportOutput> read_store_order_split(const std::array<SourceShape, 3>& shapes,
                                                   const ReportSettings& settings, Span range,
                                                   const std::vector<std::string>& bounds,
                                                   int workers, StoreOrderStats& stats);

}  // namespace store_monitoring::pg

extern "C" {
PGDLLEXPORT void store_monitoring_store_order_worker(dsm_segment* segment, shm_toc* toc);
}
