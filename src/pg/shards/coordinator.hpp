// One report across PostgreSQL shards. A database whose
// _store_monitoring_internal.shard table lists postgres_fdw foreign servers
// is a coordinator: its worker does not read local inputs but triggers the
// same report (same T and settings) on every shard over libpq, as the
// triggering role's user mapping, waits for all of them at once, and merges
// their rows into the coordinator's report.
#pragma once

#include "pg/read/report_compute.hpp"
#include "pg/shards/fanout.hpp"  // TransactionRunner

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
}

#include <functional>
#include <optional>
#include <string>

namespace store_monitoring::pg {

// Computes and stores the report `job` from the shards (outside any
// transaction; `in_transaction` runs the coordinator's own reads and
// writes). Returns the error the report must fail with, or nothing when it
// was stored Complete.
std::optional<std::string> compute_report_on_shards(ReportJob job, bool as_of_known,
                                                    TimestampTz requested_at,
                                                    const TransactionRunner& in_transaction);

}  // namespace store_monitoring::pg
