// Every built-in kernel compiles with NVRTC for sm_90a, generic and specialized for the ten
// seed presets (no GPU needed). Prints how long the whole set took.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "jit/builtin_kernels.h"
#include "jit/library.h"
#include "jit/preset_kernels.h"

namespace kiln::jit {
namespace {

LibraryOptions compile_only(const std::string& arch) {
  LibraryOptions options;
  options.arch = arch;
  options.cache_dir = "";  // always compile: this test measures NVRTC
  options.mode = Mode::specialized;
  options.strict = false;
  return options;
}

TEST(KernelsCompile, PresetSetCoversEveryKernelAndPreset) {
  const auto keys = preset_kernel_set();
  std::set<std::string> kernels, names;
  for (const auto& k : keys) {
    kernels.insert(k.kernel);
    EXPECT_TRUE(names.insert(k.str()).second) << "duplicate " << k.str();
  }
  EXPECT_EQ(kernels, (std::set<std::string>{"matvec_q8_0", "rmsnorm", "rope"}));
  // Spot checks against shared/presets.md: llama-8b's ffn_down is 4096 rows of 14336.
  EXPECT_TRUE(names.count(matvec_q8_0_key({.n_rows = 4096, .n_cols = 14336}).str()));
  EXPECT_TRUE(names.count(matvec_q8_0_key({.n_rows = 256, .n_cols = 1536}).str()));  // qwen2-1.5b attn_k
  EXPECT_TRUE(names.count(rope_key({.head_dim = 256, .freq_base = 10000, .neox = true}).str()));  // gemma3 local
  EXPECT_FALSE(names.count(matvec_q8_0_key({.n_rows = 2880, .n_cols = 2880}).str()));  // gpt-oss FFN is MXFP4
  const auto all = all_variants();
  EXPECT_GT(all.size(), keys.size());
  for (size_t i = keys.size(); i < all.size(); ++i) {
    for (const auto& c : all[i].constants) {
      if (c.kind == ConstKind::shape) EXPECT_EQ(c.value, 0) << all[i].str();
    }
  }
}

TEST(KernelsCompile, AllVariantsCompileForSm90a) {
  Library library(compile_only("sm_90a"));
  const auto keys = all_variants();
  const auto start = std::chrono::steady_clock::now();
  const LoadSummary summary = library.precompile(keys);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(summary.needed, static_cast<int>(keys.size()));
  EXPECT_EQ(summary.compiled, summary.needed);
  std::printf("[ timing ] %s (NVRTC total %.1f s, %.0f ms per kernel)\n", summary.line().c_str(),
              summary.compile_ms / 1000, summary.compile_ms / summary.needed);
  (void)seconds;
}

TEST(KernelsCompile, GenericFormsCompileForSm80) {
  // The kernels must stay sm_80 compatible (cp.async is the newest instruction they use).
  Library library(compile_only("sm_80"));
  std::vector<KernelKey> generic;
  for (const auto& k : preset_kernel_set()) generic.push_back(k.generic());
  const LoadSummary summary = library.precompile(generic);
  EXPECT_EQ(summary.compiled, summary.needed);
}

}  // namespace
}  // namespace kiln::jit
