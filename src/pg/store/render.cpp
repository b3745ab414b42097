#include "pg/store/render.hpp"

#include "pg/common/spi.hpp"
#include "pg/store/states.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

namespace store_monitoring::pg {
namespace {

std::string_view detoasted_bytes(Datum value) {
  auto* bytes = pg_call([&] { return reinterpret_cast<varlena*>(PG_DETOAST_DATUM_PACKED(value)); });
  return {VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes)};
}

// `read` (decode_report or render_csv) of the stored results of a report.
template <typename Read>
auto read_stored(std::string_view report_id, Datum data, Read read) {
  try {
    return read(detoasted_bytes(data));
  } catch (const CorruptReport& error) {
    throw UserError(ERRCODE_DATA_CORRUPTED, "the stored results of report \"" +
                                                std::string(report_id) +
                                                "\" are unreadable: " + error.what());
  }
}

}  // namespace

std::optional<std::string> report_csv(std::string_view report_id) {
  SpiScope spi;
  uint64 found = spi_execute(
      "SELECT r.status, o.data, r.csv FROM _store_monitoring_internal.report r "
      "LEFT JOIN _store_monitoring_internal.report_output o USING (report_id) "
      "WHERE r.report_id OPERATOR(pg_catalog.=) $1",
      {{TEXTOID, text_datum(report_id)}}, true, 1);
  if (found == 0) return std::nullopt;
  bool is_null = false;
  if (text_string(spi_value(0, 1, &is_null)) != status_text(ReportStatus::Complete))
    return std::nullopt;
  Datum data = spi_value(0, 2, &is_null);
  if (!is_null)
    return read_stored(report_id, data, [](std::string_view bytes) { return render_csv(bytes); });
  // Computed by version 1.0: its CSV was stored as text.
  Datum legacy = spi_value(0, 3, &is_null);
  if (is_null) return std::nullopt;
  return text_string(legacy);
}

StoredReport stored_report(std::string_view report_id, Datum data) {
  return read_stored(report_id, data, [](std::string_view bytes) { return decode_report(bytes); });
}

}  // namespace store_monitoring::pg
