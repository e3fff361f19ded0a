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
}

TEST(BuiltinKeys, RopeBaseIsAConstantOnlyWhenWhole) {
  EXPECT_EQ(rope_key({.head_dim = 128, .freq_base = 500000, .neox = false}).str(),
            "rope<head_dim=128,n_rot=128,freq_base=500000,neox=0,f16=0,threads=128>");
  EXPECT_EQ(rope_key({.head_dim = 128, .freq_base = 10000.5}).get("freq_base"), 0);
  EXPECT_EQ(rope_key({.head_dim = 64, .n_rot = 32}).get("n_rot"), 32);
  EXPECT_THROW(rope_key({.head_dim = 64, .n_rot = 66}), Error);
  EXPECT_THROW(rope_key({.head_dim = 63}), Error);
}

TEST(BuiltinKeys, MatvecTuningAndLaunch) {
  // llama-8b attn_q on 132 SMs: 16 tiles of 256 columns -> 4 warps; 8 rows per block still
  // leaves 512 blocks, and 4 warps x 3 stages x (8 x 288 + 1024) bytes fit in 48 KB.
  const KernelKey q = matvec_q8_0_key({.n_rows = 4096, .n_cols = 4096});
  EXPECT_EQ(q.str(), "matvec_q8_0<n_cols=4096,n_rows=4096,rows_per_block=8,threads=128,stages=3,x_f16=0>");
  EXPECT_EQ(q.dynamic_smem_bytes, 4 * 3 * (8 * 288 + 1024) + 16);
  // Few rows and short ones: one warp, one row per block, so every SM gets work.
  const KernelKey k = matvec_q8_0_key({.n_rows = 256, .n_cols = 1536});
  EXPECT_EQ(k.get("rows_per_block"), 1);
  EXPECT_EQ(k.get("threads"), 32);
  EXPECT_EQ(matvec_q8_0_key({.n_rows = 4096, .n_cols = 2880}).get("threads"), 96);
  // f16 x halves the x slice: with 4 stages, 8 rows need 4 x 4 x (2304 + 512) bytes = 45 KB.
  EXPECT_EQ(matvec_q8_0_key({.n_rows = 4096, .n_cols = 4096, .x_f16 = true, .stages = 4}).get("rows_per_block"), 8);
  EXPECT_EQ(matvec_q8_0_key({.n_rows = 4096, .n_cols = 4096, .stages = 4}).get("rows_per_block"), 4);
  const LaunchDims dims = matvec_q8_0_launch(q, 4097, 4096);
  EXPECT_EQ(dims.grid.x, 513u);
  EXPECT_EQ(dims.block.x, 128u);
  EXPECT_EQ(dims.smem_bytes, static_cast<size_t>(q.dynamic_smem_bytes));
  EXPECT_THROW(matvec_q8_0_key({.n_rows = 8, .n_cols = 48}), Error);
  EXPECT_THROW(matvec_q8_0_key({.n_rows = 8, .n_cols = 64, .stages = 9}), Error);
  // The generic key keeps the tuning and x type.
  EXPECT_EQ(q.generic().str(), "matvec_q8_0<n_cols=0,n_rows=0,rows_per_block=8,threads=128,stages=3,x_f16=0>");
}

}  // namespace
}  // namespace kiln::jit
