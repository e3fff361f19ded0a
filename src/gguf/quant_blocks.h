#pragma once
// Per-type block converters behind dequantize()/quantize() (types.h). Each works on whole
// blocks: `blocks` blocks of src -> blocks * block_elems values of dst. Internal to src/gguf.
#include <cstdint>
#include <cstring>

namespace kiln::gguf::quant {

// Little-endian loads/stores of the f16 fields inside blocks (blocks are byte-packed, so the
// fields are not aligned).
inline uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline void store_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

// Rounds to the nearest integer, halfway cases away from zero (as roundf).
inline int round_to_int(float x) { return static_cast<int>(__builtin_roundf(x)); }

void dequantize_q8_0(const uint8_t* src, float* dst, int64_t blocks);
void quantize_q8_0(const float* src, uint8_t* dst, int64_t blocks);
void dequantize_q4_0(const uint8_t* src, float* dst, int64_t blocks);
void quantize_q4_0(const float* src, uint8_t* dst, int64_t blocks);
void dequantize_mxfp4(const uint8_t* src, float* dst, int64_t blocks);
void quantize_mxfp4(const float* src, uint8_t* dst, int64_t blocks);
void dequantize_q4_k(const uint8_t* src, float* dst, int64_t blocks);
void quantize_q4_k(const float* src, uint8_t* dst, int64_t blocks);
void dequantize_q6_k(const uint8_t* src, float* dst, int64_t blocks);
void quantize_q6_k(const float* src, uint8_t* dst, int64_t blocks);

}  // namespace kiln::gguf::quant
