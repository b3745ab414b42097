// The report worker's loop: takes a worker slot, claims and computes reports
// one by one until none is left.
#pragma once

namespace store_monitoring::pg {

// Serves this database's queue (the worker's whole life).
void serve_database();

}  // namespace store_monitoring::pg
