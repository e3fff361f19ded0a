#pragma once
// GGUF tensor types (numbered as in the file) and CPU (de)quantization of the ones kiln runs.
#include <cstdint>
#include <string_view>

namespace kiln::gguf {

enum class Type : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct TypeInfo {
  std::string_view name;  // "Q8_0"
  int block_elems = 0;    // elements per block (1 for plain types); 0: unknown type
  int block_bytes = 0;    // bytes per block
  bool cpu_supported = false;  // kiln can (de)quantize it on the CPU
};

// Info for any type id a file may hold; block_elems == 0 for an id kiln does not know.
TypeInfo type_info(uint32_t type_id);
inline TypeInfo type_info(Type type) { return type_info(static_cast<uint32_t>(type)); }
std::string_view type_name(Type type);

// Bytes of `elements` values of `type`; elements must be a multiple of the block size
// (throws kiln::Error otherwise).
uint64_t bytes_for(Type type, int64_t elements);

// Block layouts, as in the file.
//   Q8_0  (34 B / 32): f16 d; int8 q[32];                      x = d * q
//   Q4_0  (18 B / 32): f16 d; u8 qs[16] (lo nibbles = 0..15, hi = 16..31); x = d * (q - 8)
//   MXFP4 (17 B / 32): u8 e (E8M0 scale, 2^(e-127)); u8 qs[16] (lo nibbles = 0..15, hi = 16..31),
//                      each an FP4 E2M1 value;             x = fp4(q) * 2^(e-127)
//   Q4_K  (144 B / 256), Q6_K (210 B / 256): the k-quant super-blocks (bit layouts described
//                      in quant_q4_k.cpp and quant_q6_k.cpp).
// CPU conversions exist for F32 F16 BF16 Q8_0 Q4_0 MXFP4 Q4_K Q6_K (TypeInfo::cpu_supported);
// other types throw kiln::Error naming the type.
// Converts n elements (a multiple of the block size) of src to float.
void dequantize(Type type, const void* src, float* dst, int64_t n);
// Converts n floats to `type`, rounding to nearest. Q8_0, Q4_0 and MXFP4 follow ggml's reference
// quantizers' scale choice (same bytes for the same input); Q4_K and Q6_K use a small
// least-squares scale search of our own (valid blocks, not byte-identical to ggml's).
void quantize(Type type, const float* src, void* dst, int64_t n);

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // round to nearest even

}  // namespace kiln::gguf
