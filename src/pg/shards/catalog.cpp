// The shard catalog (see catalog.hpp and docs/scale-out.md).
//
//
// The coordinator worker connects to every shard as the role that triggered
// the report, through that role's user mapping, like postgres_fdw does: the
// connection options are the foreign server's and the mapping's libpq
// options, and a role that is not a superuser must connect with a password
// unless a superuser set password_required 'false' on its mapping. Every
// shard then applies its own privileges and row-level security to the mapped
// role. All shards are driven at once: each step (connect, latest poll,
// trigger, wait, fetch) is sent to every shard and the worker waits on all
// their sockets together, up to store_monitoring.shard_timeout in all.
#include "pg/shards/catalog.hpp"

#include "pg/common/compat.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/pg_boundary.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/syscache.h"
}

#include <cstring>
#include <new>
#include <set>
#include <string_view>

namespace store_monitoring::pg {
namespace {

std::string role_name(Oid role) {
  const char* name = pg_call([&] { return GetUserNameFromId(role, true); });
  return name ? name : "(dropped role)";
}

// The server of shard `name` when `role` may use it; raises otherwise.
ForeignServer* usable_server(const std::string& name, Oid role) {
  ForeignServer* server = postgres_fdw_server(name);
  AclResult usage =
      pg_call([&] { return compat::foreign_server_aclcheck(server->serverid, role, ACL_USAGE); });
  if (usage != ACLCHECK_OK)
    throw UserError(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "role \"" + role_name(role) + "\" has no USAGE privilege on shard server \"" + name + "\"");
  bool mapped = pg_call([&] {
    return SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(role),
                                 ObjectIdGetDatum(server->serverid)) ||
           SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
                                 ObjectIdGetDatum(server->serverid));
  });
  if (!mapped)
    throw UserError(
        ERRCODE_UNDEFINED_OBJECT,
        "role \"" + role_name(role) + "\" has no user mapping for shard server \"" + name + "\"",
        "A report across shards connects to every shard as its triggering role's "
        "user mapping: CREATE USER MAPPING FOR ... SERVER " +
            name + " OPTIONS (user '...', password '...').");
  return server;
}

bool option_is_true(DefElem* option) {
  return pg_call([&] { return defGetBoolean(option); });
}

}  // namespace

// The server named `name` when it is a postgres_fdw server owned by a
// superuser or the extension's owner. A server's owner decides where every
// report connects (its options) and may add a PUBLIC user mapping, so any
// other owner could send every role's report, the superusers' included, to
// a server of its choice. Needs a connected SPI.
ForeignServer* postgres_fdw_server(const std::string& name) {
  ForeignServer* server = pg_call([&] { return GetForeignServerByName(name.c_str(), true); });
  if (server == nullptr)
    throw UserError(ERRCODE_UNDEFINED_OBJECT, "server \"" + name + "\" does not exist",
                    "Create it with CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw.");
  ForeignDataWrapper* fdw = pg_call([&] { return GetForeignDataWrapper(server->fdwid); });
  if (std::string_view(fdw->fdwname) != "postgres_fdw")
    throw UserError(ERRCODE_WRONG_OBJECT_TYPE, "server \"" + name +
                                                   "\" uses foreign-data wrapper \"" +
                                                   fdw->fdwname + "\", not postgres_fdw");
  Oid owner = server->owner;
  if (!pg_call([&] { return superuser_arg(owner); }) && owner != extension_owner())
    throw UserError(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        "server \"" + name + "\" is owned by role \"" + role_name(owner) +
            "\", which is neither a superuser nor the owner of extension "
            "store_monitoring",
        "Its owner decides where reports connect: ALTER SERVER " + name + " OWNER TO a superuser.");
  return server;
}

// Shards decide where every report reads: only superusers and the
// extension's owner (or its members) may change them.
void require_shard_admin() {
  Oid caller = GetUserId();
  if (pg_call([&] { return superuser_arg(caller); })) return;
  require_current_extension_version();  // before the owner means anything
  Oid owner = extension_owner();
  if (!pg_call([&] { return has_privs_of_role(caller, owner); }))
    throw UserError(ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "only a superuser or the owner of extension store_monitoring may change "
                    "shards");
}

std::vector<std::string> shard_names() {
  uint64 rows = spi_execute(
      "SELECT server::text FROM _store_monitoring_internal.shard ORDER BY server", {}, true);
  std::vector<std::string> names;
  for (uint64 i = 0; i < rows; ++i) {
    bool is_null = false;
    names.emplace_back(text_bytes(spi_value(i, 1, &is_null)));
  }
  return names;
}

// The server's and the user mapping's libpq options, as postgres_fdw builds
// them (options only postgres_fdw understands are not libpq keywords).
ConnectionOptions connection_options(const std::string& name, Oid role) {
  ForeignServer* server = usable_server(name, role);
  UserMapping* mapping = pg_call([&] { return GetUserMapping(role, server->serverid); });
  std::set<std::string> libpq_keywords;
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) throw std::bad_alloc();
  for (PQconninfoOption* option = defaults; option->keyword != nullptr; ++option)
    if (std::strchr(option->dispchar, 'D') == nullptr) libpq_keywords.insert(option->keyword);
  PQconninfoFree(defaults);
  for (const char* ours : {"fallback_application_name", "client_encoding", "replication"})
    libpq_keywords.erase(ours);

  ConnectionOptions result;
  bool has_password = false;
  for (List* options : {server->options, mapping->options}) {
    ListCell* cell;
    foreach (cell, options) {
      auto* option = static_cast<DefElem*>(lfirst(cell));
      std::string keyword = option->defname;
      if (keyword == "password_required") {
        result.password_required = option_is_true(option);
        continue;
      }
      if (!libpq_keywords.contains(keyword)) continue;
      std::string value = pg_call([&] { return defGetString(option); });
      if (keyword == "password" && !value.empty()) has_password = true;
      result.keywords.push_back(std::move(keyword));
      result.values.push_back(std::move(value));
    }
  }
  result.keywords.push_back("fallback_application_name");
  result.values.push_back("store_monitoring coordinator");
  result.keywords.push_back("client_encoding");
  result.values.push_back(pg_call([] { return GetDatabaseEncodingName(); }));
  if (pg_call([&] { return superuser_arg(role); })) result.password_required = false;
  // Without a password, a role that is not a superuser could borrow the
  // identity the coordinator's server has on the shard (trust, peer, a
  // .pgpass file): postgres_fdw refuses this, and so do we.
  if (result.password_required && !has_password)
    throw UserError(ERRCODE_S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED,
                    "password is required to connect to shard \"" + name + "\"",
                    "Roles that are not superusers must give a password in their user mapping "
                    "(or a superuser sets password_required 'false' on it, as for "
                    "postgres_fdw).");
  return result;
}

bool database_has_shards() {
  return spi_execute("SELECT 1 FROM _store_monitoring_internal.shard", {}, true, 1) > 0;
}

bool check_role_can_reach_shards(Oid role) {
  SpiScope spi;
  std::vector<std::string> names = shard_names();
  for (const std::string& name : names) usable_server(name, role);
  return !names.empty();
}

}  // namespace store_monitoring::pg
