#include "pg/store/stored_error.hpp"

#include "pg/common/pg_boundary.hpp"

extern "C" {
#include "postgres.h"

#include "mb/pg_wchar.h"
}

namespace store_monitoring::pg {

std::string stored_error(std::string_view message) {
  if (message.size() <= kStoredErrorBytes) return std::string(message);
  int kept = pg_call([&] {
    return pg_mbcliplen(message.data(), static_cast<int>(message.size()),
                        static_cast<int>(kStoredErrorBytes));
  });
  return std::string(message.substr(0, static_cast<size_t>(kept))) + " ... (message clipped)";
}

}  // namespace store_monitoring::pg
