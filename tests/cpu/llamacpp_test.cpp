// The CPU forward pass against logits llama.cpp computed on the same synthetic files
// (tests/cpu/data/README.md says how they were made and why the bounds are what they are).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cpu/forward.h"
#include "gguf/gguf.h"
#include "gguf/types.h"
#include "model/model.h"
#include "synthetic_files.h"
#include "util/error.h"

namespace kiln::cpu {
namespace {

const std::string kDataDir = KILN_TEST_DATA_DIR;

struct Golden {
  std::string preset;
  uint64_t seed = 1;
  uint64_t fingerprint = 0;
  std::vector<int32_t> tokens;
};

void PrintTo(const Golden& g, std::ostream* out) { *out << g.preset << " seed " << g.seed; }

std::vector<Golden> read_manifest() {
  std::ifstream in(kDataDir + "/llamacpp_golden.txt");
  std::vector<Golden> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Golden g;
    std::string fingerprint, tokens;
    fields >> g.preset >> g.seed >> fingerprint >> tokens;
    g.fingerprint = std::stoull(fingerprint, nullptr, 16);
    std::istringstream items(tokens);
    for (std::string item; std::getline(items, item, ',');) g.tokens.push_back(std::stoi(item));
    out.push_back(g);
  }
  return out;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  KILN_CHECK(in, "cannot open golden file ", path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_f32(const std::string& path) {
  auto bytes = read_bytes(path);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

std::vector<float> read_f16(const std::string& path) {
  auto bytes = read_bytes(path);
  std::vector<float> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = gguf::f16_to_f32(uint16_t(uint8_t(bytes[2 * i]) | uint8_t(bytes[2 * i + 1]) << 8));
  return out;
}

// Per position: max |ours - golden| must stay under bound * rms(golden row); the argmax must
// match wherever the golden top-1 leads its runner-up by more than twice that error, so that
// an allowed error cannot swap them. Returns the worst max-abs / rms seen.
double expect_agreement(const std::vector<float>& ours, const std::vector<float>& golden,
                        size_t vocab, double bound, const std::string& what) {
  EXPECT_EQ(ours.size(), golden.size()) << what;
  if (ours.size() != golden.size()) return INFINITY;
  double worst = 0;
  int top1_checked = 0;
  for (size_t t = 0; t < golden.size() / vocab; ++t) {
    const float* g = golden.data() + t * vocab;
    const float* o = ours.data() + t * vocab;
    double sq = 0, max_abs = 0;
    size_t g_top = 0, o_top = 0;
    for (size_t v = 0; v < vocab; ++v) {
      sq += double(g[v]) * g[v];
      max_abs = std::max(max_abs, std::fabs(double(o[v]) - g[v]));
      if (g[v] > g[g_top]) g_top = v;
      if (o[v] > o[o_top]) o_top = v;
    }
    float runner_up = -INFINITY;
    for (size_t v = 0; v < vocab; ++v)
      if (v != g_top) runner_up = std::max(runner_up, g[v]);
    const double rms = std::sqrt(sq / double(vocab));
    worst = std::max(worst, max_abs / rms);
    EXPECT_LE(max_abs, bound * rms) << what << ": position " << t << " max |error| " << max_abs
                                    << " vs rms " << rms;
    if (double(g[g_top]) - runner_up > 2 * bound * rms) {
      ++top1_checked;
      EXPECT_EQ(o_top, g_top) << what << ": position " << t << " top-1 differs";
    }
  }
  std::printf("  %s: worst max|error|/rms %.3g (bound %.3g), top-1 checked at %d of %zu"
              " positions\n", what.c_str(), worst, bound, top1_checked, golden.size() / vocab);
  return worst;
}

// Bounds on max |error| / rms(row), derived in tests/cpu/data/README.md.
// llama.cpp on the weights dequantized to F32: both sides compute in float32; only the
// summation order differs (measured 4e-6). gemma3 also meets ggml's GELU, which looks up an
// f16 table (input and output rounded to f16: ~2.5e-4 rms relative per FFN, 7 layers in
// quadrature, max of 2048 logits ~3.5 sigma: ~2.3e-3; measured 2.2e-3).
constexpr double kF32Bound = 1e-4;
constexpr double kF32GeluTableBound = 5e-3;
// llama.cpp on the quantized file: its CPU matmuls quantize activations to Q8_0 (~0.5% rms
// relative per matmul input), ~4 independent injections per layer plus the output: ~2% rms,
// ~7% max over 2048 logits (measured 4-9%).
constexpr double kQuantizedBound = 0.2;

class LlamaCppGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(LlamaCppGolden, LogitsAgree) {
  const Golden& g = GetParam();
  const std::string path = testing::SyntheticFiles::path(g.preset, g.seed);
  const uint64_t fingerprint = testing::file_fingerprint(path);
  ASSERT_EQ(fingerprint, g.fingerprint)
      << "model::write_synthetic(" << g.preset << ", seed " << g.seed
      << ") no longer writes the bytes the golden logits were computed from: regenerate them "
         "as tests/cpu/data/README.md says";

  const auto file = gguf::File::open(path);
  const auto model = model::load_model(file);
  CpuModel cpu(model, 2, 64);
  const auto ours = cpu.forward(g.tokens);
  const size_t vocab = size_t(model.hp.n_vocab);

  const bool gelu = model.arch.activation == model::FfnActivation::gelu_tanh_gated;
  expect_agreement(ours, read_f32(kDataDir + "/llamacpp_" + g.preset + "_f32weights.f32"), vocab,
                   gelu ? kF32GeluTableBound : kF32Bound, g.preset + " (F32 weights)");
  expect_agreement(ours, read_f16(kDataDir + "/llamacpp_" + g.preset + "_q.f16"), vocab,
                   kQuantizedBound, g.preset + " (quantized file)");
}

INSTANTIATE_TEST_SUITE_P(TinyPresets, LlamaCppGolden, ::testing::ValuesIn(read_manifest()),
                         [](const auto& info) {
                           std::string name = info.param.preset;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace kiln::cpu
