// The attention kernels compile with NVRTC for sm_90a (no GPU needed) for every attention shape
// of the ten seed presets: kv_write, attn_prefill (both warp counts, wgmma and mma.sync) and
// attn_decode, specialized, and the generic form of each. Plus the key strings and the heuristics.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "engine/attention.h"
#include "jit/library.h"
#include "jit/preset_kernels.h"

namespace kiln::engine {
namespace {

jit::LibraryOptions compile_only(const std::string& arch) {
  jit::LibraryOptions options;
  options.arch = arch;
  options.cache_dir = "";  // always compile
  options.mode = jit::Mode::specialized;
  options.strict = false;
  return options;
}

// Sliding windows and sinks are not in PresetShapes: from shared/presets.md.
struct PresetAttention {
  int window = 0;      // of the local layers (0: none)
  bool sinks = false;  // on every layer
};
PresetAttention preset_attention(const std::string& name) {
  if (name.rfind("gemma3", 0) == 0) return {1024, false};
  if (name.rfind("gpt-oss", 0) == 0) return {128, true};
  return {};
}

std::vector<jit::KernelKey> preset_attention_keys() {
  std::vector<jit::KernelKey> keys;
  std::set<std::string> seen;
  auto add = [&](const jit::KernelKey& key) {
    for (const jit::KernelKey& k : {key, key.generic()})
      if (seen.insert(k.str()).second) keys.push_back(k);
  };
  for (const auto& p : jit::seed_presets()) {
    const PresetAttention extra = preset_attention(p.name);
    KvWriteShape write{.head_dim = p.head_dim, .n_heads = p.n_heads, .n_kv_heads = p.n_kv_heads,
                       .rope = p.neox ? kRopeNeox : kRopeNormal, .qk_norm = p.qk_norm};
    add(kv_write_key(write));
    for (int window : {0, extra.window}) {
      const AttnShape s{.head_dim = p.head_dim, .n_heads = p.n_heads, .n_kv_heads = p.n_kv_heads, .window = window,
                        .sinks = extra.sinks};
      for (int warps : {4, 8})
        for (int wgmma : {-1, 0}) add(attn_prefill_key(s, 512, 1, {}, {.prefill_warps = warps, .prefill_wgmma = wgmma}));
      add(attn_decode_key(s));
    }
  }
  return keys;
}

TEST(AttnCompile, KeysNameTheirShapeAndTuning) {
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  EXPECT_EQ(attn_prefill_key(llama, 512).str(),
            "attn_prefill<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,warps=8,wgmma=1>");
  EXPECT_EQ(attn_prefill_key(llama, 512).generic().str(),
            "attn_prefill<head_dim=128,gqa=0,n_kv_heads=0,window=0,page_size=0,sinks=0,warps=8,wgmma=1>");
  EXPECT_EQ(attn_decode_key(llama).str(),
            "attn_decode<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,stages=3,k_type=0,v_type=0>");
  const AttnShape oss{.head_dim = 64, .n_heads = 64, .n_kv_heads = 8, .window = 128, .sinks = true};
  EXPECT_EQ(attn_decode_key(oss).str(),
            "attn_decode<head_dim=64,gqa=8,n_kv_heads=8,window=128,page_size=64,sinks=1,stages=6,k_type=0,v_type=0>");
  EXPECT_EQ(kv_write_key({.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .rope = kRopeNormal}).str(),
            "kv_write<head_dim=128,n_heads=32,n_kv_heads=8,n_rot=128,page_size=64,rope=1,qk_norm=0,in_f16=0,k_type=0,v_type=0>");
  // Shared memory: Q tile + two stages of K and V (llama, 8 warps: 32 KB + 64 KB; the default
  // wgmma path's tiles are 128 keys: + 128 KB), + 1 KB to align wgmma's tiles.
  EXPECT_EQ(attn_prefill_key(llama, 512).dynamic_smem_bytes, 161 * 1024);
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_wgmma = 2}).dynamic_smem_bytes, 97 * 1024);
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_wgmma = 0}).dynamic_smem_bytes, 96 * 1024);
  // wgmma only on sm_90, by default only for head_dim 128; never for 64 (known wrong, see notes).
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {132, 8}).get("wgmma"), 0);
  EXPECT_EQ(attn_prefill_key({.head_dim = 256, .n_heads = 8, .n_kv_heads = 4}, 512).get("wgmma"), 0);
  EXPECT_EQ(attn_prefill_key({.head_dim = 64, .n_heads = 64, .n_kv_heads = 8}, 512).get("wgmma"), 0);
  EXPECT_THROW(attn_prefill_key(llama, 512, 1, {132, 8}, {.prefill_wgmma = 1}), Error);
  EXPECT_THROW(attn_prefill_key({.head_dim = 64, .n_heads = 64, .n_kv_heads = 8}, 512, 1, {}, {.prefill_wgmma = 1}),
               Error);
  EXPECT_EQ(attn_decode_key(llama).dynamic_smem_bytes, 3 * 32 * 1024);
  // Bad shapes are refused with the numbers.
  EXPECT_THROW(attn_prefill_key({.head_dim = 96, .n_heads = 8, .n_kv_heads = 8}, 512), Error);
  EXPECT_THROW(attn_decode_key({.head_dim = 128, .n_heads = 32, .n_kv_heads = 2}), Error);  // gqa 16
  EXPECT_THROW(attn_decode_key({.head_dim = 128, .n_heads = 30, .n_kv_heads = 8}), Error);
  EXPECT_THROW(attn_prefill_key(llama, 512, 1, {}, {.prefill_warps = 6}), Error);
}

TEST(AttnCompile, PrefillWarpsFollowTheBusiestSm) {
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  // 512 tokens x 4 heads = 2048 rows: 16 tiles of 128 x 8 heads = 128 CTAs (one each) vs 256 of
  // 64 rows (two on some SMs): equal, so 8 warps.
  EXPECT_EQ(attn_prefill_key(llama, 512).get("warps"), 8);
  // qwen2-1.5b: 3072 rows over 2 KV heads: 48 CTAs of 128 rows vs 96 of 64: 4 warps.
  EXPECT_EQ(attn_prefill_key({.head_dim = 128, .n_heads = 12, .n_kv_heads = 2}, 512).get("warps"), 4);
}

TEST(AttnCompile, DecodeSplitsArePowersOfTwoBuckets) {
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  EXPECT_EQ(attn_decode_splits(llama, 1, 1), 1);
  EXPECT_EQ(attn_decode_splits(llama, 128, 1), 1);    // 2 tiles: one split of two tiles
  EXPECT_EQ(attn_decode_splits(llama, 1025, 1), 8);   // 17 tiles: 8 splits of >= 2
  EXPECT_EQ(attn_decode_splits(llama, 32769, 1), 16); // 132 CTAs / 8 heads = 17 -> 16
  EXPECT_EQ(attn_decode_splits(llama, 32769, 16), 2);
  // A window bounds the keys: gpt-oss local layers see 128.
  EXPECT_EQ(attn_decode_splits({.head_dim = 64, .n_heads = 64, .n_kv_heads = 8, .window = 128}, 32769, 1), 1);
  for (int kv : {1, 100, 5000, 70000}) {
    const int s = attn_decode_splits(llama, kv, 1);
    EXPECT_TRUE(s >= 1 && s <= kAttnMaxSplits && (s & (s - 1)) == 0) << kv << " -> " << s;
  }
}

TEST(AttnCompile, PresetKeysCompileForSm90a) {
  jit::Library library(compile_only("sm_90a"));
  const auto keys = preset_attention_keys();
  std::set<std::string> kernels;
  for (const auto& k : keys) kernels.insert(k.kernel);
  EXPECT_EQ(kernels, (std::set<std::string>{"attn_decode", "attn_prefill", "kv_write"}));
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, static_cast<int>(keys.size()));
  std::printf("[ timing ] %s (NVRTC total %.1f s, %.0f ms per kernel)\n", summary.line().c_str(),
              summary.compile_ms / 1000, summary.compile_ms / std::max(1, summary.needed));
}

}  // namespace
}  // namespace kiln::engine
