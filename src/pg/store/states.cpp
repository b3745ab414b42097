#include "pg/store/states.hpp"

#include "pg/common/pg_boundary.hpp"

#include <array>

namespace store_monitoring::pg {
namespace {

constexpr std::array<const char*, 3> kStatusText = {"Running", "Complete", "Failed"};
constexpr std::array<const char*, 3> kPhaseText = {"queued", "computing", "done"};

constexpr int kMaxLabelBytes = 63;

}  // namespace

const char* status_text(ReportStatus status) { return kStatusText[static_cast<int>(status)]; }

const char* phase_text(ReportPhase phase) { return kPhaseText[static_cast<int>(phase)]; }

std::optional<ReportStatus> status_from_text(std::string_view text) {
  for (size_t i = 0; i < kStatusText.size(); ++i)
    if (text == kStatusText[i]) return static_cast<ReportStatus>(i);
  return std::nullopt;
}

std::optional<std::string> label_argument(FunctionCallInfo fcinfo, int arg) {
  if (PG_NARGS() <= arg || PG_ARGISNULL(arg)) return std::nullopt;
  text* label = PG_GETARG_TEXT_PP(arg);
  std::string value(VARDATA_ANY(label), VARSIZE_ANY_EXHDR(label));
  if (value.empty() || value.size() > kMaxLabelBytes)
    throw UserError(ERRCODE_INVALID_PARAMETER_VALUE, "label must be 1 to 63 bytes long");
  return value;
}

}  // namespace store_monitoring::pg
