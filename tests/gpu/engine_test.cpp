// The GPU engine against the CPU reference, end to end, on the tiny presets of the archs it
// runs: prefill in several micro-batches, decode one token at a time across KV-page and tile
// boundaries and from one KV split to two, both JIT builds, with this GPU's kernels and with
// those an sm_80 GPU would get, and with decode's kv_write on its own at every depth.
//
// Tolerance: the engine rounds activations and dequantized weights to f16 (relative 2^-11)
// and keeps f32 accumulators; attention probabilities are f16 too. Each product's error is a
// few 2^-11 of its magnitude and a tiny model has <= 4 layers, so logits agree to well under
// 1% of the row's largest magnitude; we allow 2%, and require the same top-1 token wherever the
// reference's top-2 gap exceeds that bound (a smaller gap is a tie at this precision).
#include <gtest/gtest.h>

#include <algorithm>

#include "engine_vs_reference.h"
#include "jit/device.h"

namespace {

using namespace kiln;

constexpr double kBound = 0.02;  // of max(1, max|ref|) per row

class EngineVsReference : public ::testing::TestWithParam<std::tuple<std::string, jit::Mode>> {
 protected:
  void SetUp() override {
    if (!jit::Device::has_device()) GTEST_SKIP() << "no CUDA device: " << jit::Device::no_device_reason();
  }

  // The preset on an engine built with `options` (the context, micro-batch, mode and logits set
  // here) against the CPU reference; `variant` names the run and its kernel cache.
  void check_variant(engine::EngineOptions options, const std::string& variant) {
    const auto& [preset_name, mode] = GetParam();
    const kiln::testing::TinyReference reference(preset_name, "kiln-engine-" + variant + "-test");
    options.n_ctx = 256;
    options.n_ubatch = 64;
    options.mode = mode;
    options.quiet = true;
    options.all_logits = true;
    engine::Engine eng(reference.model(), options);
    reference.check(eng, kBound, preset_name + " " + variant);
  }
};

TEST_P(EngineVsReference, PrefillAndDecodeMatchTheCpu) {
  const auto& [preset_name, mode] = GetParam();
  const kiln::testing::TinyReference reference(preset_name, "kiln-engine-test");
  engine::Engine eng(reference.model(), {.n_ctx = 256, .n_ubatch = 64, .mode = mode, .quiet = true, .all_logits = true});
  reference.check(eng, kBound, preset_name);
  // Greedy sampling on the GPU is the argmax of the same logits.
  const std::vector<float> last = eng.eval(reference.tokens().subspan(130, 1), true);
  const int argmax = int(std::max_element(last.begin(), last.end()) - last.begin());
  EXPECT_EQ(eng.sample({}, 0.5f), argmax);
}

// The same on the kernels an sm_80 GPU would get (EngineOptions::target_cc_major): the mma.sync
// GEMM and prefill attention, and matvec_q8r with the norm epilogue instead of the stream
// mat-vec normalizing its own input.
TEST_P(EngineVsReference, AsSm80MatchesTheCpu) { check_variant({.target_cc_major = 8}, "sm80"); }

// The same with decode's kv_write on its own (EngineOptions::fused_write_splits = 0): by default
// attn_decode_write does its work at these depths (one split).
TEST_P(EngineVsReference, UnfusedDecodeWriteMatchesTheCpu) { check_variant({.fused_write_splits = 0}, "unfused"); }

// The same with one token's decode products as matvec_chain (EngineOptions::matvec_chain; the
// tiny presets' shapes fit it), and without.
TEST_P(EngineVsReference, ChainedDecodeMatchesTheCpu) { check_variant({.matvec_chain = true}, "chain"); }
TEST_P(EngineVsReference, UnchainedDecodeMatchesTheCpu) { check_variant({.matvec_chain = false}, "unchained"); }

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
