// gemm_q8_0 and matvec_q8r compile with NVRTC for sm_90a (no GPU needed), for every product the
// ten seed presets run: specialized at decode (m = 1, matvec) and prefill (m = 512, wgmma GEMM),
// and the generic form of every token bucket's key. Also the mma.sync GEMM for sm_80.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "engine/matmul.h"
#include "jit/library.h"
#include "jit/preset_kernels.h"

namespace kiln::engine {
namespace {

using jit::KernelKey;

jit::LibraryOptions compile_only(const std::string& arch) {
  jit::LibraryOptions options;
  options.arch = arch;
  options.cache_dir = "";  // always compile
  options.mode = jit::Mode::specialized;
  options.strict = false;
  return options;
}

// The products of one preset's layer and LM head (shared/presets.md). Dense FFNs only: the MoE
// experts will go through a grouped GEMM. Vocab sizes are not in PresetShapes: listed here.
std::vector<MatmulShape> preset_products(const jit::PresetShapes& p) {
  struct Vocab {
    const char* name;
    int vocab;
  };
  static const Vocab vocabs[] = {{"llama-8b-q8_0", 128256},   {"qwen2-1.5b-q8_0", 151936},
                                 {"qwen2-3b-q8_0", 151936},   {"qwen2-7b-q8_0", 152064},
                                 {"qwen3-4b-q8_0", 151936},   {"qwen3moe-30b-a3b-q8_0", 151936},
                                 {"gemma3-4b-q8_0", 262144},  {"gemma3-12b-q8_0", 262144},
                                 {"gpt-oss-20b-mxfp4", 201088}, {"gpt-oss-120b-mxfp4", 201088}};
  int vocab = 0;
  for (const auto& v : vocabs)
    if (p.name == v.name) vocab = v.vocab;
  EXPECT_GT(vocab, 0) << "no vocab size for " << p.name;
  const bool qkv_bias = p.name.rfind("qwen2", 0) == 0 || p.name.rfind("gpt-oss", 0) == 0;
  const bool o_bias = p.name.rfind("gpt-oss", 0) == 0;
  const bool gelu = p.name.rfind("gemma3", 0) == 0;
  const int q_dim = p.n_heads * p.head_dim, kv_dim = p.n_kv_heads * p.head_dim;
  std::vector<MatmulShape> out = {
      {q_dim + 2 * kv_dim, p.n_embd, MatmulOut::f16, MatmulAct::none, qkv_bias},  // fused q|k|v
      {p.n_embd, q_dim, MatmulOut::add_f32, MatmulAct::none, o_bias},             // attn_output
      {vocab, p.n_embd, MatmulOut::f32, MatmulAct::none, false},                  // LM head
  };
  if (p.q8_0_ffn && p.n_ff > 0) {
    out.push_back({p.n_ff, p.n_embd, MatmulOut::gated_f16, gelu ? MatmulAct::gelu_tanh : MatmulAct::silu, false});
    out.push_back({p.n_embd, p.n_ff, MatmulOut::add_f32, MatmulAct::none, false});
  }
  return out;
}

std::vector<KernelKey> preset_matmul_keys() {
  std::vector<KernelKey> keys;
  std::set<std::string> seen;
  auto add = [&](const KernelKey& key) {
    if (seen.insert(key.str()).second) keys.push_back(key);
  };
  for (const auto& preset : jit::seed_presets())
    for (const MatmulShape& s : preset_products(preset)) {
      add(matmul_key(s, 1));
      add(matmul_key(s, 512));
      for (const KernelKey& key : matmul_keys(s, 512)) add(key.generic());
    }
  return keys;
}

TEST(MatmulCompile, KeysNameTheirShapeAndTiles) {
  const MatmulShape down{4096, 14336, MatmulOut::add_f32, MatmulAct::none, false};
  EXPECT_EQ(matmul_key(down, 1).str(),
            "matvec_q8r<k=14336,n=4096,out_kind=2,act=0,has_bias=0,max_tokens=1,warps=8,unroll=2>");
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
  EXPECT_EQ(keys.front().kernel, "matvec_q8r");
  EXPECT_EQ(keys.back().str(), gemm.str());
  EXPECT_THROW(matmul_key({4096, 100, MatmulOut::f16, MatmulAct::none, false}, 1), Error);
  EXPECT_THROW(matmul_key({4096, 4096, MatmulOut::f16, MatmulAct::silu, false}, 1), Error);
}

TEST(MatmulCompile, PresetKeysCompileForSm90a) {
  jit::Library library(compile_only("sm_90a"));
  const auto keys = preset_matmul_keys();
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, static_cast<int>(keys.size()));
  std::printf("[ timing ] %s (NVRTC total %.1f s, %.0f ms per kernel)\n", summary.line().c_str(),
              summary.compile_ms / 1000, summary.compile_ms / std::max(1, summary.needed));
}

TEST(MatmulCompile, MmaSyncGemmCompilesForSm80) {
  jit::Library library(compile_only("sm_80"));
  std::vector<KernelKey> keys;
  for (int m : {16, 64, 512})
    for (MatmulOut out : {MatmulOut::f16, MatmulOut::add_f32, MatmulOut::gated_f16}) {
      const MatmulShape s{4096, 4096, out, out == MatmulOut::gated_f16 ? MatmulAct::silu : MatmulAct::none, true};
      keys.push_back(matmul_key(s, m, {132, 8}).generic());
    }
  keys.push_back(matmul_key({4096, 4096, MatmulOut::f16, MatmulAct::none, false}, 1).generic());
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, summary.needed);
}

}  // namespace
}  // namespace kiln::engine
