#pragma once
// The kernel sources of src/kernels/, compiled into the binary by cmake/embed_kernels.cmake.
#include <string_view>
#include <vector>

namespace kiln::jit {

struct EmbeddedSource {
  std::string_view name;  // file name, e.g. "rmsnorm.cuh"
  std::string_view text;
};

const std::vector<EmbeddedSource>& embedded_sources();

}  // namespace kiln::jit
