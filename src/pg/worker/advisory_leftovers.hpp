// Session-level advisory locks a role's code took during a read
// (pg_advisory_lock() in a view or function): the read is the role's, the
// process is not, so none of them may outlive the report.
#pragma once

namespace store_monitoring::pg {

// Releases, as many times as held, every session-level advisory lock of
// this process in the tag spaces SQL functions use (pg_advisory_lock and
// its relatives, exclusive and shared), and none of the worker's own (their
// private tag space, worker.hpp). Call between transactions (transaction-
// level ones are gone by then). Throws PgError.
void release_sql_advisory_locks();

}  // namespace store_monitoring::pg
