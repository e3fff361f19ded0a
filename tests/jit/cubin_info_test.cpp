// cubin_info reads ptxas's register count and stack frame from a cubin (no GPU needed): a real
// compile of the rmsnorm kernel, and images that are not cubins.
#include <gtest/gtest.h>

#include "jit/builtin_kernels.h"
#include "jit/compiler.h"
#include "jit/cubin_info.h"
#include "util/error.h"

namespace kiln::jit {
namespace {

CompiledKernel compile_rmsnorm() {
  const KernelKey key = rmsnorm_key({.n_embd = 4096, .out_f16 = true});
  return compile_kernel(key, SourceSet::builtin(), compile_flags("sm_90a"));
}

TEST(CubinInfo, ReadsRegistersAndStackOfACompiledKernel) {
  const CubinInfo info = cubin_info(compile_rmsnorm().cubin);
  EXPECT_GE(info.registers, 16);   // a 256-thread row reduction with float4 loads needs some
  EXPECT_LE(info.registers, 255);
  EXPECT_EQ(info.stack_bytes, 0);  // nothing to spill
}

TEST(CubinInfo, RefusesWhatIsNotACubin) {
  EXPECT_THROW(cubin_info(""), Error);
  EXPECT_THROW(cubin_info(std::string(64, 'x')), Error);
  const std::string cubin = compile_rmsnorm().cubin;
  EXPECT_THROW(cubin_info(std::string_view(cubin).substr(0, 200)), Error);  // sections cut off
  std::string hostile = cubin;
  for (int i = 0; i < 8; ++i) hostile[0x28 + i] = char(0xff);  // section table offset near 2^64
  hostile[0x28] = char(0xf8);
  EXPECT_THROW(cubin_info(hostile), Error);
}

}  // namespace
}  // namespace kiln::jit
