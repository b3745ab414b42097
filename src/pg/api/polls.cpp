// The poll store's SQL functions: compact_polls, poll_storage, unpack_polls
// (the polls view's reading of a sealed row) and merge_polls (compaction's
// merge of a late poll's day into its sealed row).
#include "core/poll_segment.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/sealed_read.hpp"
#include "pg/seal/compaction.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <limits>
#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {


Oid store_status_oid() {
  Oid schema = pg_call([] { return get_namespace_oid("store_monitoring", false); });
  return pg_call([&] { return get_relname_relid("store_status", schema); });
}

// A sealed row's bytes, checked, as the core reads them.
std::string_view packed_argument(FunctionCallInfo fcinfo, int arg) {
  return text_bytes(PointerGetDatum(pg_call([&] { return PG_GETARG_BYTEA_PP(arg); })));
}

[[noreturn]] void throw_corrupt(const std::exception& error) {
  throw UserError(ERRCODE_DATA_CORRUPTED,
                  std::string("not sealed polls this version wrote: ") + error.what());
}

// A date argument as the core's day; infinite dates and days no segment
// holds are refused before any arithmetic.
int32_t day_argument(FunctionCallInfo fcinfo, int arg) {
  std::optional<int32_t> day = sealed_day(PG_GETARG_DATEADT(arg));
  if (!day)
    throw UserError(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE, "day is out of range for sealed polls");
  return *day;
}

// The labels of the caller's poll_status result column, in PollStatus order
// (inactive, active).
void status_labels(Oid status_type, Datum labels[2]) {
  pg_call_void([&] {
    labels[0] = DirectFunctionCall2(enum_in, CStringGetDatum("inactive"),
                                    ObjectIdGetDatum(status_type));
    labels[1] = DirectFunctionCall2(enum_in, CStringGetDatum("active"),
                                    ObjectIdGetDatum(status_type));
  });
}

// Decodes `packed` straight into the result, poll by poll (never held
// whole: the tuplestore spills past work_mem); `first` columns before
// (timestamp_utc, status) are given; only polls within [lo, hi] go.
void put_polls(ReturnSetInfo* result, int32_t day, std::string_view packed, const Datum* first,
               int first_count, const Datum labels[2], Micros lo, Micros hi) {
  try {
    segment_detail::SegmentCursor in(day, packed);
    Datum values[3];
    bool nulls[3] = {false, false, false};
    for (int i = 0; i < first_count; ++i) values[i] = first[i];
    while (in.remaining() > 0) {
      const Poll poll = in.next();
      if (poll.at < lo || poll.at > hi) continue;
      values[first_count] = TimestampTzGetDatum(poll.at - kPgEpochInUnixMicros);
      values[first_count + 1] = labels[poll.status == PollStatus::active ? 1 : 0];
      pg_call_void(
          [&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
      check_for_interrupts();
    }
    in.finish();
  } catch (const CorruptSegment& error) {
    throw_corrupt(error);
  } catch (const std::invalid_argument& error) {
    throw_corrupt(error);
  }
}

// Whether `role` may read store_status's polls: SELECT on its three columns.
bool reads_store_status(Oid role) {
  spi_execute(
      "SELECT pg_catalog.has_column_privilege($1, 'store_monitoring.store_status', 'store_id',"
      " 'SELECT') AND pg_catalog.has_column_privilege($1, 'store_monitoring.store_status',"
      " 'status', 'SELECT') AND pg_catalog.has_column_privilege($1,"
      " 'store_monitoring.store_status', 'timestamp_utc', 'SELECT')",
      {{OIDOID, ObjectIdGetDatum(role)}}, true, 1);
  bool is_null = true;
  return DatumGetBool(spi_value(0, 1, &is_null)) && !is_null;
}

// compact_polls(older_than): the caller needs DELETE on store_status (its
// polls leave it) besides EXECUTE, which only superusers have unless
// granted.
Datum compact_polls(FunctionCallInfo fcinfo) {
  require_current_extension_version();
  Interval* older_than = pg_call([&] { return PG_GETARG_INTERVAL_P(0); });
  if (interval_us(older_than) < 0)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "older_than must not be negative");
  const Oid relation = store_status_oid();
  if (pg_call([&] { return pg_class_aclcheck(relation, GetUserId(), ACL_DELETE); }) !=
      ACLCHECK_OK)
    throw UserError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "permission denied to seal polls: compact_polls() needs DELETE on "
                    "store_monitoring.store_status");
  // now() - older_than as the session counts it (months and days follow
  // its time zone, as timestamptz arithmetic does).
  TimestampTz before = pg_call([&] {
    return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
                                                   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                                                   PointerGetDatum(older_than)));
  });
  SpiScope spi;
  return Int64GetDatum(seal_polls_before(before));
}

// poll_storage(): for whoever may read store_status's polls.
Datum poll_storage(FunctionCallInfo fcinfo) {
  require_current_extension_version();
  const Oid caller = GetUserId();
  TupleDesc desc = nullptr;
  if (pg_call([&] { return get_call_result_type(fcinfo, nullptr, &desc); }) != TYPEFUNC_COMPOSITE)
    throw std::runtime_error("poll_storage() must return a record");
  SpiScope spi;
  if (!reads_store_status(caller))
    throw UserError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "permission denied: poll_storage() needs SELECT on store_id, status and "
                    "timestamp_utc of store_monitoring.store_status");
  spi_execute(
      "SELECT (SELECT pg_catalog.count(*) FROM store_monitoring.store_status),"
      " (SELECT COALESCE(pg_catalog.sum(d.polls), 0)::pg_catalog.int8"
      "  FROM _store_monitoring_internal.sealed_day d),"
      " pg_catalog.pg_total_relation_size('store_monitoring.store_status'),"
      " pg_catalog.pg_total_relation_size('store_monitoring.sealed_polls') OPERATOR(pg_catalog.+)"
      " pg_catalog.pg_total_relation_size('_store_monitoring_internal.sealed_day')",
      {}, true, 1);
  Datum values[4];
  bool nulls[4] = {false, false, false, false};
  for (int i = 0; i < 4; ++i) values[i] = spi_value(0, i + 1, &nulls[i]);
  return pg_call([&] {
    desc = BlessTupleDesc(desc);
    return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
  });
}

// unpack_polls(day, polls): the polls of one sealed row, in time order.
Datum unpack_polls(FunctionCallInfo fcinfo) {
  const int32_t day = day_argument(fcinfo, 0);
  std::string_view packed = packed_argument(fcinfo, 1);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  Datum labels[2];
  status_labels(TupleDescAttr(result->setDesc, 1)->atttypid, labels);
  put_polls(result, day, packed, nullptr, 0, labels, std::numeric_limits<Micros>::min(),
            std::numeric_limits<Micros>::max());
  return Datum(0);
}

// sealed_poll_rows(store_id, since, until): for readers of store_status's
// polls, checked first; then the table is read as the extension's owner
// (nothing on it is granted), narrowed by its keys.
Datum sealed_poll_rows(FunctionCallInfo fcinfo) {
  require_current_extension_version();
  const Oid caller = GetUserId();
  const bool one_store = !PG_ARGISNULL(0);
  std::string store_id;
  if (one_store)
    store_id = std::string(text_bytes(PointerGetDatum(pg_call([&] { return PG_GETARG_TEXT_PP(0); }))));
  const TimestampTz since = PG_ARGISNULL(1) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(1);
  const TimestampTz until = PG_ARGISNULL(2) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(2);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  Datum labels[2];
  status_labels(TupleDescAttr(result->setDesc, 2)->atttypid, labels);
  SpiScope spi;
  if (!reads_store_status(caller))
    throw UserError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "permission denied: sealed polls are read by those who may SELECT store_id, "
                    "status and timestamp_utc of store_monitoring.store_status");
  spi_execute(
      "SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=)"
      " 'store_monitoring.store_status'::pg_catalog.regclass",
      {}, true, 1);
  bool is_null = true;
  if (DatumGetBool(spi_value(0, 1, &is_null)))
    refuse_sealed_under_row_security("store_monitoring.store_status");
  // Days as the table keys them: those the time range touches.
  auto date_of = [](TimestampTz at, bool low) -> Datum {
    if (TIMESTAMP_NOT_FINITE(at)) return DateADTGetDatum(low ? DATEVAL_NOBEGIN : DATEVAL_NOEND);
    return DateADTGetDatum(segment_day(at + kPgEpochInUnixMicros) - kPgEpochInUnixDays);
  };
  std::string sql =
      "SELECT g.store_id, g.day, g.polls FROM store_monitoring.sealed_polls g"
      " WHERE g.day OPERATOR(pg_catalog.>=) $1 AND g.day OPERATOR(pg_catalog.<=) $2";
  if (one_store) sql += " AND g.store_id OPERATOR(pg_catalog.=) $3";
  sql += " ORDER BY g.store_id, g.day";
  SpiCursor rows(sql.c_str(), {{DATEOID, date_of(since, true)},
                               {DATEOID, date_of(until, false)},
                               {TEXTOID, one_store ? text_datum(store_id) : Datum(0), !one_store}});
  const Micros lo = TIMESTAMP_NOT_FINITE(since) ? std::numeric_limits<Micros>::min()
                                                : since + kPgEpochInUnixMicros;
  const Micros hi = TIMESTAMP_NOT_FINITE(until) ? std::numeric_limits<Micros>::max()
                                                : until + kPgEpochInUnixMicros;
  while (rows.next()) {
    bool null = true;
    const Datum id = rows.value(0, &null);
    const std::optional<int32_t> day = sealed_day(DatumGetDateADT(rows.value(1, &null)));
    const Datum packed = pg_call([&] {
      return PointerGetDatum(pg_detoast_datum_packed(
          reinterpret_cast<struct varlena*>(DatumGetPointer(rows.value(2, &null)))));
    });
    if (!day)
      throw UserError(ERRCODE_DATA_CORRUPTED, "the sealed polls of store " +
                                                  std::string(text_bytes(id)) +
                                                  " have a day out of range");
    // The id is copied into the result by the tuplestore.
    put_polls(result, *day, text_bytes(packed), &id, 1, labels, lo, hi);
  }
  return Datum(0);
}

// merge_polls(day, a, b): both rows' polls in one.
Datum merge_polls(FunctionCallInfo fcinfo) {
  const int32_t day = day_argument(fcinfo, 0);
  std::string merged;
  try {
    merged = merge_segments(day, packed_argument(fcinfo, 1), packed_argument(fcinfo, 2));
  } catch (const CorruptSegment& error) {
    throw_corrupt(error);
  } catch (const std::invalid_argument& error) {
    throw_corrupt(error);
  }
  return bytea_datum(merged);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_compact_polls, store_monitoring::pg::compact_polls)
SM_PG_FUNCTION(store_monitoring_poll_storage, store_monitoring::pg::poll_storage)
SM_PG_FUNCTION(store_monitoring_unpack_polls, store_monitoring::pg::unpack_polls)
SM_PG_FUNCTION(store_monitoring_merge_polls, store_monitoring::pg::merge_polls)
SM_PG_FUNCTION(store_monitoring_sealed_poll_rows, store_monitoring::pg::sealed_poll_rows)
