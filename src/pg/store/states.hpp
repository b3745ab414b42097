// A report's status and its end's announcement: the one mapping between
// the status and the text report.status holds.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
}

#include <optional>
#include <string>
#include <string_view>

namespace store_monitoring::pg {

// A report's status; report.status holds status_text() of one of these.
enum class ReportStatus { Running, Complete, Failed };

const char* status_text(ReportStatus status);

std::optional<ReportStatus> status_from_text(std::string_view text);

// Where a report is in its life; report.phase holds phase_text() of one of
// these (the table's CHECK lists the same three).
enum class ReportPhase { queued, computing, done };

const char* phase_text(ReportPhase phase);

// The NOTIFY channel on which the end of every report is announced.
inline constexpr const char* kReportChannel = "store_monitoring_report";

// The label argument `arg` of a function: nullopt for NULL; refuses an
// empty label or one longer than 63 bytes.
std::optional<std::string> label_argument(FunctionCallInfo fcinfo, int arg);

}  // namespace store_monitoring::pg
