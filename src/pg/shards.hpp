// One report across PostgreSQL shards (issue 12). A database whose
// _store_monitoring_internal.shard table lists postgres_fdw foreign servers
// is a coordinator: its worker does not read local inputs but triggers the
// same report (same T and settings) on every shard over libpq, as the
// triggering role's user mapping, waits for all of them at once, and merges
// their rows into the coordinator's report.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include <functional>
#include <optional>
#include <string>

#include "pg/report_compute.hpp"

namespace store_monitoring::pg {

// Defines store_monitoring.shard_timeout; called from define_settings.
void define_shard_settings();

// True when this database has shards. Needs a transaction and SPI.
bool database_has_shards();

// At trigger time: false without shards; with shards, checks that `role` may
// use every shard's server and has a user mapping for it (raising a clear
// error otherwise) and returns true. Connects nowhere.
bool check_role_can_reach_shards(Oid role);

// Runs `body` in a transaction of its own; returns the error that rolled it
// back, if any.
using TransactionRunner = std::function<std::optional<std::string>(const std::function<void()>&)>;

// Computes and stores the report `job` from the shards (outside any
// transaction; `in_transaction` runs the coordinator's own reads and
// writes). Returns the error the report must fail with, or nothing when it
// was stored Complete.
std::optional<std::string> compute_report_on_shards(ReportJob job, bool as_of_known,
                                                    TimestampTz requested_at,
                                                    const TransactionRunner& in_transaction);

}  // namespace store_monitoring::pg
