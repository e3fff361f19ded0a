#include "engine/q8_0_repack.h"

#include <cstring>

#include "gguf/types.h"
#include "util/error.h"

namespace kiln::engine {

namespace {
constexpr int64_t kBlockElems = 32, kBlockBytes = 34;
}

Q8rLayout q8r_layout(int64_t n, int64_t k) {
  KILN_CHECK(n >= 1 && k >= kBlockElems && k % kBlockElems == 0,
             "q8r layout: need n >= 1 rows and k a positive multiple of 32, got ", n, " x ", k);
  Q8rLayout layout;
  layout.n = n;
  layout.k = k;
  layout.k_padded = (k + 63) / 64 * 64;
  return layout;
}

void q8r_repack(const void* blocks, const Q8rLayout& layout, int8_t* qs, uint16_t* d) {
  const auto* src = static_cast<const uint8_t*>(blocks);
  const int64_t blocks_per_row = layout.k / kBlockElems, d_per_row = layout.k_padded / kBlockElems;
  std::memset(qs, 0, static_cast<size_t>(layout.qs_bytes()));
  std::memset(d, 0, static_cast<size_t>(layout.d_bytes()));
  for (int64_t row = 0; row < layout.n; ++row) {
    for (int64_t b = 0; b < blocks_per_row; ++b) {
      const uint8_t* block = src + (row * blocks_per_row + b) * kBlockBytes;
      uint16_t scale;
      std::memcpy(&scale, block, 2);
      d[row * d_per_row + b] = scale;
      for (int64_t i = 0; i < kBlockElems; ++i)
        qs[q8r_qs_index(layout, row, b * kBlockElems + i)] = static_cast<int8_t>(block[2 + i]);
    }
  }
}

std::vector<float> q8r_dequantize(const int8_t* qs, const uint16_t* d, const Q8rLayout& layout) {
  std::vector<float> out(static_cast<size_t>(layout.n * layout.k));
  const int64_t d_per_row = layout.k_padded / kBlockElems;
  for (int64_t row = 0; row < layout.n; ++row) {
    for (int64_t col = 0; col < layout.k; ++col) {
      const float scale = gguf::f16_to_f32(d[row * d_per_row + col / kBlockElems]);
      const float q = static_cast<float>(qs[q8r_qs_index(layout, row, col)]);
      // q * scale is exact in float (8 x 11 significant bits); one rounding to f16, as on the GPU.
      out[static_cast<size_t>(row * layout.k + col)] = gguf::f16_to_f32(gguf::f32_to_f16(q * scale));
    }
  }
  return out;
}

}  // namespace kiln::engine
