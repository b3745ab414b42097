// The bytes a split read's participants exchange (parallel_range_read.cpp,
// parallel_store_order_read.cpp): plain values appended to and taken from a
// message, and a source's shape, which a parallel worker cannot look up as
// the report's process did (check_sources runs once, there).
#pragma once

#include "pg/read/sources.hpp"

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace store_monitoring::pg {

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T take(std::string_view message, size_t& at) {
  if (message.size() - at < sizeof(T)) throw std::runtime_error("a truncated split read message");
  T value;
  std::memcpy(&value, message.data() + at, sizeof(T));
  at += sizeof(T);
  return value;
}

inline void put_bytes(std::string& out, std::string_view bytes) {
  put(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

inline std::string_view take_bytes(std::string_view message, size_t& at) {
  const auto length = take<uint32_t>(message, at);
  if (message.size() - at < length) throw std::runtime_error("a truncated split read message");
  std::string_view bytes = message.substr(at, length);
  at += length;
  return bytes;
}

// The status enum's labels: per label its OID and its bytes.
inline void put_labels(std::string& out, const SourceShape& source) {
  put(out, static_cast<uint32_t>(source.enum_labels.size()));
  for (const auto& [oid, label] : source.enum_labels) {
    put(out, static_cast<uint32_t>(oid));
    put_bytes(out, label);
  }
}

inline void take_labels(std::string_view message, size_t& at, SourceShape& source) {
  for (auto count = take<uint32_t>(message, at); count > 0; --count) {
    const auto oid = take<uint32_t>(message, at);
    source.enum_labels.emplace_back(static_cast<Oid>(oid), std::string(take_bytes(message, at)));
  }
}

}  // namespace store_monitoring::pg
