#include <gtest/gtest.h>

#include <cstdlib>

#include "jit/builtin_kernels.h"
#include "jit/key.h"
#include "util/error.h"

namespace kiln::jit {
namespace {

KernelKey sample_key() {
  KernelKey key;
  key.kernel = "rmsnorm";
  key.file = "rmsnorm.cuh";
  key.constants = {{"n_embd", 4096, ConstKind::shape}, {"fuse_residual", 1, ConstKind::variant},
                   {"threads", 256, ConstKind::tuning}};
  return key;
}

TEST(KernelKey, PrintsNamesAndValues) {
  EXPECT_EQ(sample_key().str(), "rmsnorm<n_embd=4096,fuse_residual=1,threads=256>");
  EXPECT_EQ(sample_key().name_expression(), "rmsnorm<4096,1,256>");
}

TEST(KernelKey, GenericZeroesShapesOnly) {
  const KernelKey generic = sample_key().generic();
  EXPECT_EQ(generic.str(), "rmsnorm<n_embd=0,fuse_residual=1,threads=256>");
  EXPECT_EQ(sample_key().for_mode(Mode::specialized).str(), sample_key().str());
  EXPECT_EQ(sample_key().for_mode(Mode::generic).str(), generic.str());
}

TEST(KernelKey, GetNamesTheKeyWhenAbsent) {
  EXPECT_EQ(sample_key().get("threads"), 256);
  try {
    sample_key().get("head_dim");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rmsnorm<n_embd=4096"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("head_dim"), std::string::npos) << e.what();
  }
}

TEST(Mode, ParsesAndReadsEnv) {
  EXPECT_EQ(parse_mode("generic"), Mode::generic);
  EXPECT_EQ(parse_mode("specialized"), Mode::specialized);
  EXPECT_THROW(parse_mode("fast"), Error);
  ::setenv("KILN_JIT", "generic", 1);
  EXPECT_EQ(mode_from_env(), Mode::generic);
  ::setenv("KILN_JIT", "bogus", 1);
  EXPECT_THROW(mode_from_env(), Error);
  ::unsetenv("KILN_JIT");
  EXPECT_EQ(mode_from_env(), Mode::specialized);
}

TEST(BuiltinKeys, RmsnormThreadsHeuristic) {
  EXPECT_EQ(rmsnorm_key({.n_embd = 4096}).str(), "rmsnorm<n_embd=4096,fuse_residual=0,out_f16=0,threads=256>");
  EXPECT_EQ(rmsnorm_key({.n_embd = 128}).get("threads"), 32);
  EXPECT_EQ(rmsnorm_key({.n_embd = 2880}).get("threads"), 192);
  EXPECT_EQ(rmsnorm_key({.n_embd = 100000}).get("threads"), 1024);
  EXPECT_THROW(rmsnorm_key({.n_embd = 0}), Error);
  EXPECT_THROW(rmsnorm_key({.n_embd = 64, .threads = 48}), Error);
  const LaunchDims dims = rmsnorm_launch(rmsnorm_key({.n_embd = 2880}), 7);  // a block per row
  EXPECT_EQ(dims.grid.x, 7u);
  EXPECT_EQ(dims.block.x, 192u);
  EXPECT_EQ(dims.smem_bytes, 0u);
}

}  // namespace
}  // namespace kiln::jit
