// The q8_0 KV cache option without a GPU: cache sizes, type names, the keys the engine plans for
// each K/V type pair (exactly those it launches: the forward pass is recorded on a planner), and
// that the attention kernels of every type pair compile with NVRTC for sm_90a in both builds.
#include <gtest/gtest.h>

#include <array>
#include <set>

#include "engine/attention.h"
#include "engine/kernel_set.h"
#include "engine/kv_cache.h"
#include "jit/library.h"
#include "model/synth.h"

namespace kiln {
namespace {

using engine::KvType;
using engine::KvTypes;

model::Model preset_shapes(const std::string& name) {
  const model::Preset& preset = model::find_preset(name);
  return model::shape_only_model(model::arch_traits(preset.arch), model::synthetic_hparams(preset, {}));
}

TEST(KvQ8, CacheBytes) {
  const model::Model m = preset_shapes("llama-8b-q8_0");  // 32 layers, 8 KV heads of 128
  // f16: 2 bytes a value; q8_0: 128 quants + 4 f16 scales = 136 bytes a row of 128.
  EXPECT_EQ(engine::kv_cache_bytes(m, 32768), 32ull * 2 * 8 * 128 * 2 * 32768);
  EXPECT_EQ(engine::kv_cache_bytes(m, 32768, {KvType::q8_0, KvType::q8_0}), 32ull * 2 * 8 * 136 * 32768);
  EXPECT_EQ(engine::kv_cache_bytes(m, 32768, {KvType::q8_0, KvType::f16}), 32ull * 8 * (136 + 256) * 32768);
  const engine::KvLayout l = engine::kv_layout(m, 100, 1, {KvType::f16, KvType::q8_0});
  EXPECT_EQ(l.page_bytes(KvType::q8_0), 8u * 64 * 136);
  EXPECT_EQ(l.k_pool_bytes(), 2u * 8 * 64 * 256);  // 100 tokens: 2 pages
  EXPECT_EQ(l.v_pool_bytes(), 2u * 8 * 64 * 136);
  EXPECT_EQ(l.bytes_per_token(), 32u * 8 * (256 + 136));
  // Prefill's f16 view: one layer's K and V of n_ctx tokens, only for a q8_0 cache.
  EXPECT_EQ(engine::kv_scratch_bytes(m, 32768, {}), 0u);
  EXPECT_EQ(engine::kv_scratch_bytes(m, 32768, {KvType::q8_0, KvType::f16}), 2ull * 32768 * 8 * 128 * 2);
  EXPECT_GT(engine::attention_workspace_bytes(m, 32768, 512, 132, {KvType::q8_0, KvType::q8_0}),
            engine::attention_workspace_bytes(m, 32768, 512, 132));
}

TEST(KvQ8, TypeNames) {
  EXPECT_EQ(engine::parse_kv_type("f16", "-ctk"), KvType::f16);
  EXPECT_EQ(engine::parse_kv_type("q8_0", "-ctk"), KvType::q8_0);
  EXPECT_STREQ(engine::kv_type_name(KvType::q8_0), "q8_0");
  try {
    engine::parse_kv_type("q4_0", "-ctv");
    FAIL() << "q4_0 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "-ctv q4_0: unknown KV cache type (f16, q8_0)");
  }
}

// kernel name -> the key strings of that kernel in a set.
std::multiset<std::string> keys_of(const std::vector<jit::KernelKey>& keys, const std::string& kernel) {
  std::multiset<std::string> out;
  for (const auto& k : keys)
    if (k.kernel == kernel) out.insert(k.str());
  return out;
}

TEST(KvQ8, PlanHoldsTheKeysOfTheTypes) {
  const model::Model m = preset_shapes("llama-8b-q8_0");
  const auto f16 = engine::engine_kernel_set(m);
  EXPECT_TRUE(keys_of(f16, "kv_dequant").empty()) << "an f16 cache needs no f16 view";
  for (KvTypes types : {KvTypes{KvType::q8_0, KvType::q8_0}, KvTypes{KvType::q8_0, KvType::f16},
                        KvTypes{KvType::f16, KvType::q8_0}}) {
    const auto keys = engine::engine_kernel_set(m, {.kv_types = types});
    const int kt = int(types.k), vt = int(types.v);
    engine::AttnShape shape{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .k_type = kt, .v_type = vt};
    EXPECT_EQ(keys_of(keys, "attn_decode"), std::multiset<std::string>{engine::attn_decode_key(shape).str()});
    EXPECT_EQ(keys_of(keys, "kv_dequant"), std::multiset<std::string>{engine::kv_dequant_key(shape).str()});
    const std::string dequant = engine::kv_dequant_key(shape).str();
    EXPECT_NE(dequant.find("k_type=" + std::to_string(kt) + ",v_type=" + std::to_string(vt)), std::string::npos)
        << dequant;
    for (const auto& k : keys)
      if (k.kernel == "kv_write" || k.kernel == "attn_decode") {
        EXPECT_EQ(k.get("k_type"), kt) << k.str();
        EXPECT_EQ(k.get("v_type"), vt) << k.str();
      }
    // The prefill kernels (f16 view) are the f16 cache's.
    EXPECT_FALSE(keys_of(keys, "attn_prefill_ws").empty());
    EXPECT_EQ(keys_of(keys, "attn_prefill_ws"), keys_of(f16, "attn_prefill_ws"));
    EXPECT_EQ(keys.size(), f16.size() + 1);  // + kv_dequant
  }
}

TEST(KvQ8, DecodeStagesKeepTheBytesInFlight) {
  // Shared memory within the 227 KB of a CTA; with a q8_0 operand two CTAs fit on an SM within
  // the 196 KB carveout where they can (llama's 128: 3 stages of 17 KB + two 16 KB f16 tiles =
  // 83 KB), and the split count aims at two CTAs per SM.
  for (int d : {64, 128, 256})
    for (int kt : {kKvF16, kKvQ8_0})
      for (int vt : {kKvF16, kKvQ8_0}) {
        const auto key = engine::attn_decode_key({.head_dim = d, .n_heads = 8, .n_kv_heads = 2, .k_type = kt,
                                                  .v_type = vt});
        EXPECT_LE(key.dynamic_smem_bytes, 227 * 1024) << key.str();
        if (kt == kKvQ8_0 && vt == kKvQ8_0 && d == 128) {
          EXPECT_EQ(key.get("stages"), 3) << key.str();
          EXPECT_EQ(key.dynamic_smem_bytes, 83 * 1024);
        }
      }
  EXPECT_THROW(engine::attn_decode_key({.head_dim = 128, .n_heads = 8, .n_kv_heads = 2, .k_type = 7}), Error);
  const engine::AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  engine::AttnShape llama_q8 = llama;
  llama_q8.k_type = llama_q8.v_type = kKvQ8_0;
  EXPECT_EQ(engine::attn_decode_splits(llama, 32768, 1), 16);     // 128 CTAs on 132 SMs
  EXPECT_EQ(engine::attn_decode_splits(llama_q8, 32768, 1), 32);  // two per SM
}

TEST(KvQ8, AttentionKernelsCompileForSm90aInBothBuilds) {
  std::vector<jit::KernelKey> keys;
  // Both q8_0 at every head size, the mixed pairs at 128.
  const std::vector<std::array<int, 3>> cases = {{64, kKvQ8_0, kKvQ8_0}, {128, kKvQ8_0, kKvQ8_0},
                                                 {256, kKvQ8_0, kKvQ8_0}, {128, kKvQ8_0, kKvF16},
                                                 {128, kKvF16, kKvQ8_0}};
  for (const auto& [d, kt, vt] : cases) {
    const engine::AttnShape shape{.head_dim = d, .n_heads = 8, .n_kv_heads = 2, .k_type = kt, .v_type = vt};
    keys.push_back(engine::attn_decode_key(shape));
    keys.push_back(engine::kv_dequant_key(shape));
    const engine::KvWriteShape write{.head_dim = d, .n_heads = 8, .n_kv_heads = 2, .k_type = kt, .v_type = vt};
    keys.push_back(engine::kv_write_key(write));
    // Its shared memory keeps the decode's CTAs per SM (the key refuses otherwise).
    keys.push_back(engine::attn_decode_write_key(shape, write));
  }
  for (jit::Mode mode : {jit::Mode::specialized, jit::Mode::generic}) {
    jit::LibraryOptions options;
    options.arch = "sm_90a";
    options.cache_dir = "";
    options.mode = mode;
    options.strict = false;
    jit::Library library(options);
    const jit::LoadSummary summary = library.precompile(keys);
    EXPECT_EQ(summary.compiled, summary.needed) << summary.line();
  }
}

}  // namespace
}  // namespace kiln
