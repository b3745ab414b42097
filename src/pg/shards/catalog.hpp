// The shard catalog: which postgres_fdw servers are this database's shards,
// who may change them, and the libpq options a role connects to one with.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "foreign/foreign.h"
}

#include <string>
#include <vector>

namespace store_monitoring::pg {

// True when this database has shards. Needs a transaction and SPI.
bool database_has_shards();

// At trigger time: false without shards; with shards, checks that `role` may
// use every shard's server and has a user mapping for it (raising a clear
// error otherwise) and returns true. Connects nowhere.
bool check_role_can_reach_shards(Oid role);

// Raises unless the caller is a superuser or has the privileges of the
// extension's owner: shards decide where every report reads.
void require_shard_admin();

// The postgres_fdw server `name`, checked as a shard's server must be
// (owned by a superuser or the extension's owner); raises otherwise. Needs
// a connected SPI.
ForeignServer* postgres_fdw_server(const std::string& name);

// The shards' server names, in order. Needs a connected SPI.
std::vector<std::string> shard_names();

struct ConnectionOptions {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  bool password_required = true;  // checked again once connected
};

// The libpq options with which `role` connects to shard `name` (its user
// mapping's); raises when it may not.
ConnectionOptions connection_options(const std::string& name, Oid role);

}  // namespace store_monitoring::pg
