#pragma once
// Serializing metadata values for the writer. Internal to src/gguf.
#include <string>
#include <string_view>

#include "gguf/gguf.h"

namespace kiln::gguf {

// Throws kiln::Error("key KEY: ...") unless `value` can be written and read back as is: a known
// type, data of the matching kind and range, arrays whose items all have the element type and
// nesting the reader accepts.
void check_writable(std::string_view key, const Value& value);

// Appends the little-endian encoding of a value (without its type id) to `out`.
void encode_value(std::string& out, const Value& value);
void encode_u32(std::string& out, uint32_t v);
void encode_u64(std::string& out, uint64_t v);
void encode_string(std::string& out, std::string_view s);

}  // namespace kiln::gguf
