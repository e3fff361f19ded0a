// Every architecture's tiny preset (model::write_synthetic, loaded by model::load_model) through
// the CPU forward pass: finite logits, and the KV cache gives what one prefill gives.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cpu/forward.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "synthetic_files.h"

namespace kiln::cpu {
namespace {

// Token ids for a run of n tokens (all < 2048, the tiny presets' vocabulary).
std::vector<int32_t> tokens(size_t n) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(int32_t((i * 811 + 5) % 2048));
  return out;
}

// Longer than the preset's sliding window, so cached local layers must drop old keys.
size_t run_length(const model::Model& m) { return size_t(std::max(m.hp.sliding_window, 8) + 4); }

class TinyPreset : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    file_ = std::make_unique<gguf::File>(
        gguf::File::open(testing::SyntheticFiles::path(GetParam())));
    model_ = model::load_model(*file_);
  }
  std::unique_ptr<gguf::File> file_;
  model::Model model_;
};

TEST_P(TinyPreset, RunsEndToEndWithFiniteLogits) {
  CpuModel cpu(model_, 2, 64);
  const auto ids = tokens(4);
  const auto logits = cpu.forward(ids);
  ASSERT_EQ(logits.size(), ids.size() * size_t(model_.hp.n_vocab));
  double sum_sq = 0;
  for (float v : logits) {
    ASSERT_TRUE(std::isfinite(v));
    sum_sq += double(v) * v;
  }
  // Not all zero / degenerate: the synthetic weights give logits of order 1.
  const double rms = std::sqrt(sum_sq / double(logits.size()));
  EXPECT_GT(rms, 0.1);
  EXPECT_LT(rms, 100.0);
  EXPECT_EQ(cpu.position(), 4);
}

TEST_P(TinyPreset, KvCacheMatchesPrefill) {
  const auto ids = tokens(run_length(model_));
  const size_t vocab = size_t(model_.hp.n_vocab);
  CpuModel cpu(model_, 2, 64);
  const auto prefill = cpu.forward(ids);
  cpu.reset();
  std::vector<float> stepped, chunked;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto row = cpu.forward(std::span(ids).subspan(i, 1));
    stepped.insert(stepped.end(), row.begin(), row.end());
  }
  cpu.reset();
  const size_t first = ids.size() / 3;
  for (auto [at, n] : {std::pair{size_t(0), first}, std::pair{first, ids.size() - first}}) {
    auto rows = cpu.forward(std::span(ids).subspan(at, n));
    chunked.insert(chunked.end(), rows.begin(), rows.end());
  }
  ASSERT_EQ(stepped.size(), prefill.size());
  ASSERT_EQ(chunked.size(), prefill.size());
  // Within 1e-4 relative, per logit, against max(|logit|, rms of its row).
  for (size_t t = 0; t < ids.size(); ++t) {
    double sq = 0;
    for (size_t v = 0; v < vocab; ++v) sq += std::pow(double(prefill[t * vocab + v]), 2);
    const double rms = std::sqrt(sq / double(vocab));
    for (size_t v = 0; v < vocab; ++v) {
      const size_t i = t * vocab + v;
      const double tol = 1e-4 * std::max(std::fabs(double(prefill[i])), rms);
      ASSERT_NEAR(stepped[i], prefill[i], tol) << "position " << t << " token " << v;
      ASSERT_NEAR(chunked[i], prefill[i], tol) << "position " << t << " token " << v;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllArchs, TinyPreset,
                         ::testing::Values("llama-tiny", "qwen2-tiny", "qwen3-tiny",
                                           "qwen3moe-tiny", "gemma3-tiny", "gpt-oss-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace kiln::cpu
