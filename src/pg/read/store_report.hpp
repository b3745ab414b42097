// One store's row of a report, computed at once in the caller's transaction
// (store_report), from the caller's sources read as the caller.
#pragma once

#include "core/report_engine.hpp"
#include "pg/common/settings.hpp"

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include <optional>
#include <string_view>

namespace store_monitoring::pg {

// The store's durations for T = as_of (nullopt: latest, the newest poll of
// the caller's polls source, else `no_polls_as_of`), or nullopt when no
// source has a row for the store (a report would give it no row). Checks the
// sources and the store's rows as a report does, with the same errors.
std::optional<StoreDurations> compute_store_now(std::string_view store_id,
                                                std::optional<TimestampTz> as_of,
                                                TimestampTz no_polls_as_of,
                                                int64 max_extrapolation_us,
                                                InterpolationSetting interpolation, Oid role);

}  // namespace store_monitoring::pg
