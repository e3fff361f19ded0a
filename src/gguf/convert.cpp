// dequantize()/quantize(): checks the element count and dispatches to the per-type converters.
#include <cstring>

#include "gguf/quant_blocks.h"
#include "gguf/types.h"
#include "util/error.h"

namespace kiln::gguf {
namespace {

int64_t checked_blocks(const char* what, Type type, int64_t n) {
  TypeInfo info = type_info(type);
  KILN_CHECK(info.cpu_supported, what, ": type ", info.name, " (id ", static_cast<uint32_t>(type),
             ") has no CPU conversion (supported: F32 F16 BF16 Q8_0 Q4_0 MXFP4 Q4_K Q6_K)");
  KILN_CHECK(n >= 0 && n % info.block_elems == 0, what, ": ", n, " elements of ", info.name,
             " is not a multiple of its block size ", info.block_elems);
  return n / info.block_elems;
}

}  // namespace

void dequantize(Type type, const void* src, float* dst, int64_t n) {
  int64_t blocks = checked_blocks("dequantize", type, n);
  const auto* in = static_cast<const uint8_t*>(src);
  switch (type) {
    case Type::F32:
      std::memcpy(dst, in, static_cast<size_t>(n) * sizeof(float));
      return;
    case Type::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(quant::load_u16(in + 2 * i));
      return;
    case Type::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(quant::load_u16(in + 2 * i));
      return;
    case Type::Q8_0: return quant::dequantize_q8_0(in, dst, blocks);
    case Type::Q4_0: return quant::dequantize_q4_0(in, dst, blocks);
    case Type::MXFP4: return quant::dequantize_mxfp4(in, dst, blocks);
    case Type::Q4_K: return quant::dequantize_q4_k(in, dst, blocks);
    case Type::Q6_K: return quant::dequantize_q6_k(in, dst, blocks);
    default: fail("dequantize: unhandled type ", type_name(type));
  }
}

void quantize(Type type, const float* src, void* dst, int64_t n) {
  int64_t blocks = checked_blocks("quantize", type, n);
  auto* out = static_cast<uint8_t*>(dst);
  switch (type) {
    case Type::F32:
      std::memcpy(out, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case Type::F16:
      for (int64_t i = 0; i < n; ++i) quant::store_u16(out + 2 * i, f32_to_f16(src[i]));
      return;
    case Type::BF16:
      for (int64_t i = 0; i < n; ++i) quant::store_u16(out + 2 * i, f32_to_bf16(src[i]));
      return;
    case Type::Q8_0: return quant::quantize_q8_0(src, out, blocks);
    case Type::Q4_0: return quant::quantize_q4_0(src, out, blocks);
    case Type::MXFP4: return quant::quantize_mxfp4(src, out, blocks);
    case Type::Q4_K: return quant::quantize_q4_k(src, out, blocks);
    case Type::Q6_K: return quant::quantize_q6_k(src, out, blocks);
    default: fail("quantize: unhandled type ", type_name(type));
  }
}

}  // namespace kiln::gguf
