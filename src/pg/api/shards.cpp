// Shards' SQL functions: add_shard, remove_shard, shards (the catalog, see
// shards/catalog.hpp) and latest_poll (what report_time = 'latest' means on
// this node; a coordinator asks every shard for it).
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"
#include "pg/read/report_compute.hpp"
#include "pg/shards/catalog.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <optional>
#include <string>

namespace store_monitoring::pg {
namespace {

std::string name_argument(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "server must not be NULL");
  return NameStr(*PG_GETARG_NAME(0));
}

Datum add_shard(FunctionCallInfo fcinfo) {
  std::string name = name_argument(fcinfo);
  require_shard_admin();
  SpiScope spi;
  postgres_fdw_server(name);
  uint64 added = spi_execute(
      "INSERT INTO _store_monitoring_internal.shard (server) VALUES ($1) ON CONFLICT DO NOTHING",
      {{NAMEOID, CStringGetDatum(name.c_str())}}, false);
  if (added != 1)
    throw UserError(ERRCODE_DUPLICATE_OBJECT, "server \"" + name + "\" is already a shard");
  return static_cast<Datum>(0);
}

Datum remove_shard(FunctionCallInfo fcinfo) {
  std::string name = name_argument(fcinfo);
  require_shard_admin();
  SpiScope spi;
  uint64 removed = spi_execute(
      "DELETE FROM _store_monitoring_internal.shard WHERE server OPERATOR(pg_catalog.=) $1",
      {{NAMEOID, CStringGetDatum(name.c_str())}}, false);
  if (removed != 1)
    throw UserError(ERRCODE_UNDEFINED_OBJECT, "server \"" + name + "\" is not a shard");
  return static_cast<Datum>(0);
}

Datum list_shards(FunctionCallInfo fcinfo) {
  ReturnSetInfo* result = materialized_rows(fcinfo);
  SpiScope spi;
  uint64 rows = spi_execute(
      "SELECT server, added_at FROM _store_monitoring_internal.shard ORDER BY server", {}, true);
  pg_call([&] {
    for (uint64 i = 0; i < rows; ++i) tuplestore_puttuple(result->setResult, SPI_tuptable->vals[i]);
  });
  return static_cast<Datum>(0);
}

}  // namespace
}  // namespace store_monitoring::pg

// The newest poll the caller can see, or NULL: what report_time = 'latest'
// means on this node. A coordinator asks every shard for it.
SM_PG_FUNCTION(store_monitoring_latest_poll, [](FunctionCallInfo fcinfo) -> Datum {
  using namespace store_monitoring::pg;
  std::optional<TimestampTz> latest;
  Oid caller = GetUserId();  // before SpiScope acts as the table owner
  {
    SpiScope spi;
    latest = newest_poll_for(caller);
  }
  if (!latest) PG_RETURN_NULL();
  return TimestampTzGetDatum(*latest);
})
SM_PG_FUNCTION(store_monitoring_add_shard, store_monitoring::pg::add_shard)
SM_PG_FUNCTION(store_monitoring_remove_shard, store_monitoring::pg::remove_shard)
SM_PG_FUNCTION(store_monitoring_shards, store_monitoring::pg::list_shards)
