#include "pg/common/datum.hpp"

#include <algorithm>

namespace store_monitoring::pg {

std::string text_string(Datum value) {
  return std::string(
      text_bytes(pg_call([&] { return PointerGetDatum(PG_DETOAST_DATUM_PACKED(value)); })));
}

int64 interval_us(const Interval* span) {
  // As PostgreSQL compares intervals: a month is 30 days.
  __int128 total = static_cast<__int128>(span->month) * DAYS_PER_MONTH * USECS_PER_DAY +
                   static_cast<__int128>(span->day) * USECS_PER_DAY + span->time;
  return static_cast<int64>(std::clamp<__int128>(total, PG_INT64_MIN, PG_INT64_MAX));
}

}  // namespace store_monitoring::pg
