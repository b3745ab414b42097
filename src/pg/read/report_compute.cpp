#include "pg/read/report_compute.hpp"

#include "core/poll_groups.hpp"
#include "core/report_engine.hpp"
#include "core/report_codec.hpp"
#include "core/report_pipeline.hpp"
#include "core/store_assembly.hpp"
#include "pg/read/parallel_range_read.hpp"
#include "pg/read/parallel_store_order_read.hpp"
#include "pg/worker/progress.hpp"
#include "pg/store/write.hpp"
#include "pg/common/locks.hpp"
#include "pg/common/settings.hpp"
#include "pg/read/source_read.hpp"
#include "pg/read/sources.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "nodes/params.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace store_monitoring::pg {
namespace {

Micros to_unix_micros(TimestampTz value) { return value + kPgEpochInUnixMicros; }
TimestampTz to_pg_timestamp(Micros value) { return value - kPgEpochInUnixMicros; }

// The polls as they arrive in store order, to the core's StoreAssembler.
class AssemblingSink final : public PollSink {
 public:
  explicit AssemblingSink(StoreAssembler& assembler) : assembler_(assembler) {}
  void poll(std::string_view store_id, TimestampTz at, PollStatus status) override {
    assembler_.poll(store_id, to_unix_micros(at), status);
  }

 private:
  StoreAssembler& assembler_;
};

// Each assembled store to the pipeline.
StoreConsumer to_pipeline(ReportPipeline& pipeline) {
  return [&pipeline](StoreInput&& store) { pipeline.submit(std::move(store)); };
}

// How many polls of the default table fill one heap page when the table has
// no statistics yet (never vacuumed or analyzed): about 120 rows of the
// public data set's shape, 20-byte ids.
constexpr double kDefaultPollsPerPage = 120.0;

// The planner's estimate of the polls in [from, to].
double planner_range_rows(const SourceShape& polls, TimestampTz from, TimestampTz to) {
  return spi_planned_rows(
      "SELECT FROM " + polls.name +
          " s WHERE s.timestamp_utc OPERATOR(pg_catalog.>=) $1 AND s.timestamp_utc "
          "OPERATOR(pg_catalog.<=) $2",
      {{TIMESTAMPTZOID, TimestampTzGetDatum(from)}, {TIMESTAMPTZOID, TimestampTzGetDatum(to)}});
}

// Which read suits the polls (bench/README.md, "Where the time goes").
// Reading only the evidence range, in the order the rows lie on disk, costs
// the same on any amount of history and without the visibility map, but
// holds the range's polls (8 bytes each) until the read ends. When they
// would take more than store_monitoring.range_read_memory, the default
// table is read store by store instead (an index-only scan of its covering
// index, each store computed as its polls end): memory follows the stores
// alone, but the read covers every poll stored. How many polls the range
// holds is the planner's estimate when timestamp_utc has statistics (its
// histogram follows months of history and outlying old polls alike);
// without them (a load not yet analyzed) it is every row of the table,
// never fewer than the range holds, so that memory stays bounded. The
// stores add their share (PollGroups::estimated_bytes), counted from the
// statistics of store_id when there are any. A user's relation is always
// read as a range (no index is known to serve it).
//
// The range read is split across processes (parallel_range_read.hpp) when
// the range is most of the table (a third of its rows or more: the whole
// table's blocks are read), the table is large enough for a parallel worker
// as PostgreSQL's planner counts it, and twice the grouped polls fit the
// budget (the report's process merges what each worker holds); else the
// report's process reads the range, a parallel worker the store ids. A
// user's relation is split the same way only when it is a plain heap table
// whose read runs none of its owner's code and whose blocks are all its rows
// (no row-level security, no inheritance children, not temporary) and the
// owner may read its ctid (not only some columns); else
// the report's process reads it alone, outside parallel mode (a view may
// call what parallel mode refuses).
struct ReadChoice {
  bool store_order = false;
  bool split = false;
  int workers = 0;  // parallel workers to ask for; 0: none, no parallel mode
  // A store-order read of the default table: the parallel workers its key
  // ranges may have, as a split range read counts them.
  int store_order_workers = 0;
};

ReadChoice choose_read(const SourceShape& polls, Span range, int budget_kb) {
  const bool is_default = polls.relation == default_source(Input::polls);
  uint64 found = spi_execute(
      "SELECT pg_catalog.pg_relation_size(c.oid)::pg_catalog.float8,"
      " CASE WHEN c.reltuples OPERATOR(pg_catalog.>) 0 AND c.relpages OPERATOR(pg_catalog.>) 0"
      "  THEN c.reltuples OPERATOR(pg_catalog./) c.relpages ELSE 0 END::pg_catalog.float8,"
      " EXISTS (SELECT FROM pg_catalog.pg_stats st WHERE st.schemaname OPERATOR(pg_catalog.=) "
      "n.nspname"
      "  AND st.tablename OPERATOR(pg_catalog.=) c.relname AND st.attname "
      "OPERATOR(pg_catalog.=) 'timestamp_utc'"
      "  AND st.histogram_bounds IS NOT NULL),"
      " (SELECT CASE WHEN st.n_distinct OPERATOR(pg_catalog.<) 0"
      "   THEN OPERATOR(pg_catalog.-) st.n_distinct OPERATOR(pg_catalog.*) GREATEST(c.reltuples, 0)"
      "   ELSE st.n_distinct END::pg_catalog.float8 FROM pg_catalog.pg_stats st"
      "  WHERE st.schemaname OPERATOR(pg_catalog.=) n.nspname AND st.tablename "
      "OPERATOR(pg_catalog.=) c.relname"
      "  AND st.attname OPERATOR(pg_catalog.=) 'store_id'),"
      " c.relkind OPERATOR(pg_catalog.=) 'r' AND NOT c.relrowsecurity AND NOT c.relhassubclass"
      "  AND c.relpersistence OPERATOR(pg_catalog.<>) 't' AND EXISTS (SELECT FROM pg_catalog.pg_am "
      "am"
      "  WHERE am.oid OPERATOR(pg_catalog.=) c.relam AND am.amname OPERATOR(pg_catalog.=) 'heap')"
      // The chunks name ctid: the owner may hold SELECT on some columns only.
      "  AND pg_catalog.has_column_privilege(c.oid, 'ctid', 'SELECT')"
      " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
      "  ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.oid OPERATOR(pg_catalog.=) $1",
      {{OIDOID, ObjectIdGetDatum(polls.relation)}}, true, 1);
  if (found != 1) return {false, false, is_default ? 1 : 0};
  bool is_null = true;
  double pages = DatumGetFloat8(spi_value(0, 1, &is_null)) / BLCKSZ;
  double per_page = DatumGetFloat8(spi_value(0, 2, &is_null));
  bool has_statistics = DatumGetBool(spi_value(0, 3, &is_null));
  Datum distinct = spi_value(0, 4, &is_null);
  double stores = is_null ? 0 : std::max(0.0, DatumGetFloat8(distinct));
  bool splittable = DatumGetBool(spi_value(0, 5, &is_null)) && !is_null;
  if (!is_default && !splittable) return {};
  // The EXPLAIN below replaces the result read above.
  double range_polls = has_statistics ? planner_range_rows(polls, to_pg_timestamp(range.begin),
                                                           to_pg_timestamp(range.end - 1))
                                      : -1;
  const double rows = pages * (per_page > 0 ? per_page : kDefaultPollsPerPage);
  if (range_polls < 0) range_polls = rows;
  double bytes = PollGroups::estimated_bytes(range_polls, stores);
  const double budget_bytes = static_cast<double>(budget_kb) * 1024.0;
  ReadChoice choice;
  // A user's relation: no index is known to read it in store order.
  choice.store_order = is_default && bytes > budget_bytes;
  const int split_workers = parallel_workers_for(pages);
  choice.split = splittable && !choice.store_order && range_polls * 3 >= rows &&
                 2 * bytes <= budget_bytes && split_workers > 0;
  choice.workers = choice.split ? split_workers : is_default ? 1 : 0;
  choice.store_order_workers = is_default ? split_workers : 0;
  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring: about %.0f polls in the evidence range (%s) of %.0f stores, %.0f kB "
         "grouped, range_read_memory %d kB, %s: %s",
         range_polls, has_statistics ? "planner's estimate" : "no statistics: every row", stores,
         bytes / 1024, budget_kb,
         choice.split
             ? ("split across up to " + std::to_string(choice.workers + 1) + " processes").c_str()
             : "not split",
         choice.store_order ? "read in store order" : "read the range");
  });
  return choice;
}

// The pipeline whose thread is running, if any. A FATAL error (the worker is
// terminated) exits the process without unwinding C++ frames; the thread
// must be stopped before exit() tears down what it uses.
ReportPipeline* running_pipeline = nullptr;

void stop_running_pipeline(int, Datum) noexcept {
  if (running_pipeline != nullptr) running_pipeline->abandon();
}

class RunningPipeline {
 public:
  explicit RunningPipeline(ReportPipeline& pipeline) {
    static bool exit_callback_registered = false;
    if (!exit_callback_registered) {
      pg_call([] { before_shmem_exit(stop_running_pipeline, 0); });
      exit_callback_registered = true;
    }
    running_pipeline = &pipeline;
  }
  ~RunningPipeline() { running_pipeline = nullptr; }
  RunningPipeline(const RunningPipeline&) = delete;
  RunningPipeline& operator=(const RunningPipeline&) = delete;
};

// "1, 2, 3": counts per participant, for the log.
std::string join_counts(const std::vector<uint64_t>& counts) {
  std::string out;
  for (size_t i = 0; i < counts.size(); ++i)
    out += (i == 0 ? "" : ", ") + std::to_string(counts[i]);
  return out;
}

// The range read: the polls of the evidence range in any order, grouped per
// store, then every store computed. Nothing (and nothing handed to the
// pipeline) when the groups outgrow `budget_bytes` while read: the caller
// reads in store order instead. `read_hours_and_zones` runs while parallel
// workers already read, or first when there are none.
std::optional<ReportOutput> compute_from_range(const ReportJob& job, const SourceShape& polls,
                                               Span range, const ReadChoice& choice,
                                               const StoreHoursTable& hours,
                                               const StoreZoneTable& zones,
                                               const std::function<void()>& read_hours_and_zones,
                                               ReportPipeline& pipeline, BadRows& bad,
                                               size_t budget_bytes, TimestampTz& hours_us) {
  TimestampTz started = GetCurrentTimestamp();
  PollGroups groups(range);  // freed on return, before any other read
  RangeReadStats stats;
  try {
    stats = read_range_grouped(polls, to_pg_timestamp(range.begin), to_pg_timestamp(range.end - 1),
                               {choice.workers, choice.split, budget_bytes}, groups, bad,
                               read_hours_and_zones);
  } catch (const RangeOverBudget&) {
    return std::nullopt;
  }
  TimestampTz polls_read = GetCurrentTimestamp();
  for (size_t i = 0; i < hours.size(); ++i) groups.add_store(hours.store_id(i));
  for (size_t i = 0; i < zones.size(); ++i) groups.add_store(zones.store_id(i));
  submit_stores(groups, hours, zones, to_pipeline(pipeline));
  TimestampTz submitted = GetCurrentTimestamp();
  ReportOutput output = pipeline.finish();
  std::string how = stats.split ? "split in " + std::to_string(stats.chunks) + " block chunks"
                                : std::string("not split");
  std::string per_participant = join_counts(stats.polls);
  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring report %s: hours and zones %.1f ms, %zu polls in range read %.1f ms "
         "(%s, %d parallel workers launched, polls per participant, this process first: %s; "
         "this process read %.1f ms, then merged or read the store ids %.1f ms), "
         "store ids (%s), %zu stores handed over %.1f ms, computing after that %.1f ms",
         job.report_id.c_str(), hours_us / 1000.0, groups.poll_count(),
         (polls_read - started) / 1000.0, how.c_str(), stats.launched, per_participant.c_str(),
         stats.read_us / 1000.0, stats.merge_us / 1000.0, stats.ids_by, groups.store_count(),
         (submitted - polls_read) / 1000.0, (GetCurrentTimestamp() - submitted) / 1000.0);
  });
  return output;
}

// The store-order read split in the key ranges `bounds` cut; nothing when
// no parallel worker could be launched.
std::optional<ReportOutput> compute_store_order_split(const ReportJob& job,
                                                      const std::array<SourceShape, 3>& shapes,
                                                      const ReportSettings& settings, Span range,
                                                      const std::vector<std::string>& bounds,
                                                      int workers) {
  TimestampTz started = GetCurrentTimestamp();
  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring report %s: reading in store order in %zu key ranges cut at the "
         "statistics of store_id, with up to %d parallel workers",
         job.report_id.c_str(), bounds.size() + 1, workers);
  });
  StoreOrderStats stats;
  std::optional<ReportOutput> output =
      read_store_order_split(shapes, settings, range, bounds, workers, stats);
  if (!output) return output;

  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring report %s: read in store order split in %zu key ranges, %d parallel "
         "workers launched, stores per participant, this process first: %s; polls per "
         "participant: %s; %zu stores read and computed in %.1f ms",
         job.report_id.c_str(), bounds.size() + 1, stats.launched,
         join_counts(stats.stores).c_str(), join_counts(stats.polls).c_str(), output->store_count,
         (GetCurrentTimestamp() - started) / 1000.0);
  });
  return output;
}

// Reads the sources (checked again here: relations change) and computes.
ReportOutput compute(const ReportJob& job, const Sources& sources) {
  ReportSettings settings{to_unix_micros(job.as_of), job.max_extrapolation_us,
                          job.interpolation == InterpolationSetting::previous
                              ? Interpolation::previous
                              : Interpolation::nearest};
  // The stored form only: the worker never shows the CSV (readers render it).
  ReportPipeline pipeline(settings, true, ReportForm::stored);
  pipeline.report_progress_to(progress_counters(), progress_token());
  RunningPipeline registration(pipeline);
  Span range = ReportEngine(settings).evidence_range();

  std::array<SourceShape, 3> shapes = check_sources(sources, job.owner);
  BadRows bad(false);  // the first bad row ends the report
  StoreHoursTable hours;
  StoreZoneTable zones;
  bool hours_known = false;
  TimestampTz hours_us = 0;
  auto read_hours_and_zones = [&] {
    TimestampTz reading = GetCurrentTimestamp();
    hours = read_business_hours(shapes[1], bad);
    zones = read_time_zones(shapes[2], bad);
    hours_known = true;
    hours_us = GetCurrentTimestamp() - reading;
  };
  TimestampTz hours_read = GetCurrentTimestamp();
  const int budget_kb = current_settings().range_read_memory_kb;
  ReadChoice choice = choose_read(shapes[0], range, budget_kb);
  // 0: store by store whatever the source.
  if (!choice.store_order && budget_kb > 0) {
    // While parallel workers read the polls, unless a user's relation is
    // among them: it may call what parallel mode refuses.
    const bool meanwhile = choice.workers > 0 &&
                           shapes[1].relation == default_source(Input::business_hours) &&
                           shapes[2].relation == default_source(Input::time_zones);
    if (!meanwhile) read_hours_and_zones();
    std::optional<ReportOutput> output = compute_from_range(
        job, shapes[0], range, choice, hours, zones,
        meanwhile ? std::function<void()>(read_hours_and_zones) : [] {}, pipeline, bad,
        static_cast<size_t>(budget_kb) * 1024, hours_us);
    if (output) return std::move(*output);
    // Nothing reached the pipeline yet: the read starts again, bounded.
    pg_call([&] {
      elog(LOG,
           "store_monitoring report %s: the polls of the evidence range outgrew "
           "store_monitoring.range_read_memory (%d kB) while read, more than estimated; "
           "reading them again in store order",
           job.report_id.c_str(), budget_kb);
    });
    hours_read = GetCurrentTimestamp();
  }
  // The default tables in key ranges, across processes, when store_id has
  // statistics to cut them (parallel_store_order_read.hpp).
  const bool defaults = shapes[0].relation == default_source(Input::polls) &&
                        shapes[1].relation == default_source(Input::business_hours) &&
                        shapes[2].relation == default_source(Input::time_zones);
  std::vector<std::string> bounds;
  if (defaults && choice.store_order_workers > 0)
    bounds = store_key_bounds(shapes[0].relation, choice.store_order_workers + 1);
  if (!bounds.empty()) {
    std::optional<ReportOutput> output =
        compute_store_order_split(job, shapes, settings, range, bounds, choice.store_order_workers);
    if (output) return std::move(*output);
  }
  if (!hours_known) {
    read_hours_and_zones();
    hours_read = GetCurrentTimestamp();
  }
  StoreAssembler assembler(hours, zones, to_pipeline(pipeline));
  assembler.keep_polls_between(range.begin, range.end - 1);
  AssemblingSink sink(assembler);
  read_polls(shapes[0], sink, bad);
  assembler.finish();
  TimestampTz polls_read = GetCurrentTimestamp();
  ReportOutput output = pipeline.finish();
  pg_call([&] {
    elog(DEBUG1,
         "store_monitoring report %s: hours and zones %.1f ms, polls read in store order %.1f ms "
         "(not split: %s), computing after the read %.1f ms",
         job.report_id.c_str(), hours_us / 1000.0, (polls_read - hours_read) / 1000.0,
         !defaults                         ? "a user's relation"
         : choice.store_order_workers == 0 ? "no parallel worker for the table"
         : bounds.empty()                  ? "no statistics of store_id to cut it in key ranges"
                                           : "no parallel worker slot free",
         (GetCurrentTimestamp() - polls_read) / 1000.0);
  });
  return output;
}

// Fields of /proc/self/status, in kB (-1 when unknown).
struct ProcessMemory {
  int64 anonymous = -1;  // RssAnon: private resident memory now
  int64 peak = -1;       // VmHWM: peak resident memory, shared pages included
  int64 file = -1;       // RssFile
  int64 shared = -1;     // RssShmem: shared buffers and other shared memory touched
};

ProcessMemory process_memory() {
  ProcessMemory memory;
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return memory;
  char line[256];
  const std::pair<const char*, int64*> fields[] = {{"RssAnon:", &memory.anonymous},
                                                   {"VmHWM:", &memory.peak},
                                                   {"RssFile:", &memory.file},
                                                   {"RssShmem:", &memory.shared}};
  while (std::fgets(line, sizeof(line), status) != nullptr)
    for (const auto& [name, value] : fields)
      if (std::strncmp(line, name, std::strlen(name)) == 0)
        *value = std::strtoll(line + std::strlen(name), nullptr, 10);
  std::fclose(status);
  return memory;
}

// Gives memory freed by C++ (many small blocks: the inputs per store) back to
// the system, so that the writing, which copies the stored form, starts from
// what the result needs rather than from the reading's high-water mark.
void release_freed_memory() { (void)malloc_trim(0); }

}  // namespace

PeakMemory::PeakMemory() {
  FILE* clear = std::fopen("/proc/self/clear_refs", "w");
  if (clear != nullptr) {
    peak_resettable_ = std::fputs("5", clear) >= 0;
    peak_resettable_ = std::fclose(clear) == 0 && peak_resettable_;
  }
  sample();
}

void PeakMemory::sample() { largest_ = std::max(largest_, process_memory().anonymous); }

int64 PeakMemory::largest_kb() {
  sample();
  ProcessMemory now = process_memory();
  if (peak_resettable_ && now.peak >= 0 && now.file >= 0 && now.shared >= 0)
    largest_ = std::max(largest_, now.peak - now.file - now.shared);
  return largest_;
}

void check_owner_exists(Oid owner) {
  bool exists = pg_call([&] { return SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)); });
  if (!exists)
    throw UserError(ERRCODE_UNDEFINED_OBJECT,
                    "the role that triggered the report no longer exists");
}

// The report must still be ours to finish: the extension may have been
// dropped (and created again) while the worker waited between transactions.
// Locking the row also makes a concurrent DROP EXTENSION wait for this report.
// A row another transaction holds locked is not waited for (NOWAIT: the
// report gives way, see worker/loop.cpp).
// Returns the sources recorded when the report was triggered.
Sources lock_running_report(Datum id) {
  uint64 found = spi_execute(
      "SELECT source_relations[1], source_relations[2], source_relations[3] "
      "FROM _store_monitoring_internal.report WHERE report_id OPERATOR(pg_catalog.=) $1 AND status "
      "OPERATOR(pg_catalog.=) 'Running' "
      "FOR UPDATE NOWAIT",
      {{TEXTOID, id}}, false);
  if (found != 1)
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "the report is no longer waiting to be computed");
  Sources sources{};
  for (int i = 0; i < 3; ++i) {
    bool is_null = true;
    Datum value = spi_value(0, i + 1, &is_null);
    sources[i] = is_null ? InvalidOid : DatumGetObjectId(value);
  }
  return sources;
}

namespace {

// Locks the report's sources for its read, in the worker. A source another
// transaction holds locked against reads (a loader's TRUNCATE and reload,
// or its owner's own LOCK) is waited for as long as the read's lock_timeout
// (kWorkerLockWaitMs), then the report gives way (the error names it). A
// source waited for is read in a snapshot taken once every lock is granted,
// as a statement in READ COMMITTED (the worker's level) would: read in the
// snapshot taken before, a truncated and reloaded table would look empty.
void lock_sources_for_read(std::span<const Oid> sources) {
  bool waited = false;
  for (Oid relation : sources) {
    if (!OidIsValid(relation) ||
        pg_call([&] { return ConditionalLockRelationOid(relation, AccessShareLock); }))
      continue;
    std::string name = source_name(relation);  // looked up before the error
    try {
      pg_call_void([&] { LockRelationOid(relation, AccessShareLock); });
    } catch (const PgError& error) {
      if (error.data() == nullptr || error.data()->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE) throw;
      throw UserError(ERRCODE_LOCK_NOT_AVAILABLE,
                      "the report's source " + name + " is locked by another transaction");
    }
    waited = true;
  }
  if (!waited) return;
  pg_call_void([] {
    PopActiveSnapshot();
    PushActiveSnapshot(GetTransactionSnapshot());
  });
}

}  // namespace

TimestampTz resolve_latest_as_of(const ReportJob& job, TimestampTz fallback) {
  check_owner_exists(job.owner);
  Sources sources = lock_running_report(text_datum(job.report_id));
  std::optional<TimestampTz> newest;
  read_keeping_worker_locks([&] {
    OwnerRead reader(job.owner, kWorkerLockWaitMs);
    lock_sources_for_read(std::span(sources).first(1));
    newest = newest_poll(check_source(Input::polls, sources[0], job.owner));
  });
  return newest ? *newest : fallback;
}

std::optional<TimestampTz> newest_poll_for(Oid role) {
  Sources sources = configured_sources(role);
  OwnerRead reader(role);
  return newest_poll(check_source(Input::polls, sources[0], role));
}

namespace {

// Stores the results (store/write.cpp), marks the report Complete and
// records the worker's peak memory (`memory` has sampled since the report
// began).
void store_result(const ReportJob& job, ReportOutput& report, PeakMemory& memory) {
  TimestampTz writing = GetCurrentTimestamp();
  size_t stores = report.stored.empty() ? report.store_ids.size() : report.store_count;
  if (report.stored.empty()) {
    // Rows (a sharded report's merge): the CSV is rendered on read from the
    // stored form; free it and the rows once that is encoded.
    std::string().swap(report.csv);
    report.stored = encode_report(report.store_ids, report.durations);
    std::vector<std::string>().swap(report.store_ids);
    std::vector<StoreDurations>().swap(report.durations);
  }
  release_freed_memory();
  complete_report(job.report_id, report.stored, stores, memory.largest_kb());
  pg_call([&] {
    elog(DEBUG1, "store_monitoring report %s: %zu stores written in %.1f ms", job.report_id.c_str(),
         stores, (GetCurrentTimestamp() - writing) / 1000.0);
  });
  pause_for_testing(PausePoint::committing);
  // The peak includes the encoding and the write above; a second, small
  // update records it.
  int64 memory_kb = memory.largest_kb();
  spi_execute(
      "UPDATE _store_monitoring_internal.report SET worker_memory_kb = $2 WHERE report_id "
      "OPERATOR(pg_catalog.=) $1",
      {{TEXTOID, text_datum(job.report_id)}, {INT8OID, Int64GetDatum(memory_kb), memory_kb < 0}},
      false);
}

}  // namespace

void compute_and_store_report(const ReportJob& job) {
  check_owner_exists(job.owner);
  Sources sources = lock_running_report(text_datum(job.report_id));
  PeakMemory memory;
  pause_for_testing(PausePoint::reading);
  throw_if_canceled();
  ReportOutput report;
  read_keeping_worker_locks([&] {
    // The owner's privileges and row-level security; nothing its relations
    // run outlives the read (the bookkeeping below runs as a superuser).
    // No lock the read needs is waited for longer than kWorkerLockWaitMs:
    // the sources (compute() checks them under these locks) and whatever
    // its statements lock (the tables under a view, a function's LOCK).
    OwnerRead reader(job.owner, kWorkerLockWaitMs);
    lock_sources_for_read(sources);
    report = compute(job, sources);
  });
  memory.sample();  // every store's stored result is held
  release_freed_memory();
  pause_for_testing(PausePoint::writing);
  throw_if_canceled();
  store_result(job, report, memory);
  throw_if_canceled();  // the last chance: the caller commits next
}

void store_complete_report(const ReportJob& job, ReportOutput& report, PeakMemory& memory) {
  store_result(job, report, memory);
}

}  // namespace store_monitoring::pg
