#pragma once
// The kiln::Error message a call throws, for tests that check what an error says.
#include <functional>
#include <string>

#include "util/error.h"

namespace kiln::test {

// The message `fn` throws as kiln::Error, or "" when it does not throw.
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace kiln::test
