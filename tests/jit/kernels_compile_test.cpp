// rmsnorm.cuh, the JIT layer's own kernel, compiles with NVRTC (no GPU needed): the generic form
// of each variant the GPU test launches, for sm_90a and for sm_80 (the kernel stays sm_80
// compatible). The engine's specialized rmsnorm keys compile in tests/engine/kernel_set_test.cpp.
#include <gtest/gtest.h>

#include "compile_only.h"
#include "jit/builtin_kernels.h"

namespace kiln::jit {
namespace {

using testing::compile_only;

TEST(KernelsCompile, RmsnormVariantsCompileForSm90aAndSm80) {
  std::vector<KernelKey> keys;
  for (bool fuse : {false, true})
    for (bool out_f16 : {false, true})
      keys.push_back(rmsnorm_key({.n_embd = 4096, .fuse_residual = fuse, .out_f16 = out_f16}).generic());
  for (const char* arch : {"sm_90a", "sm_80"}) {
    Library library(compile_only(arch));
    const LoadSummary summary = library.precompile(keys);
    EXPECT_EQ(summary.compiled, 4) << arch;
    testing::print_compile_timing(summary);
  }
}

}  // namespace
}  // namespace kiln::jit
