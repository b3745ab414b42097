// Datums from and to C++ values: the one helper for each conversion.
#pragma once

#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
}

#include <string>
#include <string_view>

namespace store_monitoring::pg {

// A text datum (palloc'd in the current memory context) holding `value`.
inline Datum text_datum(std::string_view value) {
  return pg_call([&] {
    return PointerGetDatum(cstring_to_text_with_len(value.data(), static_cast<int>(value.size())));
  });
}

// A bytea datum (palloc'd in the current memory context) holding `bytes`.
inline Datum bytea_datum(std::string_view bytes) {
  return pg_call([&] {
    auto* value = static_cast<bytea*>(palloc(VARHDRSZ + bytes.size()));
    SET_VARSIZE(value, VARHDRSZ + bytes.size());
    memcpy(VARDATA(value), bytes.data(), bytes.size());
    return PointerGetDatum(value);
  });
}

// The bytes of a detoasted text value.
inline std::string_view text_bytes(Datum value) {
  auto* t = reinterpret_cast<text*>(DatumGetPointer(value));
  return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
}

// A text datum's bytes (detoasted first) as a string.
std::string text_string(Datum value);

// An interval in microseconds, as PostgreSQL compares intervals (a month is
// 30 days), clamped to int64.
int64 interval_us(const Interval* span);

// An instant in ISO format, in UTC with its offset and every microsecond:
// read back the same under any DateStyle and TimeZone.
std::string iso_timestamp(TimestampTz value);

}  // namespace store_monitoring::pg
