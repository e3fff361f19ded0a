#pragma once
// Warnings from the JIT layer (a cache that cannot be written, a corrupt entry removed) go
// through a hook, never an exception: the run goes on. The default prints to stderr.
#include <functional>
#include <string>

namespace kiln::jit {

using WarnFn = std::function<void(const std::string& message)>;

// Writes "kiln: warning: <message>" and a newline to stderr.
void warn_to_stderr(const std::string& message);

}  // namespace kiln::jit
