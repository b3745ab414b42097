// The error text a report stores (report.error): bounded, so that a role's
// source cannot make its Failed reports hold as much as its errors say.
#pragma once

#include <string>
#include <string_view>

namespace store_monitoring::pg {

// Bytes of a message kept in report.error, before the marker.
inline constexpr size_t kStoredErrorBytes = 8192;

// `message` clipped to kStoredErrorBytes at a character boundary, with
// " ... (message clipped)" appended when it was longer.
std::string stored_error(std::string_view message);

}  // namespace store_monitoring::pg
