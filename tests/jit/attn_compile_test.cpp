// The attention kernels compile with NVRTC (no GPU needed). The engine's own keys (head_dim 128,
// no window, no sinks, both builds) compile in tests/engine/kernel_set_test.cpp; here, what that
// set leaves out but tests/gpu/attn_test.cpp and attn_kv_write_test.cpp launch: head dims 64 and
// 256, sinks, the mma.sync prefill for head_dim 128, kv_write from f16 input, as generic keys;
// and sliding windows, whose size is a constant only in specialized keys. Plus the key strings
// and the heuristics.
#include <gtest/gtest.h>

#include <set>

#include "compile_only.h"
#include "engine/attention.h"

namespace kiln::engine {
namespace {

using jit::testing::compile_only;

// One key per code path that the engine's set lacks and the GPU tests launch (each prefill key
// costs 2 to 10 s of NVRTC on a CI core, so not every product of the choices below).
std::vector<jit::KernelKey> keys_beyond_the_engines() {
  std::vector<jit::KernelKey> keys;
  std::set<std::string> seen;
  auto add = [&](const jit::KernelKey& key) {
    if (seen.insert(key.str()).second) keys.push_back(key);
  };
  auto shape = [](int head_dim, bool sinks) {
    return AttnShape{.head_dim = head_dim, .n_heads = 16, .n_kv_heads = 2, .sinks = sinks};
  };
  auto prefill = [&](const AttnShape& s, int warps, int wgmma) {
    add(attn_prefill_key(s, 512, 1, {}, {.prefill_warps = warps, .prefill_wgmma = wgmma}).generic());
  };
  for (int head_dim : {64, 256}) {  // gpt-oss's and gemma3's (mma.sync by default)
    prefill(shape(head_dim, false), 4, -1);
    prefill(shape(head_dim, false), 8, -1);
    prefill(shape(head_dim, true), 8, -1);
    add(attn_decode_key(shape(head_dim, false)).generic());
    for (bool sinks : {false, true}) {
      add(attn_decode_combine_key(shape(head_dim, sinks)).generic());
      add(attn_prefill_combine_key(shape(head_dim, sinks), 8).generic());
    }
  }
  add(attn_decode_key(shape(64, true)).generic());
  prefill(shape(128, true), 8, -1);  // sinks on the warp-specialized path
  prefill(shape(128, true), 8, 1);   // and on the wide wgmma path (the GPU tests force it)
  prefill(shape(128, true), 4, -1);
  prefill(shape(128, false), 4, 0);  // head_dim 128 on mma.sync (off sm_90)
  prefill(shape(128, false), 8, 0);
  for (int rope : {kRopeNormal, kRopeNeox})
    for (bool qk_norm : {false, true})
      for (bool in_f16 : {false, true})
        if (in_f16 || (rope == kRopeNormal && qk_norm))  // the engine's set has the other three
          add(kv_write_key({.head_dim = 128, .n_heads = 16, .n_kv_heads = 2, .rope = rope, .qk_norm = qk_norm,
                            .in_f16 = in_f16}).generic());
  // attn_decode_write (tests/gpu/attn_decode_write_test.cpp): the rope and input variants.
  for (int head_dim : {64, 256})
    add(attn_decode_write_key(shape(head_dim, false), {.head_dim = head_dim, .n_heads = 16, .n_kv_heads = 2,
                                                      .qk_norm = true}).generic());
  for (int rope : {kRopeNone, kRopeNormal})
    add(attn_decode_write_key(shape(128, false), {.head_dim = 128, .n_heads = 16, .n_kv_heads = 2, .rope = rope,
                                                 .in_f16 = true}).generic());
  add(attn_decode_write_key(shape(128, false), {.head_dim = 128, .n_heads = 16, .n_kv_heads = 2, .n_rot = 64}));
  // Sliding windows, as the GPU test's gpt-oss- and gemma3-like shapes.
  for (const AttnShape& s : {AttnShape{.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .window = 128, .sinks = true},
                             AttnShape{.head_dim = 256, .n_heads = 4, .n_kv_heads = 2, .window = 1024}}) {
    add(attn_prefill_key(s, 512));
    add(attn_decode_key(s));
    add(attn_decode_write_key(s, {.head_dim = s.head_dim, .n_heads = s.n_heads, .n_kv_heads = s.n_kv_heads}));
  }
  return keys;
}

TEST(AttnCompile, KeysNameTheirShapeAndTuning) {
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  EXPECT_EQ(attn_prefill_key(llama, 512).str(),
            "attn_prefill_ws<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,warps=8,wgmma=3>");
  EXPECT_EQ(attn_prefill_key(llama, 512).generic().str(),
            "attn_prefill_ws<head_dim=128,gqa=0,n_kv_heads=0,window=0,page_size=0,sinks=0,warps=8,wgmma=3>");
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_wgmma = 1}).str(),
            "attn_prefill<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,warps=8,wgmma=1>");
  EXPECT_EQ(attn_decode_key(llama).str(),
            "attn_decode<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,stages=3,k_type=0,v_type=0>");
  const AttnShape oss{.head_dim = 64, .n_heads = 64, .n_kv_heads = 8, .window = 128, .sinks = true};
  EXPECT_EQ(attn_decode_key(oss).str(),
            "attn_decode<head_dim=64,gqa=8,n_kv_heads=8,window=128,page_size=64,sinks=1,stages=6,k_type=0,v_type=0>");
  EXPECT_EQ(kv_write_key({.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .rope = kRopeNormal}).str(),
            "kv_write<head_dim=128,n_heads=32,n_kv_heads=8,n_rot=128,page_size=64,rope=1,qk_norm=0,in_f16=0,k_type=0,v_type=0>");
  const KvWriteShape llama_write{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .rope = kRopeNormal};
  EXPECT_EQ(attn_decode_write_key(llama, llama_write).str(),
            "attn_decode_write<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,stages=3,k_type=0,"
            "v_type=0,n_rot=128,rope=1,qk_norm=0,in_f16=0>");
  EXPECT_EQ(attn_decode_write_key(llama, llama_write).generic().str(),
            "attn_decode_write<head_dim=128,gqa=0,n_kv_heads=0,window=0,page_size=0,sinks=0,stages=3,k_type=0,"
            "v_type=0,n_rot=0,rope=1,qk_norm=0,in_f16=0>");
  // Three f16 stages (96 KB), then room for 8 query heads (2 KB) and the new K and V rows (512 B).
  EXPECT_EQ(attn_decode_write_key(llama, llama_write).dynamic_smem_bytes, 98 * 1024 + 512);
  // The kv_write shape must be the cache's.
  EXPECT_THROW(attn_decode_write_key(llama, {.head_dim = 128, .n_heads = 32, .n_kv_heads = 4}), Error);
  EXPECT_THROW(attn_decode_write_key(llama, {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .k_type = kKvQ8_0}),
               Error);
  // Shared memory: Q tile + three stages of K and V (llama, 8 warps: 32 KB + 96 KB; the wide
  // wgmma paths' tiles are 128 keys: + 192 KB), + 1 KB to align wgmma's tiles, and the
  // warp-specialized kernel's 6 mbarriers.
  EXPECT_EQ(attn_prefill_key(llama, 512).dynamic_smem_bytes, 225 * 1024 + 48);
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_wgmma = 1}).dynamic_smem_bytes, 225 * 1024);
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_wgmma = 2}).dynamic_smem_bytes, 129 * 1024);
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_wgmma = 0}).dynamic_smem_bytes, 128 * 1024);
  // The warp-specialized kernel with 4-warp CTAs: the wide wgmma path; forced otherwise: refused.
  EXPECT_EQ(attn_prefill_key(llama, 512, 1, {}, {.prefill_warps = 4}).get("wgmma"), 1);
  EXPECT_THROW(attn_prefill_key(llama, 512, 1, {}, {.prefill_warps = 4, .prefill_wgmma = 3}), Error);
  EXPECT_THROW(attn_prefill_key({.head_dim = 256, .n_heads = 8, .n_kv_heads = 4}, 512, 1, {}, {.prefill_wgmma = 3}),
               Error);
  EXPECT_EQ(attn_prefill_stages(256, 8, 1), 2);  // 64 KB of Q and 64 KB stages: three do not fit
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
  // qwen2-1.5b: 3072 rows over 2 KV heads: 48 CTAs of 128 rows, at most half the SMs: 8 warps,
  // and each row tile split in two over the keys (96 CTAs) once it has two key iterations.
  const AttnShape qwen2{.head_dim = 128, .n_heads = 12, .n_kv_heads = 2};
  const jit::KernelKey key = attn_prefill_key(qwen2, 512);
  EXPECT_EQ(key.get("warps"), 8);
  EXPECT_EQ(attn_prefill_splits(key, qwen2, 512, 1, 512), 2);
  EXPECT_EQ(attn_prefill_splits(key, qwen2, 512, 1, 128), 1);  // one iteration of 128 keys
  EXPECT_EQ(attn_prefill_splits(attn_prefill_key(llama, 512), llama, 512, 1, 32768), 1);  // 128 CTAs
  // qwen2-7b: 28 x 4 heads: 112 CTAs of 8 warps fill the SMs: the busiest-SM rule, no split.
  const AttnShape qwen2_7b{.head_dim = 128, .n_heads = 28, .n_kv_heads = 4};
  EXPECT_EQ(attn_prefill_splits(attn_prefill_key(qwen2_7b, 512), qwen2_7b, 512, 1, 32768), 1);
}

TEST(AttnCompile, DecodeSplitsArePowersOfTwoBuckets) {
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  EXPECT_EQ(attn_decode_splits(llama, 1, 1), 1);
  EXPECT_EQ(attn_decode_splits(llama, 128, 1), 1);    // 2 tiles: one split of two tiles
  // The step where decode goes from one split to two (and, by default, from attn_decode_write to
  // kv_write + attn_decode): 4 tiles. The engine tests decode across it (engine_vs_reference.h).
  EXPECT_EQ(attn_decode_splits(llama, 192, 1), 1);
  EXPECT_EQ(attn_decode_splits(llama, 193, 1), 2);
  const AttnShape tiny{.head_dim = 128, .n_heads = 4, .n_kv_heads = 2};  // the tiny presets
  EXPECT_EQ(attn_decode_splits(tiny, 192, 1), 1);
  EXPECT_EQ(attn_decode_splits(tiny, 193, 1), 2);
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

TEST(AttnCompile, KeysBeyondTheEnginesCompileForSm90a) {
  jit::Library library(compile_only("sm_90a"));
  const auto keys = keys_beyond_the_engines();
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, static_cast<int>(keys.size()));
  jit::testing::print_compile_timing(summary);
}

}  // namespace
}  // namespace kiln::engine
