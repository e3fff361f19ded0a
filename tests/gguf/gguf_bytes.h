#pragma once
// Builds GGUF images byte by byte for tests (independent of gguf::Writer, so the reader is
// tested against the format, not against our own writer).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "util/error.h"

namespace kiln::gguf::test {

struct GgufBytes {
  std::vector<uint8_t> bytes;

  template <class T>
  GgufBytes& put(T v) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    bytes.insert(bytes.end(), raw, raw + sizeof(T));
    return *this;
  }
  GgufBytes& u8(uint8_t v) { return put(v); }
  GgufBytes& u32(uint32_t v) { return put(v); }
  GgufBytes& u64(uint64_t v) { return put(v); }
  GgufBytes& i64(int64_t v) { return put(v); }
  GgufBytes& str(std::string_view s) {
    u64(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    bytes.insert(bytes.end(), n, 0);
    return *this;
  }
  GgufBytes& pad_to(uint64_t alignment) { return zeros((alignment - bytes.size() % alignment) % alignment); }

  // "GGUF", version, tensor count, metadata count.
  GgufBytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  // key + value type id; the caller appends the value.
  GgufBytes& key(std::string_view k, ValueType type) { return str(k).u32(static_cast<uint32_t>(type)); }
  GgufBytes& kv_u32(std::string_view k, uint32_t v) { return key(k, ValueType::U32).u32(v); }
  GgufBytes& kv_str(std::string_view k, std::string_view v) { return key(k, ValueType::STRING).str(v); }
  GgufBytes& tensor_info(std::string_view name, const std::vector<int64_t>& dims, uint32_t type,
                         uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (int64_t d : dims) i64(d);
    return u32(type).u64(offset);
  }
  std::span<const uint8_t> span() const { return bytes; }
};

// The kiln::Error message of parsing `bytes`, or "" when it parses.
inline std::string parse_error(std::span<const uint8_t> bytes, std::string name = "model.gguf") {
  try {
    File::parse(bytes, std::move(name));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace kiln::gguf::test
