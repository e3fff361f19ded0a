#pragma once
// Random q8r weight matrices for the GPU product tests: GGUF-style Q8_0 blocks (random quants,
// scales of both signs), repacked and uploaded, with their dequantized form for references.
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "engine/q8_0_repack.h"
#include "jit_gpu_util.h"

namespace kiln::engine {

// One weight matrix: GGUF-style random Q8_0 blocks, repacked, uploaded; and its dequantized form
// (unless dequantize is false: tests that compare kernels with each other need none).
struct Matrix {
  Q8rLayout layout;
  std::vector<float> w;  // [n][k], f16-rounded products; empty unless dequantized
  std::unique_ptr<jit::testing::DeviceBytes> qs, d;
};

inline Matrix make_matrix(int n, int k, std::mt19937& rng, bool dequantize = true) {
  Matrix mat;
  mat.layout = q8r_layout(n, k);
  std::vector<uint8_t> blocks(static_cast<size_t>(n) * (k / 32) * 34);
  std::uniform_int_distribution<int> q(-127, 127);
  std::uniform_real_distribution<float> scale(0.002f, 0.02f);
  for (size_t b = 0; b < blocks.size() / 34; ++b) {
    const uint16_t d = jit::testing::f32_to_f16(scale(rng) * (b % 7 == 3 ? -1.0f : 1.0f));
    std::memcpy(&blocks[b * 34], &d, 2);
    for (int i = 0; i < 32; ++i) blocks[b * 34 + 2 + i] = static_cast<uint8_t>(static_cast<int8_t>(q(rng)));
  }
  std::vector<int8_t> qs(static_cast<size_t>(mat.layout.qs_bytes()));
  std::vector<uint16_t> d(static_cast<size_t>(mat.layout.d_count()));
  q8r_repack(blocks.data(), mat.layout, qs.data(), d.data());
  if (dequantize) mat.w = q8r_dequantize(qs.data(), d.data(), mat.layout);
  mat.qs = std::make_unique<jit::testing::DeviceBytes>(qs.size());
  mat.d = std::make_unique<jit::testing::DeviceBytes>(d.size() * 2);
  mat.qs->upload(qs);
  mat.d->upload(d);
  return mat;
}

}  // namespace kiln::engine
