// Sources: the configured relations and their shape checks (the SQL
// functions set_sources, sources and check_sources are in api/sources.cpp).
#include "pg/read/sources.hpp"

#include "core/input_syntax.hpp"
#include "pg/common/compat.hpp"
#include "pg/common/extension.hpp"
#include "pg/common/spi.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include <initializer_list>
#include <string>

namespace store_monitoring::pg {
namespace {

struct Column {
  const char* name;
  const char* wanted;  // the accepted types, for messages
};

const char* const kStoreIdTypes = "text or character varying";

struct InputContract {
  const char* label;          // for messages: "polls"
  const char* default_table;  // in schema store_monitoring
  std::vector<Column> columns;
};

const InputContract& contract(Input input) {
  static const InputContract kContracts[] = {
      {"polls",
       "store_status",
       {{"store_id", kStoreIdTypes},
        {"status", "text, character varying or an enum with the labels active and inactive"},
        {"timestamp_utc", "timestamp with time zone"}}},
      {"business hours",
       "business_hours",
       {{"store_id", kStoreIdTypes},
        {"day_of_week", "smallint, integer or bigint"},
        {"start_time_local", "time without time zone"},
        {"end_time_local", "time without time zone"}}},
      {"time zones",
       "store_timezone",
       {{"store_id", kStoreIdTypes}, {"timezone_str", "text or character varying"}}},
  };
  return kContracts[static_cast<int>(input)];
}

bool is_text_type(Oid type) { return type == TEXTOID || type == VARCHAROID; }

std::string type_name(Oid type) {
  char* name = pg_call([&] { return format_type_be(type); });
  return name;
}

// The labels of enum `type`, in no particular order.
std::vector<std::pair<Oid, std::string>> enum_labels(Oid type) {
  std::vector<std::pair<Oid, std::string>> labels;
  CatCList* list = pg_call([&] { return SearchSysCacheList1(ENUMTYPOIDNAME, type); });
  // Released however the copy ends (emplace_back may throw bad_alloc); bare:
  // it only releases pins and raises no error.
  struct Release {
    CatCList* list;
    ~Release() { ReleaseSysCacheList(list); }
  } release{list};
  for (int i = 0; i < list->n_members; ++i) {
    auto* e = reinterpret_cast<Form_pg_enum>(GETSTRUCT(&list->members[i]->tuple));
    labels.emplace_back(e->oid, std::string(NameStr(e->enumlabel)));
  }
  return labels;
}

// Checks one column's type; fills the parts of `shape` that reading needs.
void check_column(SourceShape& shape, const Column& column, AttrNumber attnum) {
  Oid declared = pg_call([&] { return get_atttype(shape.relation, attnum); });
  Oid type = pg_call([&] { return getBaseType(declared); });  // a domain reads as its base
  std::string name = column.name;
  bool ok = false;
  if (name == "store_id" || name == "timezone_str") {
    ok = is_text_type(type);
  } else if (name == "status") {
    ok = is_text_type(type);
    if (!ok && pg_call([&] { return type_is_enum(type); })) {
      shape.status_is_enum = true;
      shape.enum_labels = enum_labels(type);
      for (const auto& [oid, label] : shape.enum_labels) {
        if (label == "active") shape.active_label = oid;
        if (label == "inactive") shape.inactive_label = oid;
      }
      ok = OidIsValid(shape.active_label) && OidIsValid(shape.inactive_label);
    }
  } else if (name == "timestamp_utc") {
    ok = type == TIMESTAMPTZOID;
  } else if (name == "day_of_week") {
    ok = type == INT2OID || type == INT4OID || type == INT8OID;
    shape.weekday_type = type;
  } else {
    ok = type == TIMEOID;
  }
  if (!ok)
    throw UserError(ERRCODE_DATATYPE_MISMATCH,
                    "column \"" + name + "\" of relation " + shape.name + " has type " +
                        type_name(declared) + ", but a report needs " + column.wanted,
                    "A view over the relation can cast the column to an accepted type.");
}

struct RelationFacts {
  bool exists;
  char kind;
  char persistence;
  Oid schema;
  char* name;
};

RelationFacts relation_facts(Oid relation) {
  RelationFacts facts{};
  pg_call([&] {
    // Locked before the look-up, so that the relation cannot be dropped or
    // renamed between this check and the read in the same transaction.
    LockRelationOid(relation, AccessShareLock);
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
    if (!HeapTupleIsValid(tuple)) return;
    auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    facts.exists = true;
    facts.kind = form->relkind;
    facts.persistence = form->relpersistence;
    facts.schema = form->relnamespace;
    facts.name =
        quote_qualified_identifier(get_namespace_name(form->relnamespace), NameStr(form->relname));
    ReleaseSysCache(tuple);
  });
  return facts;
}

}  // namespace

Oid default_source(Input input) {
  const char* table = contract(input).default_table;
  return pg_call([&] {
    Oid relation = get_relname_relid(table, get_namespace_oid("store_monitoring", false));
    if (!OidIsValid(relation))
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                      errmsg("table store_monitoring.%s is missing", table)));
    return relation;
  });
}

Sources configured_sources(Oid role) {
  Sources sources{};
  uint64 found = spi_execute(
      "SELECT polls, business_hours, time_zones FROM _store_monitoring_internal.sources "
      "WHERE role OPERATOR(pg_catalog.=) $1",
      {{OIDOID, ObjectIdGetDatum(role)}}, true, 1);
  for (Input input : kInputs) {
    int i = static_cast<int>(input);
    bool is_null = true;
    Datum value = found == 1 ? spi_value(0, i + 1, &is_null) : Datum(0);
    sources[i] = is_null ? default_source(input) : DatumGetObjectId(value);
  }
  return sources;
}

SourceShape check_source(Input input, Oid relation, Oid role) {
  const InputContract& wanted = contract(input);
  RelationFacts facts = relation_facts(relation);
  if (!facts.exists)
    throw UserError(ERRCODE_UNDEFINED_TABLE,
                    std::string("the relation chosen for ") + wanted.label + " (OID " +
                        std::to_string(relation) + ") no longer exists",
                    "Choose the sources again with store_monitoring.set_sources().");
  SourceShape shape;
  shape.input = input;
  shape.relation = relation;
  shape.name = facts.name;
  switch (facts.kind) {
    case RELKIND_RELATION:
    case RELKIND_VIEW:
    case RELKIND_MATVIEW:
    case RELKIND_PARTITIONED_TABLE:
    case RELKIND_FOREIGN_TABLE:
      break;
    default:
      throw UserError(ERRCODE_WRONG_OBJECT_TYPE,
                      "relation " + shape.name + " cannot be read for " + wanted.label +
                          ": it is not a table, view, materialized view, partitioned table or "
                          "foreign table");
  }
  if (facts.persistence == RELPERSISTENCE_TEMP)
    throw UserError(ERRCODE_WRONG_OBJECT_TYPE,
                    "relation " + shape.name + " cannot be read for " + wanted.label +
                        ": it is temporary, and the report's worker is another session");
  // PostgreSQL's own messages, as a SELECT would give them; column
  // privileges on the needed columns are enough. The schema is checked too:
  // a role can lose USAGE on it after choosing the relation.
  pg_call([&] {
    AclResult usage = compat::namespace_aclcheck(facts.schema, role, ACL_USAGE);
    if (usage != ACLCHECK_OK)
      aclcheck_error(usage, OBJECT_SCHEMA, get_namespace_name(facts.schema));
  });
  bool table_readable =
      pg_call([&] { return pg_class_aclcheck(relation, role, ACL_SELECT) == ACLCHECK_OK; });
  for (const Column& column : wanted.columns) {
    AttrNumber attnum = pg_call([&] { return get_attnum(relation, column.name); });
    if (attnum == InvalidAttrNumber)
      throw UserError(ERRCODE_UNDEFINED_COLUMN,
                      "relation " + shape.name + " has no column \"" + column.name + "\" (" +
                          column.wanted + "), which " + wanted.label + " need",
                      std::string("A view over the relation can rename a column: SELECT "
                                  "your_column AS ") +
                          column.name + ".");
    if (!table_readable)
      pg_call([&] {
        if (pg_attribute_aclcheck(relation, attnum, role, ACL_SELECT) != ACLCHECK_OK)
          aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(facts.kind), get_rel_name(relation));
      });
    check_column(shape, column, attnum);
  }
  return shape;
}

std::array<SourceShape, 3> check_sources(const Sources& sources, Oid role) {
  return {check_source(Input::polls, sources[0], role),
          check_source(Input::business_hours, sources[1], role),
          check_source(Input::time_zones, sources[2], role)};
}

std::optional<std::array<SourceShape, 3>> check_sources_without_waiting(const Sources& sources,
                                                                        Oid role) {
  for (Oid relation : sources)
    if (!pg_call([&] { return ConditionalLockRelationOid(relation, AccessShareLock); }))
      return std::nullopt;
  // Every relation is locked now: check_sources takes the same locks again
  // at once.
  return check_sources(sources, role);
}

std::string source_name(Oid relation) {
  char* name = pg_call([&] {
    char* relname = get_rel_name(relation);
    char* schema = relname ? get_namespace_name(get_rel_namespace(relation)) : nullptr;
    return schema ? quote_qualified_identifier(schema, relname) : nullptr;
  });
  return name ? std::string(name) : "OID " + std::to_string(relation);
}

}  // namespace store_monitoring::pg
