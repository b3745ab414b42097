#include "pg/spi.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace store_monitoring::pg {

uint64 spi_execute(const char* sql, std::initializer_list<SqlArg> args, bool read_only,
                   long row_limit) {
  constexpr int kMaxArgs = 16;
  Oid types[kMaxArgs];
  Datum values[kMaxArgs];
  char nulls[kMaxArgs];
  int count = 0;
  for (const SqlArg& arg : args) {
    if (count == kMaxArgs) throw std::logic_error("too many SQL arguments");
    types[count] = arg.type;
    values[count] = arg.value;
    nulls[count] = arg.is_null ? 'n' : ' ';
    ++count;
  }
  int result = pg_call([&] {
    return SPI_execute_with_args(sql, count, types, values, nulls, read_only, row_limit);
  });
  if (result < 0)
    throw std::runtime_error(std::string("SPI failed: ") + SPI_result_code_string(result));
  return SPI_processed;
}

Datum spi_value(uint64 row, int column, bool* is_null) {
  return pg_call([&] {
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, is_null);
  });
}

PinnedSearchPath::PinnedSearchPath() {
  nest_level_ = pg_call([] {
    int level = NewGUCNestLevel();
    (void)set_config_option("search_path", kSafeSearchPath, PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_SAVE, true, 0, false);
    return level;
  });
}

PinnedSearchPath::~PinnedSearchPath() { AtEOXact_GUC(true, nest_level_); }

}  // namespace store_monitoring::pg
