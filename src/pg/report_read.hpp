// Reading reports for a caller (report_read.cpp): shared by the readers.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>

namespace store_monitoring::pg {

// What a waiting caller needs to know of one report.
struct ReportStatus {
  std::string status;                  // Running, Complete or Failed
  bool triggered_in_this_transaction;  // its worker cannot start before commit
};

// The status of report `id` as the current user may see it, read in a fresh
// snapshot (so that a loop sees the worker's commit in READ COMMITTED).
// Raises the one "does not exist" error for ids unknown or not visible.
ReportStatus report_status_for_caller(text* id);

}  // namespace store_monitoring::pg
