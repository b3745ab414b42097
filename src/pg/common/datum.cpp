#include "pg/common/datum.hpp"

#include <algorithm>

extern "C" {
#include "miscadmin.h"
#include "utils/datetime.h"
}

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

std::string iso_timestamp(TimestampTz value) {
  char buffer[MAXDATELEN + 1];
  pg_call([&] {
    pg_tm tm;
    fsec_t fsec;
    if (timestamp2tm(value, nullptr, &tm, &fsec, nullptr, nullptr) != 0)
      ereport(ERROR,
              (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range")));
    // Without a zone, timestamp2tm leaves tm_isdst negative, and
    // EncodeDateTime then leaves the offset out: the text would be read in
    // the reader's TimeZone (the shards' sessions are in UTC; report_status
    // readers are in any zone). Offset 0 is UTC.
    tm.tm_isdst = 0;
    EncodeDateTime(&tm, fsec, true, 0, nullptr, USE_ISO_DATES, buffer);
  });
  return buffer;
}

}  // namespace store_monitoring::pg
