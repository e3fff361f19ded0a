#pragma once
// What the end-to-end engine tests share: a tiny preset written to a temporary GGUF, 200 random
// tokens and the CPU reference's logits for every position; and the check of an engine's
// prefill (every row, micro-batches of 64) and decode against them: a prefix of 60, then single
// tokens over the 64-token page boundary to 130; then a prefix of 185 and single tokens to 200,
// across the step (kv_len 193: two 64-key tiles a split) where decode attention goes from one
// KV split to two, and by default from attn_decode_write to kv_write + attn_decode. Within a
// bound relative to each row's largest logit, with the same top-1 token wherever the
// reference's top-2 gap exceeds it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cpu/forward.h"
#include "engine/engine.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/synth.h"

namespace kiln::testing {

class TinyReference {
 public:
  static constexpr int kTokens = 200;

  TinyReference(const std::string& preset, const std::string& folder)
      : path_(write(preset, folder)), file_(gguf::File::open(path_)), model_(model::load_model(file_)) {
    std::mt19937 rng(5);
    tokens_.resize(kTokens);
    for (auto& t : tokens_) t = int32_t(rng() % model_.hp.n_vocab);
    cpu::CpuModel reference(model_, 0, 256);
    logits_ = reference.forward(tokens_);
  }
  ~TinyReference() { std::filesystem::remove(path_); }
  TinyReference(const TinyReference&) = delete;
  TinyReference& operator=(const TinyReference&) = delete;

  const model::Model& model() const { return model_; }
  std::span<const int32_t> tokens() const { return tokens_; }

  // Checks eng (n_ctx >= kTokens, all_logits) as the header says; returns the worst row's max|err| /
  // max(1, max|ref|).
  double check(engine::Engine& eng, double bound, const std::string& label) const {
    const int n_vocab = model_.hp.n_vocab;
    double worst = 0;
    auto check_row = [&](const float* got, int position, const char* phase) {
      const Row r = compare(got, &logits_[size_t(position) * n_vocab], n_vocab, bound);
      worst = std::max(worst, r.max_err / std::max(1.0, r.max_ref));
      EXPECT_LE(r.max_err, bound * std::max(1.0, r.max_ref)) << label << " " << phase << " position " << position;
      EXPECT_TRUE(r.top1_ok) << label << " " << phase << " position " << position;
    };
    const std::vector<float> got = eng.eval(tokens_, true, true);
    EXPECT_EQ(got.size(), logits_.size());
    if (got.size() != logits_.size()) return worst;
    for (int t = 0; t < kTokens; ++t) check_row(&got[size_t(t) * n_vocab], t, "prefill");
    for (const auto& [prefix, end] : {std::pair{60, 130}, std::pair{185, kTokens}}) {
      eng.truncate(0);
      eng.eval(tokens().first(prefix), false);
      for (int t = prefix; t < end; ++t) check_row(eng.eval(tokens().subspan(t, 1), true).data(), t, "decode");
    }
    return worst;
  }

 private:
  struct Row {
    double max_err = 0, max_ref = 0;
    bool top1_ok = true;
  };

  static std::string write(const std::string& preset, const std::string& folder) {
    const auto dir = std::filesystem::temp_directory_path() / folder;
    std::filesystem::create_directories(dir);
    const std::string path = (dir / (preset + ".gguf")).string();
    model::write_synthetic(model::find_preset(preset), {.seed = 3}, path);
    return path;
  }

  static Row compare(const float* got, const float* ref, int n_vocab, double bound) {
    Row r;
    int top_ref = 0, top_got = 0;
    for (int v = 0; v < n_vocab; ++v) {
      EXPECT_TRUE(std::isfinite(got[v])) << "logit " << v << " is not finite";
      r.max_ref = std::max(r.max_ref, double(std::fabs(ref[v])));
      r.max_err = std::max(r.max_err, double(std::fabs(got[v] - ref[v])));
      if (ref[v] > ref[top_ref]) top_ref = v;
      if (got[v] > got[top_got]) top_got = v;
    }
    double second = -1e30;
    for (int v = 0; v < n_vocab; ++v)
      if (v != top_ref) second = std::max(second, double(ref[v]));
    r.top1_ok = top_ref == top_got || ref[top_ref] - second <= bound * std::max(1.0, r.max_ref);
    return r;
  }

  std::string path_;
  gguf::File file_;
  model::Model model_;
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
};

}  // namespace kiln::testing
