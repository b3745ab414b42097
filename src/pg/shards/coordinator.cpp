// The coordinator's report (see coordinator.hpp and docs/scale-out.md).
//
//
// The coordinator worker connects to every shard as the role that triggered
// the report, through that role's user mapping, like postgres_fdw does: the
// connection options are the foreign server's and the mapping's libpq
// options, and a role that is not a superuser must connect with a password
// unless a superuser set password_required 'false' on its mapping. Every
// shard then applies its own privileges and row-level security to the mapped
// role. All shards are driven at once: each step (connect, latest poll,
// trigger, wait, fetch) is sent to every shard and the worker waits on all
// their sockets together, up to store_monitoring.shard_timeout in all.
#include "pg/shards/coordinator.hpp"

#include "core/shard_merge.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/spi.hpp"
#include "pg/shards/cleanup.hpp"
#include "pg/shards/fanout.hpp"
#include "pg/store/states.hpp"
#include "pg/worker/progress.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace store_monitoring::pg {
namespace {

// The store_count of a shard's Complete report, from its one-row answer.
long store_count_of(const Shard& shard) {
  std::optional<std::string> text = single_value(shard);
  char* end = nullptr;
  errno = 0;
  long count = text ? std::strtol(text->c_str(), &end, 10) : -1;
  if (!text || end == text->c_str() || *end != '\0' || errno != 0 || count < 0)
    shard_failed(shard, "its report " + shard.shard_report_id +
                            " has no usable store_count: " + text.value_or("NULL"));
  return count;
}

TimestampTz parse_timestamp(const Shard& shard, const std::string& text) {
  try {
    return DatumGetTimestampTz(pg_call([&] {
      return DirectFunctionCall3(timestamptz_in, CStringGetDatum(text.c_str()),
                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    }));
  } catch (const PgError&) {
    shard_failed(shard, "returned an invalid timestamp");
  }
}

// H as hours:minutes:seconds.micros, which intervals read exactly.
std::string interval_text(int64 micros) {
  int64 seconds = micros / USECS_PER_SEC;
  char buffer[64];
  snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld.%06lld",
           static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
           static_cast<long long>(seconds % 60), static_cast<long long>(micros % USECS_PER_SEC));
  return buffer;
}

// The next of `shard`'s report_rows(), streamed; false after its last, once
// the rows were as many as its report's `store_count`.
bool next_row(Shard& shard, TimestampTz deadline, long store_count, ShardRow& row) {
  Result result = next_result(shard, deadline);
  if (result && PQresultStatus(result.get()) == PGRES_TUPLES_OK) {
    if (next_result(shard, deadline)) shard_failed(shard, "unexpected answer");
    // The rows must be the whole report the shard says it computed: a shard
    // whose stored rows lost some (or gained some) is not merged as if whole.
    if (shard.rows_received != static_cast<size_t>(store_count))
      shard_failed(shard, "its report " + shard.shard_report_id + " has store_count " +
                              std::to_string(store_count) + " but report_rows() returned " +
                              std::to_string(shard.rows_received) + " rows");
    shard.connection.reset();
    return false;
  }
  // store_id, then uptime, downtime and unknown time per window.
  constexpr int kColumns = 10;
  PGresult* one = result.get();
  if (one == nullptr || PQresultStatus(one) != PGRES_SINGLE_TUPLE || PQnfields(one) != kColumns ||
      PQntuples(one) != 1)
    shard_failed(shard, "unexpected report rows");
  for (int column = 0; column < kColumns; ++column)
    if (PQgetisnull(one, 0, column)) shard_failed(shard, "returned a NULL in its rows");
  row.store_id.assign(PQgetvalue(one, 0, 0), PQgetlength(one, 0, 0));
  for (int column = 1; column < kColumns; ++column) {
    const char* text = PQgetvalue(one, 0, column);
    char* end = nullptr;
    errno = 0;
    row.values[column - 1] = std::strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0)
      shard_failed(shard, std::string("returned a value that is not a number: ") + text);
  }
  ++shard.rows_received;
  return true;
}

// Room for the stored form of `stores` stores: about 50 bytes each, more for
// long ids. Only what is written takes memory; a shard's claim beyond this
// many stores is not trusted with room (the encoder grows as it must).
constexpr size_t kReservedBytesPerStore = 96;
constexpr size_t kMostStoresReserved = size_t{1} << 24;

// The steps of one report, each sent to every shard at once.
ReportOutput fan_out(ReportJob& job, bool as_of_known, TimestampTz requested_at,
                     std::vector<Shard>& shards, std::vector<bool>& noted,
                     const TransactionRunner& in_transaction, PeakMemory& memory) {
  TimestampTz deadline = shard_deadline();
  // Shard reports recorded by an interrupted run are canceled too.
  if (progress_cancel_requested()) throw ReportCanceled();
  for (Shard& shard : shards) start_connection(shard);
  wait_for_all(shards, deadline, WaitMode::cancelable);
  for (Shard& shard : shards) send_query(shard, kSessionSetup);
  wait_for_all(shards, deadline, WaitMode::cancelable);

  if (!as_of_known) {
    for (Shard& shard : shards) send_query(shard, "SELECT store_monitoring.latest_poll()::text");
    wait_for_all(shards, deadline, WaitMode::cancelable);
    std::optional<TimestampTz> latest;
    for (Shard& shard : shards)
      if (std::optional<std::string> value = single_value(shard)) {
        TimestampTz at = parse_timestamp(shard, *value);
        if (!latest || at > *latest) latest = at;
      }
    job.as_of = latest.value_or(requested_at);
    if (auto error = in_transaction([&] {
          spi_execute(
              "UPDATE _store_monitoring_internal.report SET as_of = $2 WHERE report_id "
              "OPERATOR(pg_catalog.=) $1",
              {{TEXTOID, text_datum(job.report_id)},
               {TIMESTAMPTZOID, TimestampTzGetDatum(job.as_of)}},
              false);
        }))
      throw UserError(ERRCODE_INTERNAL_ERROR, *error);
  }

  // Noted before triggering: a worker killed before it records a shard's
  // report id leaves the note, and the report's label, to find it by.
  if (auto error = in_transaction([&] {
        for (size_t i = 0; i < shards.size(); ++i)
          if (!shards[i].recorded && !noted[i])
            spi_execute(
                "INSERT INTO _store_monitoring_internal.shard_cleanup (report_id, server, owner) "
                "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                {{TEXTOID, text_datum(job.report_id)},
                 {NAMEOID, CStringGetDatum(shards[i].name.c_str())},
                 {OIDOID, ObjectIdGetDatum(job.owner)}},
                false);
      }))
    throw UserError(ERRCODE_INTERNAL_ERROR, *error);
  noted.assign(shards.size(), true);
  std::string as_of = iso_timestamp(job.as_of);
  std::string extrapolation = interval_text(job.max_extrapolation_us);
  std::string label = shard_report_label(job.report_id);
  bool triggered = false;
  for (Shard& shard : shards) {
    if (shard.recorded) continue;
    send_query(shard, "SELECT pg_catalog.set_config('store_monitoring.max_extrapolation', " +
                          literal(shard, extrapolation) +
                          ", false); "
                          "SELECT pg_catalog.set_config('store_monitoring.interpolation', " +
                          literal(shard, interpolation_name(job.interpolation)) +
                          ", false); "
                          "SELECT store_monitoring.trigger_report(" +
                          literal(shard, as_of) + "::timestamptz, " + literal(shard, label) + ")");
    triggered = true;
  }
  // Not cancelable: a cancel is noticed once the new shard reports' ids are
  // known (and recorded), so that they can be canceled too. Tolerant: when
  // one shard fails here, the reports the others did start are still read
  // and recorded, so that the failure cancels them (and delete_report finds
  // them); the first failure is raised once they are.
  wait_for_all(shards, deadline, WaitMode::tolerant);
  if (triggered) {
    for (Shard& shard : shards) {
      if (shard.recorded || !shard.connection) continue;
      try {
        std::optional<std::string> id = single_value(shard);
        if (!id) shard_failed(shard, "trigger_report() returned NULL");
        shard.shard_report_id = *id;
      } catch (const UserError& error) {
        drop_shard(shard, error.what());
      }
    }
    // Recorded before waiting: a worker that resumes this report waits for
    // these shard reports instead of starting new ones.
    if (auto error = in_transaction([&] {
          for (Shard& shard : shards) {
            if (shard.recorded || shard.shard_report_id.empty()) continue;
            spi_execute(
                "INSERT INTO _store_monitoring_internal.shard_report "
                "(report_id, server, shard_report_id) VALUES ($1, $2, $3)",
                {{TEXTOID, text_datum(job.report_id)},
                 {NAMEOID, CStringGetDatum(shard.name.c_str())},
                 {TEXTOID, text_datum(shard.shard_report_id)}},
                false);
          }
        }))
      throw UserError(ERRCODE_INTERNAL_ERROR, *error);
  }
  for (const Shard& shard : shards)
    if (!shard.failure.empty()) shard_failed(shard, shard.failure);

  long remaining_ms =
      std::max<long>(0, static_cast<long>((deadline - GetCurrentTimestamp()) / 1000));
  for (Shard& shard : shards)
    send_query(shard, "SELECT store_monitoring.wait_report(" +
                          literal(shard, shard.shard_report_id) + ", " +
                          literal(shard, std::to_string(remaining_ms) + " milliseconds") + ")");
  wait_for_all(shards, deadline, WaitMode::cancelable);
  for (Shard& shard : shards) {
    std::optional<std::string> status = single_value(shard);
    shard.status = status.value_or("");
    if (shard.status == status_text(ReportStatus::Running))
      shard_failed(shard, "its report " + shard.shard_report_id +
                              " did not finish within store_monitoring.shard_timeout (" +
                              std::to_string(current_settings().shard_timeout_ms) + " ms)");
    std::string id = literal(shard, shard.shard_report_id);
    send_query(shard, shard.status == status_text(ReportStatus::Complete)
                          ? "SELECT l.store_count FROM store_monitoring.list_reports() l "
                            "WHERE l.report_id = " +
                                id
                          : "SELECT error FROM store_monitoring.get_report(" + id + ")");
  }
  wait_for_all(shards, deadline, WaitMode::cancelable);
  std::vector<long> store_counts;
  size_t stores = 0;
  for (Shard& shard : shards) {
    if (shard.status != status_text(ReportStatus::Complete))
      shard_failed(shard, "its report " + shard.shard_report_id + " is " + shard.status + ": " +
                              single_value(shard).value_or("(no error message)"));
    store_counts.push_back(store_count_of(shard));
    stores += static_cast<size_t>(store_counts.back());
    send_streamed_query(shard, "SELECT * FROM store_monitoring.report_rows(" +
                                   literal(shard, shard.shard_report_id) + ")");
  }
  // Each shard's rows as they arrive, merged straight into the stored form:
  // the coordinator holds that and one row per shard.
  std::vector<ShardStream> streams;
  for (size_t i = 0; i < shards.size(); ++i)
    streams.push_back({shards[i].name, [&, i](ShardRow& row) {
                         return next_row(shards[i], deadline, store_counts[i], row);
                       }});
  ReportEncoder encoder;
  encoder.reserve(std::min(stores, kMostStoresReserved) * kReservedBytesPerStore);
  TimestampTz merging = GetCurrentTimestamp();
  size_t merged = merge_shard_streams(streams, encoder);
  ReportOutput output;
  output.stored = encoder.finish();
  output.store_count = merged;
  for (Shard& shard : shards) shard.connection.reset();
  int64 held_kb = memory.largest_kb();
  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring report %s: %zu stores from %zu shards merged in %.1f ms, "
         "%lld kB held at most",
         job.report_id.c_str(), merged, shards.size(), (GetCurrentTimestamp() - merging) / 1000.0,
         static_cast<long long>(held_kb));
  });
  return output;
}

// Deletes on `shards` the reports of `job` (all of them, or all but those it
// recorded and merged), within store_monitoring.shard_timeout, and forgets
// the notes of those done; the others are tried again after later reports.
// Never raises: whatever goes wrong is a WARNING in the log.
void delete_shard_reports(const ReportJob& job, std::vector<Shard>& shards,
                          const std::vector<bool>& noted, bool keep_recorded,
                          const TransactionRunner& in_transaction) {
  // New connections, not the open ones: those may be busy in wait_report(),
  // and interrupting that takes PQcancel(), which in PostgreSQL 15 connects
  // without a time limit. The shard ends the dropped sessions' queries
  // (client_connection_check_interval).
  std::vector<ShardCleanup> items;
  for (size_t i = 0; i < shards.size(); ++i) {
    shards[i].connection.reset();
    if (noted[i] || shards[i].recorded || !shards[i].shard_report_id.empty())
      items.push_back(
          {job.report_id, shards[i].name, job.owner, shards[i].shard_report_id, keep_recorded});
  }
  try {
    delete_on_shards(items, &in_transaction);
    (void)in_transaction([&] { forget_done(items); });
  } catch (const std::exception& e) {
    // report_timeout or pg_cancel_backend() struck meanwhile (between
    // transactions: nothing to clean up): the report still ends as it would.
    std::string message = "store_monitoring report " + job.report_id +
                          ": stopped deleting its shards' reports: " + e.what();
    try {
      pg_call([&] { ereport(WARNING, (errmsg("%s", message.c_str()))); });
    } catch (const std::exception&) {
      // Not even logged (out of memory): the report's own outcome matters more.
    }
  }
}

}  // namespace

std::optional<std::string> compute_report_on_shards(ReportJob job, bool as_of_known,
                                                    TimestampTz requested_at,
                                                    const TransactionRunner& in_transaction) {
  std::vector<Shard> shards;
  std::vector<bool> noted;  // per shard: a note to clean up after it exists
  std::optional<std::string> error = in_transaction([&] {
    for (const std::string& name : shard_names()) {
      Shard shard;
      shard.name = name;
      shard.options = connection_options(name, job.owner);
      if (spi_execute(
              "SELECT shard_report_id FROM _store_monitoring_internal.shard_report "
              "WHERE report_id OPERATOR(pg_catalog.=) $1 AND server OPERATOR(pg_catalog.=) $2",
              {{TEXTOID, text_datum(job.report_id)}, {NAMEOID, CStringGetDatum(name.c_str())}},
              true) == 1) {
        bool is_null = false;
        shard.shard_report_id = std::string(text_bytes(spi_value(0, 1, &is_null)));
        shard.recorded = true;
      }
      noted.push_back(
          spi_execute(
              "SELECT FROM _store_monitoring_internal.shard_cleanup WHERE report_id "
              "OPERATOR(pg_catalog.=) $1 AND server OPERATOR(pg_catalog.=) $2",
              {{TEXTOID, text_datum(job.report_id)}, {NAMEOID, CStringGetDatum(name.c_str())}},
              true) == 1);
      shards.push_back(std::move(shard));
    }
  });
  if (error) return error;
  // An earlier run noted shards: it may have started reports there that it
  // never recorded.
  bool resumed = std::find(noted.begin(), noted.end(), true) != noted.end();
  ReportOutput output;
  bool canceled = false;
  PeakMemory memory;  // what the merge holds, and the write
  try {
    output = fan_out(job, as_of_known, requested_at, shards, noted, in_transaction, memory);
  } catch (const ReportCanceled&) {
    canceled = true;
  } catch (const std::exception& e) {
    // A stopped worker exits through FATAL without unwinding to here; what
    // arrives is an error that fails the report (resuming would repeat it).
    // The shard reports it started are of no use now: deleted (those still
    // running canceled first, which frees the shards' workers). The
    // report's error stays this one whatever the deleting meets (that goes
    // to the log).
    std::string message = e.what();
    delete_shard_reports(job, shards, noted, false, in_transaction);
    return message;
  }
  if (canceled) delete_shard_reports(job, shards, noted, false, in_transaction);
  // A cancel that came after the shards' last answer fails the report too.
  if (canceled || progress_cancel_requested()) {
    std::string message = "canceled";
    (void)in_transaction([&] { message = progress_cancel_message().value_or(message); });
    return message;
  }
  std::optional<std::string> stored = in_transaction([&] {
    (void)lock_running_report(text_datum(job.report_id));
    store_complete_report(job, output, memory);
    // Every shard report this run started is recorded: nothing is left.
    if (!resumed)
      spi_execute(
          "DELETE FROM _store_monitoring_internal.shard_cleanup WHERE report_id "
          "OPERATOR(pg_catalog.=) $1",
          {{TEXTOID, text_datum(job.report_id)}}, false);
  });
  if (!stored && resumed) delete_shard_reports(job, shards, noted, true, in_transaction);
  return stored;
}

}  // namespace store_monitoring::pg
