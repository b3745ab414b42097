// Sealing old polls: moving the polls of whole UTC days out of
// store_status into store_monitoring.sealed_polls (one row per store and
// day, packed by core/poll_segment.hpp), and poll retention. Both run as the
// extension's owner in the caller's transaction: a day's rows leave
// store_status and arrive sealed in the same commit, so that every snapshot
// sees each poll exactly once.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace store_monitoring::pg {

// Seals the polls of store_status older than the start of the UTC day of
// `before` (every day that ended by then), one day at a time, at most
// `max_days` days (0: all); then removes what store_monitoring.poll_retention
// says. Returns the polls sealed. Throws a UserError when store_status
// cannot be sealed (row-level security, a DELETE trigger, partitions), or,
// unless `wait`, when another compaction is at work.
// Needs a SpiScope (the extension owner's identity).
int64 seal_polls_before(TimestampTz before, int max_days = 0, bool wait = true);

// The workers' compaction after a report: when store_monitoring.compact_after
// is set, seals the oldest day due, if any; true when it sealed one (the
// worker then commits and calls again).
bool seal_one_due_day();

// store_monitoring.poll_retention: removes the sealed days that ended that
// long before the newest poll, whole; returns the polls removed.
int64 apply_poll_retention();

}  // namespace store_monitoring::pg
