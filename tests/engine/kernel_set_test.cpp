// The engine's kernel set, planned without a GPU (engine/kernel_set.h): what it holds, and that
// every kernel of the dense seed presets (with decode's kv_write on its own and folded into
// attention) compiles with NVRTC for sm_90a in both builds, the
// specialized ones without register spills, and one preset's set for an sm_80 target.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>

#include "engine/attention.h"
#include "engine/kernel_set.h"
#include "engine/matvec_chain.h"
#include "jit/disk_cache.h"
#include "jit/library.h"
#include "../jit/test_dir.h"
#include "model/synth.h"

namespace kiln {
namespace {

model::Model preset_shapes(const std::string& name) {
  const model::Preset& preset = model::find_preset(name);
  return model::shape_only_model(model::arch_traits(preset.arch), model::synthetic_hparams(preset, {}));
}

// Options of a library that compiles for `arch` into `cache_dir` (kept, to read the cubins back).
jit::LibraryOptions compile_options(const std::string& arch, const std::string& cache_dir) {
  jit::LibraryOptions options;
  options.arch = arch;
  options.cache_dir = cache_dir;
  options.strict = false;
  return options;
}

const std::vector<std::string> kDensePresets = {"llama-8b-q8_0", "qwen2-1.5b-q8_0", "qwen2-3b-q8_0",
                                                "qwen2-7b-q8_0", "qwen3-4b-q8_0"};

TEST(EngineKernelSet, HoldsEveryKernelOfTheForwardPass) {
  const auto keys = engine::engine_kernel_set(preset_shapes("llama-8b-q8_0"), {.matvec_chain = false});
  std::set<std::string> kernels, names;
  for (const auto& k : keys) {
    kernels.insert(k.kernel);
    EXPECT_TRUE(names.insert(k.str()).second) << "duplicate " << k.str();
  }
  EXPECT_EQ(kernels, (std::set<std::string>{"embed", "rmsnorm", "matvec_q8r_stream", "gemm_q8_0", "kv_write",
                                            "attn_prefill_ws", "attn_prefill_combine", "attn_decode",
                                            "attn_decode_write", "attn_decode_combine", "sample"}));
  // Decode's products are mat-vecs of llama-8b's shapes: qkv 6144x4096 and the LM head 128256,
  // both normalizing their input (in_norm), and o and down without a norm epilogue. The LM head
  // of a prefill step (one row, normalized by rmsnorm) has no input norm.
  const auto has = [&](engine::MatmulShape s) { return names.count(engine::matvec_q8r_key(s, 1).str()) == 1; };
  EXPECT_TRUE(has({.n = 6144, .k = 4096, .out = engine::MatmulOut::f32, .in_norm = true}));
  EXPECT_TRUE(has({.n = 128256, .k = 4096, .out = engine::MatmulOut::f32, .in_norm = true}));
  EXPECT_TRUE(has({.n = 128256, .k = 4096, .out = engine::MatmulOut::f32}));
  EXPECT_TRUE(has({.n = 4096, .k = 14336, .out = engine::MatmulOut::add_f32}));
  EXPECT_FALSE(has({.n = 4096, .k = 14336, .out = engine::MatmulOut::add_f32, .norm = true}));
}

// With the chain (EngineOptions::matvec_chain), one token's decode runs o, gate+up, down and the
// next qkv (the LM head after the last layer) as matvec_chain; so do 2..4 tokens (llama-8b's rows
// of 8 tokens would need 229 KB for down beside the ring) when every token's logits are computed,
// the head then reading every row the other products do. The set has layer 0's qkv on its own,
// and no stream key of o or down at one token. (The LM head's one-row key stays: other buckets
// use it.)
TEST(EngineKernelSet, ChainRunsTheDecodeProducts) {
  const auto chains_of = [](const std::vector<jit::KernelKey>& keys) {
    std::multiset<std::pair<int64_t, int64_t>> chains;  // (n_next, max_tokens)
    for (const auto& k : keys)
      if (k.kernel == "matvec_chain") chains.insert({k.get("n_next"), k.get("max_tokens")});
    return chains;
  };
  const model::Model llama = preset_shapes("llama-8b-q8_0");
  const auto keys = engine::engine_kernel_set(llama, {.matvec_chain = true});
  EXPECT_EQ(chains_of(keys), (std::multiset<std::pair<int64_t, int64_t>>{{6144, 1}, {128256, 1}}));
  EXPECT_EQ(chains_of(engine::engine_kernel_set(llama, {.all_logits = true, .matvec_chain = true})),
            (std::multiset<std::pair<int64_t, int64_t>>{
                {6144, 1}, {6144, 2}, {6144, 4}, {128256, 1}, {128256, 2}, {128256, 4}}));
  std::set<std::string> names;
  for (const auto& k : keys) names.insert(k.str());
  EXPECT_EQ(*std::find_if(keys.begin(), keys.end(), [](const auto& k) { return k.kernel == "matvec_chain"; }),
            engine::matvec_chain_key(
                {.o = {.n = 4096, .k = 4096, .out = engine::MatmulOut::add_f32},
                 .up = {.n = 14336, .k = 4096, .out = engine::MatmulOut::gated_f16, .act = engine::MatmulAct::silu,
                        .in_norm = true},
                 .down = {.n = 4096, .k = 14336, .out = engine::MatmulOut::add_f32},
                 .next = {.n = 6144, .k = 4096, .out = engine::MatmulOut::f32, .in_norm = true}},
                1));
  const auto has = [&](engine::MatmulShape s, int m) { return names.count(engine::matvec_q8r_key(s, m).str()) == 1; };
  EXPECT_TRUE(has({.n = 6144, .k = 4096, .out = engine::MatmulOut::f32, .in_norm = true}, 1));
  EXPECT_FALSE(has({.n = 4096, .k = 4096, .out = engine::MatmulOut::add_f32}, 1));
  EXPECT_FALSE(has({.n = 4096, .k = 14336, .out = engine::MatmulOut::add_f32}, 1));
  EXPECT_TRUE(has({.n = 4096, .k = 14336, .out = engine::MatmulOut::add_f32}, 2));
  // EngineOptions::stream_stages deepens the chain's ring where it fits: 5 stages at one token.
  for (const auto& k : engine::engine_kernel_set(preset_shapes("llama-8b-q8_0"),
                                                 {.stream_stages = 8, .matvec_chain = true}))
    if (k.kernel == "matvec_chain" && k.get("max_tokens") == 1) {
      EXPECT_EQ(k.get("stages"), 5) << k.str();
    }
  // The chain fits every dense preset at one token.
  for (const auto& name : kDensePresets) {
    const auto set = engine::engine_kernel_set(preset_shapes(name), {.matvec_chain = true});
    EXPECT_EQ(std::count_if(set.begin(), set.end(),
                            [](const auto& k) { return k.kernel == "matvec_chain" && k.get("max_tokens") == 1; }),
              2)
        << name;
  }
}

// Decode's kv_write folded into attention (attn_decode_write, llama's normal RoPE, f32 rows) at
// every split count: decode launches no attn_decode, prefill keeps kv_write. Never folded: no
// attn_decode_write. By default (folded at one split) the set holds both.
TEST(EngineKernelSet, FusedWriteSplitsChooseTheDecodeKernels) {
  const model::Model m = preset_shapes("llama-8b-q8_0");
  const auto kernels_of = [](const std::vector<jit::KernelKey>& keys) {
    std::multiset<std::string> kernels;
    for (const auto& k : keys) kernels.insert(k.kernel);
    return kernels;
  };
  const auto always = engine::engine_kernel_set(m, {.fused_write_splits = kAttnMaxSplits});
  const auto never = engine::engine_kernel_set(m, {.fused_write_splits = 0});
  const auto by_default = engine::engine_kernel_set(m);
  EXPECT_EQ(kernels_of(always).count("attn_decode"), 0u);
  EXPECT_EQ(kernels_of(always).count("attn_decode_write"), 1u);
  EXPECT_EQ(kernels_of(always).count("kv_write"), 1u);
  EXPECT_EQ(kernels_of(never).count("attn_decode_write"), 0u);
  EXPECT_EQ(kernels_of(never).count("attn_decode"), 1u);
  EXPECT_EQ(kernels_of(by_default).count("attn_decode_write"), 1u);
  EXPECT_EQ(kernels_of(by_default).count("attn_decode"), 1u);
  EXPECT_EQ(std::count_if(always.begin(), always.end(),
                          [](const jit::KernelKey& k) {
                            return k.str() ==
                                   "attn_decode_write<head_dim=128,gqa=4,n_kv_heads=8,window=-1,page_size=64,sinks=0,"
                                   "stages=3,k_type=0,v_type=0,n_rot=128,rope=1,qk_norm=0,in_f16=0>";
                          }),
            1);
  // Everything else is the same set.
  EXPECT_EQ(always.size(), never.size());
  EXPECT_EQ(by_default.size(), never.size() + 1);
}

// An sm_80 target (A100: no wgmma, TMA or programmatic launch) gets the mma.sync GEMM and
// attention, matvec_q8r with the norm epilogue, and no kernel it cannot run; its whole set
// compiles for sm_80, attn_decode_write too.
TEST(EngineKernelSet, Sm80TargetCompilesForSm80) {
  const engine::MatmulTarget a100{.sm_count = 108, .cc_major = 8};
  const auto keys = engine::engine_kernel_set(preset_shapes("qwen3-4b-q8_0"), {.target = a100});
  std::set<std::string> kernels;
  bool norm_epilogue = false;
  for (const auto& k : keys) {
    kernels.insert(k.kernel);
    if (k.kernel == "gemm_q8_0" || k.kernel == "attn_prefill") {
      EXPECT_EQ(k.get("wgmma"), 0) << k.str();
    }
    if (k.kernel == "matvec_q8r" && k.get("norm")) norm_epilogue = true;
  }
  EXPECT_TRUE(norm_epilogue);
  EXPECT_EQ(kernels, (std::set<std::string>{"embed", "rmsnorm", "matvec_q8r", "gemm_q8_0", "kv_write", "attn_prefill",
                                            "attn_prefill_combine", "attn_decode", "attn_decode_write",
                                            "attn_decode_combine", "sample"}));
  jit::testing::TempDir cache;
  jit::Library library(compile_options("sm_80", cache.path()));
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, summary.needed);
  std::printf("[ timing ] qwen3-4b for sm_80: %s\n", summary.line().c_str());
}

// The timeline build (KILN_TRACE=1, jit/trace.h) of every decode and prefill kernel compiles, and
// each cubin holds the variables the host points at the trace buffer.
TEST(EngineKernelSet, TraceBuildCompilesForSm90a) {
  const auto keys = engine::engine_kernel_set(preset_shapes("qwen3-4b-q8_0"), {.matvec_chain = true});
  jit::testing::TempDir cache;
  jit::LibraryOptions options = compile_options("sm_90a", cache.path());
  options.trace = true;
  jit::Library library(options);
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, summary.needed);
  for (const jit::CacheEntryInfo& entry : jit::DiskCache(cache.path(), nullptr).list()) {
    std::ifstream in(entry.path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(bytes.find("kiln_trace_records"), std::string::npos) << entry.name;
    EXPECT_NE(bytes.find("kiln_trace_kernel"), std::string::npos) << entry.name;
  }
}

// Deeper rings (EngineOptions::stream_stages): every decode product of the dense presets gets the
// deepest that fits, at least 5 stages at one token, and llama-8b's set compiles.
TEST(EngineKernelSet, DeeperRingsFitEveryDecodeProduct) {
  for (const auto& name : kDensePresets) {
    int streams = 0;
    for (const auto& key : engine::engine_kernel_set(preset_shapes(name), {.stream_stages = 8})) {
      if (key.kernel != "matvec_q8r_stream") continue;
      ++streams;
      EXPECT_LE(key.dynamic_smem_bytes, 227 * 1024) << key.str();
      if (key.get("max_tokens") == 1) {
        EXPECT_GE(key.get("stages"), 5) << key.str();
      }
    }
    EXPECT_GT(streams, 0) << name;
  }
  jit::testing::TempDir cache;
  jit::Library library(compile_options("sm_90a", cache.path()));
  const auto keys = engine::engine_kernel_set(preset_shapes("llama-8b-q8_0"), {.stream_stages = 8});
  const jit::LoadSummary summary = library.precompile(keys);
  EXPECT_EQ(summary.compiled, summary.needed);
}

// The o product's whole ring (EngineOptions::o_whole_ring): llama-8b's o (256 tiles of 2 chunks
// on 132 SMs: 4 chunks a CTA) gets 4 stages, every other product keeps the default 3; qwen2-1.5b's
// o (one chunk a CTA) keeps 3. The set compiles.
TEST(EngineKernelSet, OWholeRingHoldsACtasChunks) {
  const auto stages_of = [](const std::string& preset, bool whole, int n, int k) {
    std::set<int64_t> stages;
    for (const auto& key :
         engine::engine_kernel_set(preset_shapes(preset), {.o_whole_ring = whole, .matvec_chain = false}))
      if (key.kernel == "matvec_q8r_stream" && key.get("max_tokens") == 1 && key.get("n") == n && key.get("k") == k)
        stages.insert(key.get("stages"));
    return stages;
  };
  EXPECT_EQ(stages_of("llama-8b-q8_0", true, 4096, 4096), (std::set<int64_t>{4}));
  EXPECT_EQ(stages_of("llama-8b-q8_0", false, 4096, 4096), (std::set<int64_t>{3}));
  EXPECT_EQ(stages_of("llama-8b-q8_0", true, 4096, 14336), (std::set<int64_t>{3}));  // down
  EXPECT_EQ(stages_of("qwen2-1.5b-q8_0", true, 1536, 1536), (std::set<int64_t>{3}));
  jit::testing::TempDir cache;
  jit::Library library(compile_options("sm_90a", cache.path()));
  const jit::LoadSummary summary =
      library.precompile(
          engine::engine_kernel_set(preset_shapes("llama-8b-q8_0"), {.o_whole_ring = true, .matvec_chain = false}));
  EXPECT_EQ(summary.compiled, summary.needed);
}

TEST(EngineKernelSet, AllLogitsAddsTheirKernels) {
  const model::Model shapes = preset_shapes("qwen2-1.5b-q8_0");
  const auto plain = engine::engine_kernel_set(shapes);
  const auto all = engine::engine_kernel_set(shapes, {.all_logits = true});
  EXPECT_GT(all.size(), plain.size());
}

TEST(EngineKernelSet, RefusesArchsTheEngineDoesNotRun) {
  try {
    engine::engine_kernel_set(preset_shapes("gemma3-4b-q8_0"));
    FAIL() << "gemma3 was planned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not run gemma3"), std::string::npos) << e.what();
  }
}

// Every kernel compiles (the chain's too, EngineOptions::matvec_chain), and the specialized ones
// do not spill (a spill in a mat-vec is what its register budget must prevent: notes/decode.md).
// The generic twins' spills are printed, not checked.
TEST(EngineKernelSet, DensePresetsCompileForSm90aInBothBuilds) {
  for (jit::Mode mode : {jit::Mode::specialized, jit::Mode::generic}) {
    jit::testing::TempDir cache;
    jit::LibraryOptions options = compile_options("sm_90a", cache.path());
    options.mode = mode;
    jit::Library library(options);
    std::vector<jit::KernelKey> keys;
    for (const auto& name : kDensePresets) {  // decode's kv_write on its own and inside attention
      auto set = engine::engine_kernel_set(preset_shapes(name), {.matvec_chain = false});
      keys.insert(keys.end(), set.begin(), set.end());
      for (const auto& key :
           engine::engine_kernel_set(preset_shapes(name), {.all_logits = true, .matvec_chain = true}))
        if (key.kernel == "matvec_chain") keys.push_back(key);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const jit::LoadSummary summary = library.precompile(keys);
    EXPECT_EQ(summary.compiled, summary.needed);
    std::printf("[ timing ] five dense presets: %s (%.1f s)\n", summary.line().c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    int entries = 0;
    for (const jit::CacheEntryInfo& entry : jit::DiskCache(cache.path(), nullptr).list()) {
      ASSERT_GE(entry.stack_bytes, 0) << entry.path << ": cubin not readable";
      ++entries;
      if (entry.stack_bytes == 0) continue;
      if (mode == jit::Mode::specialized)
        ADD_FAILURE() << entry.name << " spills: " << entry.stack_bytes << " B of stack at " << entry.registers
                      << " registers";
      else
        std::printf("[ spills ] %s: %d B of stack at %d registers\n", entry.name.c_str(), entry.stack_bytes,
                    entry.registers);
    }
    EXPECT_EQ(entries, summary.needed);
  }
}

}  // namespace
}  // namespace kiln
