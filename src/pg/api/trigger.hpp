// What the report readers (report_read.cpp) need from the triggering side.
#pragma once

#include <string_view>

namespace store_monitoring::pg {

// True when report_id was triggered by the current, uncommitted transaction
// (its worker starts only at commit).
bool triggered_in_this_transaction(std::string_view report_id);

// A Running report whose lock nobody holds has no worker: it is queued, or
// its worker died (or the server restarted). Starts one; it will also claim
// the others.
void resume_orphaned_reports();

}  // namespace store_monitoring::pg
