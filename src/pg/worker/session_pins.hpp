// Settings a database owner could set for its database (ALTER DATABASE ...
// SET) that would change who the report worker is or make its own
// statements fail: pinned back right after the worker connects.
#pragma once

namespace store_monitoring::pg {

// Call once, right after BackgroundWorkerInitializeConnection*, outside any
// transaction (it runs one for a catalog lookup). Errors are FATAL there:
// the worker exits before claiming anything.
void pin_worker_session();

}  // namespace store_monitoring::pg
