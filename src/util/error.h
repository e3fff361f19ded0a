#pragma once
// One error type for everything a user can act on, and the helpers that build its message.
#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln {

// A failure with a one-line message naming what, where and the numbers. The CLI prints
// "kiln: <message>" and exits non-zero; nothing below the CLI prints or exits.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(cat(parts...));
}

}  // namespace kiln

// KILN_CHECK(cond, "message parts", value, ...): throws kiln::Error when cond is false.
#define KILN_CHECK(cond, ...)                       \
  do {                                              \
    if (!(cond)) ::kiln::fail(__VA_ARGS__);         \
  } while (0)
