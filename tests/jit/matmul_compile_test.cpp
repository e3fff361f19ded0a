// gemm_q8_0, matvec_q8r_stream and matvec_q8r compile with NVRTC (no GPU needed). The engine's own
// keys (the dense presets' products, every token bucket, both builds) compile in
// tests/engine/kernel_set_test.cpp; here, the epilogues that set leaves out but
// tests/gpu/matmul_test.cpp launches (f16 out, add_f32 with a bias, with and without the norm,
// gated gelu_tanh with biases; the stream mat-vec also with its input norm), as both mat-vecs and the wgmma GEMM, and the mma.sync GEMM and
// the mat-vec for sm_80. Also the key strings, which mat-vec a shape gets, and the tile heuristic.
#include <gtest/gtest.h>

#include "compile_only.h"
#include "engine/matmul.h"

namespace kiln::engine {
namespace {

using jit::KernelKey;
using jit::testing::compile_only;

TEST(MatmulCompile, KeysNameTheirShapeAndTiles) {
  const MatmulShape down{4096, 14336, MatmulOut::add_f32, MatmulAct::none, false};
  EXPECT_EQ(matmul_key(down, 1).str(),
            "matvec_q8r_stream<k=14336,n=4096,out_kind=2,act=0,has_bias=0,norm=0,max_tokens=1,consumers=8,chunk=2048,"
            "stages=3,in_norm=0>");
  // matvec_q8r where the stream kernel cannot go: k not a multiple of 256, a partial 16-row tile
  // (gated: 8), sm_80 (no TMA), or when asked.
  MatmulTuning blocks;
  blocks.stream = 0;
  EXPECT_EQ(matmul_key(down, 1, {}, blocks).str(),
            "matvec_q8r<k=14336,n=4096,out_kind=2,act=0,has_bias=0,norm=0,max_tokens=1,warps=8,unroll=2,min_blocks=2,prefetch_kib=4096>");
  EXPECT_EQ(matmul_key({4096, 4160, MatmulOut::f16}, 1).kernel, "matvec_q8r");
  EXPECT_EQ(matmul_key({4104, 4096, MatmulOut::f16}, 1).kernel, "matvec_q8r");
  EXPECT_EQ(matmul_key({4104, 4096, MatmulOut::gated_f16, MatmulAct::silu}, 1).kernel, "matvec_q8r_stream");
  EXPECT_EQ(matmul_key({4100, 4096, MatmulOut::gated_f16, MatmulAct::silu}, 1).kernel, "matvec_q8r");
  EXPECT_EQ(matmul_key(down, 1, {132, 8}).kernel, "matvec_q8r");
  // A ring that does not fit in shared memory is refused.
  MatmulTuning huge;
  huge.chunk = 8192;
  huge.stream_stages = 4;
  EXPECT_THROW(matmul_key(down, 1, {}, huge), Error);
  // matvec_q8r: one trip of 3 groups a warp (k = 1536): the 3-block register budget; 4 groups
  // (k = 2048) take two trips of 2.
  const KernelKey one_trip = matmul_key({1536, 1536, MatmulOut::f32, MatmulAct::none, false}, 1, {}, blocks);
  EXPECT_EQ(one_trip.get("unroll"), 3);
  EXPECT_EQ(one_trip.get("min_blocks"), 3);
  EXPECT_EQ(matmul_key({2048, 2048, MatmulOut::f32, MatmulAct::none, false}, 1, {}, blocks).get("unroll"), 2);
  const KernelKey gemm = matmul_key(down, 512);
  EXPECT_EQ(gemm.kernel, "gemm_q8_0");
  EXPECT_EQ(gemm.get("wgmma"), 1);
  EXPECT_EQ(gemm.get("tile_m"), 128);  // 32 weight tiles x 4 token tiles = 128 CTAs: one wave of 132
  EXPECT_EQ(gemm.generic().get("k"), 0);
  EXPECT_EQ(matmul_key(down, 9).get("tile_m"), 16);
  EXPECT_EQ(gemm.get("tma"), 1);
  // gate+up: 224 weight tiles; 256-token tiles take 4 waves, 128-token ones 7 (measured faster: 256).
  EXPECT_EQ(matmul_key({14336, 4096, MatmulOut::gated_f16, MatmulAct::silu, false}, 512).get("tile_m"), 256);
  EXPECT_EQ(matmul_key(down, 512, {132, 8}).get("wgmma"), 0);  // sm_80: mma.sync
  // Every bucket of m has a key, the decode ones are the mat-vec.
  const auto keys = matmul_keys(down, 512);
  EXPECT_EQ(keys.front().kernel, "matvec_q8r_stream");
  EXPECT_EQ(keys.back().str(), gemm.str());
  EXPECT_THROW(matmul_key({4096, 100, MatmulOut::f16, MatmulAct::none, false}, 1), Error);
  EXPECT_THROW(matmul_key({4096, 4096, MatmulOut::f16, MatmulAct::silu, false}, 1), Error);
  // The norm epilogue: the mat-vec's (m <= 8), after a residual add only.
  EXPECT_TRUE(matmul_is_matvec(8));
  EXPECT_FALSE(matmul_is_matvec(9));
  MatmulShape down_norm = down;
  down_norm.norm = true;
  EXPECT_EQ(matmul_key(down_norm, 1).get("norm"), 1);
  EXPECT_THROW(matmul_key(down_norm, 9), Error);
  EXPECT_THROW(matmul_key({.n = 4096, .k = 4096, .out = MatmulOut::f32, .norm = true}, 1), Error);
  // The input norm: only matvec_q8r_stream's, where the shape, the target and shared memory allow.
  MatmulShape qkv{.n = 6144, .k = 4096, .out = MatmulOut::f32};
  EXPECT_TRUE(matvec_takes_norm(qkv, 8, {}));
  EXPECT_FALSE(matvec_takes_norm(qkv, 1, {132, 8}));                                        // sm_80
  EXPECT_FALSE(matvec_takes_norm({.n = 6144, .k = 4160, .out = MatmulOut::f32}, 1, {}));     // k % 256
  EXPECT_FALSE(matvec_takes_norm({.n = 6144, .k = 16384, .out = MatmulOut::f32}, 8, {}));    // 8 rows of 32 KB
  EXPECT_TRUE(matvec_takes_norm({.n = 6144, .k = 16384, .out = MatmulOut::f32}, 1, {}));
  qkv.in_norm = true;
  EXPECT_EQ(matmul_key(qkv, 1).get("in_norm"), 1);
  EXPECT_EQ(matmul_key(qkv, 1).dynamic_smem_bytes, matvec_stream_smem_bytes(2048, 3, 8, 1, 4096));
  EXPECT_THROW(matmul_key(qkv, 1, {}, blocks), Error);  // matvec_q8r
  EXPECT_THROW(matmul_key(qkv, 9), Error);              // gemm_q8_0
  EXPECT_THROW(matmul_key(qkv, 1, {132, 8}), Error);
  // At least one ring of 116 KB whatever the tuning, so that two never share an SM.
  MatmulTuning small;
  small.chunk = 256;
  small.stream_stages = 2;
  EXPECT_EQ(matmul_key(down, 1, {}, small).dynamic_smem_bytes, kMatvecStreamMinSmem);
}

TEST(MatmulCompile, EpiloguesBeyondTheEnginesCompileForSm90a) {
  jit::Library library(compile_only("sm_90a"));
  MatmulTuning blocks;
  blocks.stream = 0;
  std::vector<KernelKey> keys;
  for (const MatmulShape& s : {MatmulShape{4096, 4096, MatmulOut::f16, MatmulAct::none, false},
                               MatmulShape{4096, 4096, MatmulOut::add_f32, MatmulAct::none, true},
                               MatmulShape{4096, 4096, MatmulOut::add_f32, MatmulAct::none, true, true},
                               MatmulShape{4096, 4096, MatmulOut::gated_f16, MatmulAct::gelu_tanh, true}})
    for (int m : {1, 512}) {  // the mat-vecs, the wgmma GEMM (which has no norm epilogue)
      if (m == 1 || !s.norm) keys.push_back(matmul_key(s, m).generic());
      if (m == 1) keys.push_back(matmul_key(s, m, {}, blocks).generic());
      if (m == 1) {  // the stream mat-vec normalizing its input
        MatmulShape normed = s;
        normed.in_norm = true;
        keys.push_back(matmul_key(normed, m).generic());
      }
    }
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, static_cast<int>(keys.size()));
  jit::testing::print_compile_timing(summary);
}

TEST(MatmulCompile, MmaSyncGemmCompilesForSm80) {
  jit::Library library(compile_only("sm_80"));
  std::vector<KernelKey> keys;
  for (int m : {16, 64, 512})
    for (MatmulOut out : {MatmulOut::f16, MatmulOut::add_f32, MatmulOut::gated_f16}) {
      const MatmulShape s{4096, 4096, out, out == MatmulOut::gated_f16 ? MatmulAct::silu : MatmulAct::none, true};
      keys.push_back(matmul_key(s, m, {132, 8}).generic());
    }
  keys.push_back(matmul_key({4096, 4096, MatmulOut::f16, MatmulAct::none, false}, 1, {132, 8}).generic());
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, summary.needed);
}

}  // namespace
}  // namespace kiln::engine
