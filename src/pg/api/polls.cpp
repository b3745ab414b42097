// The poll store's SQL functions: compact_polls, poll_storage, unpack_polls
// (the polls view's reading of a sealed row) and merge_polls (compaction's
// merge of a late poll's day into its sealed row).
#include "core/poll_segment.hpp"
#include "pg/common/datum.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
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

#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr int32_t kPgEpochInUnixDays = POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE;

Oid store_status_oid() {
  Oid schema = pg_call([] { return get_namespace_oid("store_monitoring", false); });
  return pg_call([&] { return get_relname_relid("store_status", schema); });
}

// A sealed row's bytes, checked, as the core reads them.
std::string_view packed_argument(FunctionCallInfo fcinfo, int arg) {
  return text_bytes(PointerGetDatum(pg_call([&] { return PG_GETARG_BYTEA_PP(arg); })));
}

[[noreturn]] void throw_corrupt(const CorruptSegment& error) {
  throw UserError(ERRCODE_DATA_CORRUPTED,
                  std::string("not sealed polls this version wrote: ") + error.what());
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
  spi_execute(
      "SELECT pg_catalog.has_column_privilege($1, 'store_monitoring.store_status', 'store_id',"
      " 'SELECT') AND pg_catalog.has_column_privilege($1, 'store_monitoring.store_status',"
      " 'status', 'SELECT') AND pg_catalog.has_column_privilege($1,"
      " 'store_monitoring.store_status', 'timestamp_utc', 'SELECT')",
      {{OIDOID, ObjectIdGetDatum(caller)}}, true, 1);
  bool is_null = true;
  if (!DatumGetBool(spi_value(0, 1, &is_null)))
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
  const int32_t day = PG_GETARG_DATEADT(0) + kPgEpochInUnixDays;
  std::string_view packed = packed_argument(fcinfo, 1);
  ReturnSetInfo* result = materialized_rows(fcinfo);
  const Oid status_type = TupleDescAttr(result->setDesc, 1)->atttypid;
  Datum labels[2];  // PollStatus order: inactive, active
  pg_call_void([&] {
    labels[0] = DirectFunctionCall2(enum_in, CStringGetDatum("inactive"),
                                    ObjectIdGetDatum(status_type));
    labels[1] = DirectFunctionCall2(enum_in, CStringGetDatum("active"),
                                    ObjectIdGetDatum(status_type));
  });
  std::vector<Poll> polls;
  try {
    decode_segment(day, packed, polls);
  } catch (const CorruptSegment& error) {
    throw_corrupt(error);
  }
  pg_call_void([&] {
    Datum values[2];
    bool nulls[2] = {false, false};
    for (const Poll& poll : polls) {
      values[0] = TimestampTzGetDatum(poll.at - kPgEpochInUnixMicros);
      values[1] = labels[poll.status == PollStatus::active ? 1 : 0];
      tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
    }
  });
  return Datum(0);
}

// merge_polls(day, a, b): both rows' polls in one.
Datum merge_polls(FunctionCallInfo fcinfo) {
  const int32_t day = PG_GETARG_DATEADT(0) + kPgEpochInUnixDays;
  std::string merged;
  try {
    merged = merge_segments(day, packed_argument(fcinfo, 1), packed_argument(fcinfo, 2));
  } catch (const CorruptSegment& error) {
    throw_corrupt(error);
  }
  return pg_call([&] {
    bytea* out = static_cast<bytea*>(palloc(VARHDRSZ + merged.size()));
    SET_VARSIZE(out, VARHDRSZ + merged.size());
    memcpy(VARDATA(out), merged.data(), merged.size());
    return PointerGetDatum(out);
  });
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_compact_polls, store_monitoring::pg::compact_polls)
SM_PG_FUNCTION(store_monitoring_poll_storage, store_monitoring::pg::poll_storage)
SM_PG_FUNCTION(store_monitoring_unpack_polls, store_monitoring::pg::unpack_polls)
SM_PG_FUNCTION(store_monitoring_merge_polls, store_monitoring::pg::merge_polls)
