// The loose scan of the polls' store ids in a parallel worker while the
// report's process reads the evidence range, so that both cores read.
// PostgreSQL's parallel infrastructure gives the worker the report's
// snapshot, role and settings: one snapshot per report still holds.
#pragma once

#include "pg/common/pg_boundary.hpp"
#include "pg/read/source_read.hpp"

extern "C" {
#include "postgres.h"

#include "storage/dsm.h"
#include "storage/shm_toc.h"
}

namespace store_monitoring::pg {

// Calls `leader_work` while a parallel worker runs read_poll_store_ids() on
// `source`; the ids reach `sink` after leader_work returns. Without a free
// worker slot, read_poll_store_ids() runs here after leader_work.
// Returns whether a parallel worker read them.
template <typename Fn>
bool with_store_ids_read_in_parallel(const SourceShape& source, PollSink& sink, BadRows& bad,
                                     Fn&& leader_work);

namespace detail {
struct ParallelIds;
ParallelIds* start_store_id_worker(const SourceShape& source);
bool finish_store_id_worker(ParallelIds* state, const SourceShape& source, PollSink& sink,
                            BadRows& bad);
// Stops the worker and leaves parallel mode without its ids, so that the
// transaction can go on (after an exception of leader_work).
void abandon_store_id_worker(ParallelIds* state);
}  // namespace detail

template <typename Fn>
bool with_store_ids_read_in_parallel(const SourceShape& source, PollSink& sink, BadRows& bad,
                                     Fn&& leader_work) {
  // On an error the transaction's abort ends the worker and parallel mode.
  detail::ParallelIds* state = detail::start_store_id_worker(source);
  try {
    leader_work();
  } catch (const PgError&) {
    throw;  // the transaction aborts
  } catch (...) {
    // A C++ exception (a read given up) may be caught and the transaction
    // go on: parallel mode must end first.
    detail::abandon_store_id_worker(state);
    throw;
  }
  return detail::finish_store_id_worker(state, source, sink, bad);
}

}  // namespace store_monitoring::pg

extern "C" {
PGDLLEXPORT void store_monitoring_store_ids_worker(dsm_segment* segment, shm_toc* toc);
}
