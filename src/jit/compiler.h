#pragma once
// NVRTC: one kernel key -> one cubin for one arch. No caching here (see library.h).
#include <string>
#include <vector>

#include "jit/key.h"
#include "jit/sources.h"

namespace kiln::jit {

struct CompiledKernel {
  std::string cubin;         // ELF image for cudaLibraryLoadData
  std::string lowered_name;  // the mangled name of the template instance
  std::string log;           // NVRTC's log (warnings), usually empty
  double compile_ms = 0;
};

// NVRTC's version, "13.0": part of every cache key.
std::string nvrtc_version();

// The flags every kernel is compiled with for `arch`, then `extra`:
//   -arch=sm_90a -std=c++17 -default-device
// (no --use_fast_math: kernels pick fast intrinsics explicitly).
std::vector<std::string> compile_flags(const std::string& arch, const std::vector<std::string>& extra = {});

// The CUDA toolkit's include directory (holding cuda_fp16.h), for kernels that include toolkit
// headers: $CUDA_HOME/include, $CUDA_PATH/include, next to the loaded libnvrtc, then
// /usr/local/cuda/include. Throws kiln::Error listing where it looked when none has it.
const std::string& toolkit_include_dir();

// Compiles key.name_expression() from key.file of `sources` with `flags`. Adds
// --include-path=<toolkit>/include only when the file's includes reach a <...> header.
// Throws kiln::Error "<key> (<arch>): NVRTC compile failed" followed by NVRTC's log.
CompiledKernel compile_kernel(const KernelKey& key, const SourceSet& sources, const std::vector<std::string>& flags);

}  // namespace kiln::jit
