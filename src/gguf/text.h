#pragma once
// Text from a file, made safe for a one-line message or a listing. Internal to src/gguf.
#include <cstddef>
#include <string>
#include <string_view>

namespace kiln::gguf {

// `s` with control bytes, backslash and DEL written as \n, \t, \\, \xNN, cut to about
// max_bytes with "..." appended when longer. Bytes >= 0x80 (UTF-8) pass unchanged.
std::string escaped(std::string_view s, size_t max_bytes = 120);

}  // namespace kiln::gguf
