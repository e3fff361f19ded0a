// The GPU engine against the CPU reference, end to end, on the tiny presets of the archs it
// runs: prefill in several micro-batches, decode one token at a time across KV-page and tile
// boundaries, both JIT builds.
//
// Tolerance: the engine rounds activations and dequantized weights to f16 (relative 2^-11)
// and keeps f32 accumulators; attention probabilities are f16 too. Each product's error is a
// few 2^-11 of its magnitude and a tiny model has <= 4 layers, so logits agree to well under
// 1% of the row's largest magnitude; we allow 2%, and require the same top-1 token wherever the
// reference's top-2 gap exceeds that bound (a smaller gap is a tie at this precision).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "cpu/forward.h"
#include "engine/engine.h"
#include "gguf/gguf.h"
#include "jit/device.h"
#include "model/model.h"
#include "model/synth.h"

namespace {

using namespace kiln;

struct RowCheck {
  double max_err = 0, bound = 0;
  bool top1_ok = true;
};

RowCheck compare_row(const float* got, const float* ref, int n_vocab) {
  double max_ref = 0, max_err = 0;
  int top_ref = 0, top_got = 0;
  for (int v = 0; v < n_vocab; ++v) {
    EXPECT_TRUE(std::isfinite(got[v])) << "logit " << v << " is not finite";
    max_ref = std::max(max_ref, double(std::fabs(ref[v])));
    max_err = std::max(max_err, double(std::fabs(got[v] - ref[v])));
    if (ref[v] > ref[top_ref]) top_ref = v;
    if (got[v] > got[top_got]) top_got = v;
  }
  RowCheck c;
  c.max_err = max_err;
  c.bound = 0.02 * std::max(1.0, max_ref);
  double second = -1e30;
  for (int v = 0; v < n_vocab; ++v)
    if (v != top_ref) second = std::max(second, double(ref[v]));
  c.top1_ok = top_ref == top_got || ref[top_ref] - second <= c.bound;
  return c;
}

class EngineVsReference : public ::testing::TestWithParam<std::tuple<std::string, jit::Mode>> {
 protected:
  void SetUp() override {
    if (!jit::Device::has_device()) GTEST_SKIP() << "no CUDA device: " << jit::Device::no_device_reason();
  }
};

TEST_P(EngineVsReference, PrefillAndDecodeMatchTheCpu) {
  const auto& [preset_name, mode] = GetParam();
  const auto dir = std::filesystem::temp_directory_path() / "kiln-engine-test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / (preset_name + ".gguf")).string();
  model::write_synthetic(model::find_preset(preset_name), {.seed = 3}, path);
  gguf::File file = gguf::File::open(path);
  model::Model m = model::load_model(file);
  const int n_vocab = m.hp.n_vocab;

  const int n_tokens = 150;
  std::mt19937 rng(5);
  std::vector<int32_t> tokens(n_tokens);
  for (auto& t : tokens) t = int32_t(rng() % n_vocab);

  cpu::CpuModel reference(m, 0, 256);
  const std::vector<float> ref = reference.forward(tokens);

  engine::Engine eng(m, {.n_ctx = 256, .n_ubatch = 64, .mode = mode, .quiet = true, .all_logits = true});
  // Prefill: 150 tokens = micro-batches of 64, 64, 22; every row's logits.
  const std::vector<float> got = eng.eval(tokens, true, true);
  ASSERT_EQ(got.size(), ref.size());
  for (int t = 0; t < n_tokens; ++t) {
    RowCheck c = compare_row(&got[size_t(t) * n_vocab], &ref[size_t(t) * n_vocab], n_vocab);
    EXPECT_LE(c.max_err, c.bound) << preset_name << " prefill row " << t;
    EXPECT_TRUE(c.top1_ok) << preset_name << " prefill row " << t;
  }
  // Decode: a prefix of 60, then single tokens over the 64-token page boundary to 130.
  eng.truncate(0);
  eng.eval(std::span(tokens).first(60), false);
  for (int t = 60; t < 130; ++t) {
    const std::vector<float> row = eng.eval(std::span(tokens).subspan(t, 1), true);
    RowCheck c = compare_row(row.data(), &ref[size_t(t) * n_vocab], n_vocab);
    EXPECT_LE(c.max_err, c.bound) << preset_name << " decode position " << t;
    EXPECT_TRUE(c.top1_ok) << preset_name << " decode position " << t;
  }
  // Greedy sampling on the GPU is the argmax of the same logits.
  const std::vector<float> last = eng.eval(std::span(tokens).subspan(130, 1), true);
  const int argmax = int(std::max_element(last.begin(), last.end()) - last.begin());
  EXPECT_EQ(eng.sample({}, 0.5f), argmax);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(TinyPresets, EngineVsReference,
                         ::testing::Combine(::testing::Values("llama-tiny", "qwen2-tiny", "qwen3-tiny"),
                                            ::testing::Values(jit::Mode::specialized, jit::Mode::generic)),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param) + "_" +
                                              std::string(jit::mode_name(std::get<1>(info.param)));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
