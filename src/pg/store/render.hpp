// Reading a Complete report's stored results: the compact bytes of
// src/core/report_codec.hpp in _store_monitoring_internal.report_output,
// rendered on read. Reports computed by version 1.0 (CSV in report.csv, rows
// in report_result) are still read as they were stored.
#pragma once

#include "core/report_codec.hpp"

extern "C" {
#include "postgres.h"
}

#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {

// The CSV of a Complete report, rendered from its stored results (or as 1.0
// stored it); nullopt when the report is not Complete. The caller has
// already checked that the report is visible to it.
std::optional<std::string> report_csv(std::string_view report_id);

// The decoded stored results `data` (a report_output.data datum) of report
// `report_id`; unreadable ones raise a clear error naming the report.
StoredReport stored_report(std::string_view report_id, Datum data);

}  // namespace store_monitoring::pg
