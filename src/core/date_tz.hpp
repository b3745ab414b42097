// The date library, included through this header only.
//
// Its headers change the layout and names of what they declare with
// USE_OS_TZDB, HAS_STRING_VIEW and ONLY_C_LOCALE, so these must be the values
// libdate-tz.so was built with (Debian's libhowardhinnant-date-dev: 1, 1, 1).
// They are set here, once, for both builds: the PGXS Makefile passes none,
// and CMake's imported date::date-tz target passes the same values, which the
// checks below hold it to.
#pragma once

#if (defined(USE_OS_TZDB) && USE_OS_TZDB != 1) || (defined(HAS_STRING_VIEW) && HAS_STRING_VIEW != 1) || \
    (defined(ONLY_C_LOCALE) && ONLY_C_LOCALE != 1)
#error "the date library's configuration differs from the one libdate-tz.so was built with"
#endif

#ifndef USE_OS_TZDB
#define USE_OS_TZDB 1
#endif
#ifndef HAS_STRING_VIEW
#define HAS_STRING_VIEW 1
#endif
#ifndef ONLY_C_LOCALE
#define ONLY_C_LOCALE 1
#endif

#include <date/date.h>
#include <date/tz.h>
