// One report across PostgreSQL shards. A database whose
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
#include <string_view>

#include "pg/read/report_compute.hpp"

namespace store_monitoring::pg {

// An instant in ISO format, in UTC with its offset and every microsecond:
// read back the same under any DateStyle and TimeZone.
std::string iso_timestamp(TimestampTz value);

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

// A coordinator report deleted (delete_report) or canceled without a worker
// (cancel_report): deletes or cancels the reports it started on the shards
// (_store_monitoring_internal.shard_report), connecting to each as the
// user mapping of `owner`, the role that owns the report, never the caller's
// or a superuser's, so each shard applies that remote role's privileges.
// All shards at once, within store_monitoring.shard_timeout; a shard that
// cannot be reached or refuses gets a WARNING naming the shard and its
// report, and the caller goes on. Needs a transaction and SPI.
void delete_shard_reports(std::string_view report_id, Oid owner);
void cancel_shard_reports(std::string_view report_id, Oid owner);

}  // namespace store_monitoring::pg
