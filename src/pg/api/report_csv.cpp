// report_csv(): a report's CSV as rows, split from the CSV text itself, so
// that COPY ... CSV HEADER writes it back byte for byte.
#include "core/report_engine.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/store/states.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <string>
#include <vector>

namespace store_monitoring::pg {
namespace {

constexpr size_t kColumns = 7;

// The CSV text of a complete report, read through get_report() as the caller
// (its visibility rules, whatever the storage behind it).
std::string complete_report_csv(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0))
    throw UserError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "report_id must not be NULL");
  Datum id = PointerGetDatum(PG_GETARG_TEXT_PP(0));
  SpiScope spi(GetUserId());
  spi_execute("SELECT status, csv FROM store_monitoring.get_report($1)", {{TEXTOID, id}}, false, 1);
  bool is_null = false;
  // Detoasted: a large CSV arrives as a pointer to its out-of-line value.
  auto bytes = [](Datum value) {
    return text_bytes(PointerGetDatum(pg_call([&] { return DatumGetTextPP(value); })));
  };
  std::string status(bytes(spi_value(0, 1, &is_null)));
  if (status != status_text(ReportStatus::Complete))
    throw UserError(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "report \"" + std::string(text_bytes(id)).substr(0, 64) + "\" is " + status +
                        ", not Complete");
  Datum csv = spi_value(0, 2, &is_null);
  if (is_null) throw UserError(ERRCODE_DATA_CORRUPTED, "the complete report has no CSV");
  return std::string(bytes(csv));
}

Datum report_csv_fields(FunctionCallInfo fcinfo) {
  std::vector<std::vector<std::string>> records;
  try {
    records = split_csv(complete_report_csv(fcinfo));
  } catch (const std::invalid_argument& e) {
    throw UserError(ERRCODE_DATA_CORRUPTED, e.what());
  }
  if (records.empty() || records[0].size() != kColumns)
    throw UserError(ERRCODE_DATA_CORRUPTED, "CSV: not a report's header line");
  pg_call([&] {
    InitMaterializedSRF(fcinfo, 0);
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (size_t r = 1; r < records.size(); ++r) {
      if (records[r].size() != kColumns)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
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

SM_PG_FUNCTION(store_monitoring_report_csv, store_monitoring::pg::report_csv_fields)
