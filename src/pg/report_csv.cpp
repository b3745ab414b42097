// report_csv(): a report's CSV as rows, split from the CSV text itself, so
// that COPY ... CSV HEADER writes it back byte for byte.
#include "core/report_engine.hpp"
#include "pg/extension.hpp"
#include "pg/pg_boundary.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr size_t kColumns = 7;

Datum csv_rows(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "csv must not be NULL");
  std::vector<std::vector<std::string>> records;
  try {
    records = split_csv(text_bytes(PointerGetDatum(PG_GETARG_TEXT_PP(0))));
  } catch (const std::invalid_argument& e) {
    throw UserError(ERRCODE_INVALID_TEXT_REPRESENTATION, e.what());
  }
  if (records.empty() || records[0].size() != kColumns)
    throw UserError(ERRCODE_INVALID_TEXT_REPRESENTATION, "CSV: not a report's header line");
  pg_call([&] {
    InitMaterializedSRF(fcinfo, 0);
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (size_t r = 1; r < records.size(); ++r) {
      if (records[r].size() != kColumns)
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("CSV: line %zu has %zu fields, not 7", r + 1, records[r].size())));
      Datum values[kColumns];
      bool nulls[kColumns] = {};
      for (size_t c = 0; c < kColumns; ++c)
        values[c] = PointerGetDatum(
            cstring_to_text_with_len(records[r][c].data(), static_cast<int>(records[r][c].size())));
      tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
    }
  });
  return static_cast<Datum>(0);
}

}  // namespace
}  // namespace store_monitoring::pg

SM_PG_FUNCTION(store_monitoring_csv_rows, store_monitoring::pg::csv_rows)
