#pragma once
// GGUF container facts shared by the reader and the writer. Internal to src/gguf.
#include <cstdint>
#include <string_view>

#include "gguf/gguf.h"

namespace kiln::gguf::format {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kOldestVersion = 2;  // v1 had 32-bit counts; nobody writes it any more
inline constexpr uint32_t kNewestVersion = 3;
inline constexpr uint32_t kWrittenVersion = 3;
inline constexpr uint64_t kDefaultAlignment = 32;
inline constexpr std::string_view kAlignmentKey = "general.alignment";

// What the reader accepts beyond the format's own rules: bounds that keep a hostile file from
// driving the reader into deep recursion or huge allocations.
struct ReaderLimits {
  static constexpr int max_dims = 4;              // ggml's GGML_MAX_DIMS
  static constexpr int max_array_depth = 8;       // arrays of arrays of ... (real files use 1-2)
  // Elements over all metadata arrays; a 262k-token vocabulary with scores, types and merges
  // is ~1M. Each element costs a gguf::Value (~48 B) in memory.
  static constexpr uint64_t max_array_elements = uint64_t{1} << 24;
};

// Smallest possible encodings, used to reject a count before allocating for it.
inline constexpr uint64_t kStringLengthBytes = 8;
inline constexpr uint64_t kArrayHeaderBytes = 4 + 8;  // element type, count
// key length + value type + the smallest value (one byte)
inline constexpr uint64_t kMinKeyValueBytes = kStringLengthBytes + 4 + 1;
// name length + n_dims + one dim + type + offset
inline constexpr uint64_t kMinTensorInfoBytes = kStringLengthBytes + 4 + 8 + 4 + 8;

inline bool is_valid_value_type(uint32_t id) { return id <= static_cast<uint32_t>(ValueType::F64); }

// Encoded size of one value of a fixed-size type; for strings and arrays their smallest size.
inline uint64_t min_value_bytes(ValueType type) {
  switch (type) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
    case ValueType::STRING: return kStringLengthBytes;
    case ValueType::ARRAY: return kArrayHeaderBytes;
  }
  return 1;
}

inline bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace kiln::gguf::format
