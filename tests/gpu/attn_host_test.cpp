// Host-side pieces of attention that need no GPU: the cache layout arithmetic, the page
// allocator and its errors, the RoPE tables, the roofline counts (hand-computed values).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/attention.h"
#include "engine/kv_cache.h"

namespace kiln::engine {
namespace {

model::Model llama_8b() {
  model::Model m;
  m.hp.n_layers = 32;
  m.hp.n_heads = 32;
  m.hp.n_kv_heads = 8;
  m.hp.head_dim = 128;
  m.hp.head_dim_v = 128;
  m.hp.rope_base = 500000;
  return m;
}

TEST(AttnHost, KvLayoutOfLlama8b) {
  const KvLayout l = kv_layout(llama_8b(), 4096);
  EXPECT_EQ(l.page_size, 64);
  EXPECT_EQ(l.max_pages, 64);
  EXPECT_EQ(l.n_pages, 64);
  EXPECT_EQ(l.page_bytes(), 8u * 64 * 128 * 2);           // 128 KiB per page and pool
  EXPECT_EQ(l.bytes_per_token(), 32u * 2 * 8 * 128 * 2);  // 128 KiB per token
  EXPECT_EQ(l.bytes(), 4096ull * 128 * 1024);             // 512 MiB
  EXPECT_EQ(kv_cache_bytes(llama_8b(), 4097), 4160ull * 128 * 1024);  // rounded up to a page
  EXPECT_EQ(kv_layout(llama_8b(), 100, 3).n_pages, 6);
  model::Model odd = llama_8b();
  odd.hp.head_dim_v = 64;
  EXPECT_THROW(kv_layout(odd, 100), Error);
}

TEST(AttnHost, PageAllocatorHandsOutLowestFirstAndSaysWhenFull) {
  PageAllocator a(5, 64);
  std::vector<int32_t> s0, s1;
  a.reserve(s0, 65, "sequence 0");
  EXPECT_EQ(s0, (std::vector<int32_t>{0, 1}));
  a.reserve(s0, 128, "sequence 0");  // still fits in two pages
  EXPECT_EQ(s0.size(), 2u);
  a.reserve(s1, 1, "sequence 1");
  EXPECT_EQ(s1, (std::vector<int32_t>{2}));
  try {
    a.reserve(s1, 64 * 4, "sequence 1");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "KV cache out of pages: sequence 1 needs 4 pages for 256 tokens, holds 1, 2 free of 5 (64 "
                           "tokens each)");
  }
  EXPECT_EQ(s1.size(), 1u);  // nothing taken on failure
  a.release(s0);
  EXPECT_TRUE(s0.empty());
  EXPECT_EQ(a.free_pages(), 4);
  a.reserve(s1, 64 * 4, "sequence 1");
  EXPECT_EQ(s1, (std::vector<int32_t>{2, 0, 1, 3}));
}

TEST(AttnHost, RopeTablesFoldEveryScaling) {
  model::Model m = llama_8b();
  model::Layer layer;
  // Plain: base^(-2i/128).
  RopeTable t = rope_table(m, layer, {});
  ASSERT_EQ(t.inv_freq.size(), 64u);
  EXPECT_DOUBLE_EQ(t.inv_freq[0], 1.0);
  EXPECT_NEAR(t.inv_freq[32], std::pow(500000.0, -0.5), 1e-15);
  EXPECT_EQ(t.mscale, 1.f);
  // llama3 factors divide.
  std::vector<float> factors(64, 1.f);
  factors[10] = 8.f;
  t = rope_table(m, layer, factors);
  EXPECT_NEAR(t.inv_freq[10], std::pow(500000.0, -20.0 / 128) / 8, 1e-15);
  // Linear x8 on a global layer, none on a local one.
  m.hp.rope_scaling = model::RopeScaling::linear;
  m.hp.rope_factor = 8;
  EXPECT_NEAR(rope_table(m, layer, {}).inv_freq[1], std::pow(500000.0, -2.0 / 128) / 8, 1e-15);
  layer.is_local = true;
  EXPECT_NEAR(rope_table(m, layer, {}).inv_freq[1], std::pow(500000.0, -2.0 / 128), 1e-15);
  // YaRN x32 (gpt-oss): high frequencies keep their angle, low ones are divided by 32, and cos/sin
  // grow by 1 + 0.1 ln 32.
  m.hp.head_dim = 64;
  m.hp.rope_base = 150000;
  m.hp.rope_scaling = model::RopeScaling::yarn;
  m.hp.rope_factor = 32;
  m.hp.rope_orig_ctx = 4096;
  t = rope_table(m, layer, {});
  EXPECT_NEAR(t.mscale, 1.0 + 0.1 * std::log(32.0), 1e-6);
  EXPECT_DOUBLE_EQ(t.inv_freq[0], 1.0);
  EXPECT_NEAR(t.inv_freq[31], std::pow(150000.0, -62.0 / 64) / 32, 1e-15);
}

TEST(AttnHost, RooflineCounts) {
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  // 2 queries at positions 9 and 10 see 10 + 11 keys: 4 * 128 * 32 * 21 flops.
  EXPECT_DOUBLE_EQ(attn_flops(llama, 2, 11), 4.0 * 128 * 32 * 21);
  // Decode at 32768: K and V of 32768 tokens x 8 heads x 128 x 2 bytes, plus q and out.
  EXPECT_DOUBLE_EQ(attn_bytes(llama, 1, 32768), 32768.0 * 8 * 128 * 4 + 32 * 128 * 4);
  const AttnShape windowed{.head_dim = 64, .n_heads = 64, .n_kv_heads = 8, .window = 128};
  EXPECT_DOUBLE_EQ(attn_flops(windowed, 1, 1000), 4.0 * 64 * 64 * 128);
  EXPECT_DOUBLE_EQ(attn_bytes(windowed, 1, 1000), 128.0 * 8 * 64 * 4 + 64 * 64 * 4);
}

}  // namespace
}  // namespace kiln::engine
