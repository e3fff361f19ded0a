#pragma once
// q8_0 K/V tiles (kv_types.h) for the attention kernels: the cp.async loader of one 64-key tile's
// quants and scales into shared memory, and its dequantization into the swizzled f16 tile layout
// (tile_offset) that the tensor-core loads of attn_decode read.
//
// Staged tile in shared memory: quants int8 [kAttnTileKeys][HEAD_DIM], then scales
// f16 [kAttnTileKeys][HEAD_DIM / 32]: the page's two arrays, cut to the tile's rows.
#include "attn_common.cuh"
#include "kv_types.h"

namespace kiln_attn {

template <int HEAD_DIM>
constexpr int q8_tile_bytes() {
  return kAttnTileKeys * kv_row_bytes(kKvQ8_0, HEAD_DIM);
}

// Issues the cp.async copies of keys [k0, k0 + kAttnTileKeys) of KV head `kv_head` from a q8_0
// pool into a staged tile at `dst` (shared address). Keys at or past kv_len are zero-filled,
// their scales included: the cache past a sequence's length holds whatever was there, and a
// NaN scale would poison the product. Copies only what `filter` takes (a scale chunk holds the
// scales of several keys).
template <int HEAD_DIM, int THREADS>
__device__ __forceinline__ void load_kv_tile_q8(u32 dst, const unsigned char* pool, const int* page_row, int k0,
                                                int kv_len, int kv_head, int n_kv_heads, int page_size,
                                                KeyFilter filter = {}) {
  constexpr int QCHUNKS = kAttnTileKeys * HEAD_DIM / 16;         // 16-byte chunks of quants
  constexpr int ROW_SCALE_BYTES = HEAD_DIM / kKvQ8Block * 2;     // 4..16
  constexpr int SCHUNKS = kAttnTileKeys * ROW_SCALE_BYTES / 16;  // 16-byte chunks of scales
  constexpr int KEYS_PER_SCHUNK = 16 / ROW_SCALE_BYTES;
  static_assert(QCHUNKS % THREADS == 0, "load_kv_tile_q8: the quants must split evenly over the threads");
  const int page = page_row[k0 / page_size];
  const int slot0 = k0 % page_size;
  const unsigned char* block = pool + (static_cast<long long>(page) * n_kv_heads + kv_head) * page_size *
                                          static_cast<long long>(kv_row_bytes(kKvQ8_0, HEAD_DIM));
  const unsigned char* quants = block + static_cast<long long>(slot0) * HEAD_DIM;
  const unsigned char* scales =
      block + static_cast<long long>(page_size) * HEAD_DIM + static_cast<long long>(slot0) * ROW_SCALE_BYTES;
#pragma unroll
  for (int it = 0; it < QCHUNKS / THREADS; ++it) {
    const int i = it * THREADS + threadIdx.x;
    const int key = k0 + i / (HEAD_DIM / 16);
    if (!filter.copies(key, key + 1)) continue;
    const bool valid = key < kv_len;
    cp_async_16(dst + i * 16, valid ? quants + i * 16 : pool, valid ? 16 : 0);
  }
  for (int i = threadIdx.x; i < SCHUNKS; i += THREADS) {
    const int key = k0 + i * KEYS_PER_SCHUNK;
    if (!filter.copies(key, key + KEYS_PER_SCHUNK)) continue;
    const int keys = min(kv_len - key, KEYS_PER_SCHUNK);
    const int bytes = keys > 0 ? keys * ROW_SCALE_BYTES : 0;  // the rest of the chunk is zero-filled
    cp_async_16(dst + QCHUNKS * 16 + i * 16, bytes ? scales + i * 16 : pool, bytes);
  }
}

// Four int8 quants (one 32-bit word) times the f16 scale pair d2 = (d, d), to two f16x2 words,
// each value rounded once: the quants become exact f16 through the exponent trick (byte | 0x6400
// is 1024 + byte; the xor made the byte q + 128, so subtracting 1152 leaves q), and f16 q * d is
// the exact product rounded to f16, what cvt.rn.f16.f32 of the (exact) f32 product gives.
__device__ __forceinline__ void q8x4_to_f16x4(u32 w, u32 d2, u32& lo, u32& hi) {
  const u32 x = w ^ 0x80808080u;
  const u32 magic = 0x64646464u;
  const u32 bias = 0x64806480u;  // (1152, 1152)
  u32 a, b;  // (1024 + byte 0, 1024 + byte 1), (byte 2, byte 3)
  asm("prmt.b32 %0, %1, %2, 0x4140;" : "=r"(a) : "r"(x), "r"(magic));
  asm("prmt.b32 %0, %1, %2, 0x4342;" : "=r"(b) : "r"(x), "r"(magic));
  asm("sub.rn.f16x2 %0, %0, %1;" : "+r"(a) : "r"(bias));
  asm("sub.rn.f16x2 %0, %0, %1;" : "+r"(b) : "r"(bias));
  asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(lo) : "r"(a), "r"(d2));
  asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(hi) : "r"(b), "r"(d2));
}

// Dequantizes the staged tile `src` (generic pointer to shared memory) into the f16 tile at
// `dst` (generic pointer, tile_offset<HEAD_DIM> layout): value = f16(q * d), rounded once.
template <int HEAD_DIM, int THREADS>
__device__ __forceinline__ void dequant_q8_tile(unsigned char* dst, const unsigned char* src) {
  constexpr int CH = HEAD_DIM / 16;  // 16-value chunks per row
  static_assert(kAttnTileKeys * CH % THREADS == 0, "dequant_q8_tile: the tile must split evenly over the threads");
  const kiln_dev::f16_bits* scales = reinterpret_cast<const kiln_dev::f16_bits*>(src + kAttnTileKeys * HEAD_DIM);
#pragma unroll
  for (int it = 0; it < kAttnTileKeys * CH / THREADS; ++it) {
    const int i = it * THREADS + threadIdx.x;
    const int row = i / CH, c = i % CH;
    const uint4 q = *reinterpret_cast<const uint4*>(src + i * 16);
    const u32 d = scales[row * (HEAD_DIM / kKvQ8Block) + c / 2];
    const u32 d2 = d | (d << 16);
    uint4 lo, hi;
    q8x4_to_f16x4(q.x, d2, lo.x, lo.y);
    q8x4_to_f16x4(q.y, d2, lo.z, lo.w);
    q8x4_to_f16x4(q.z, d2, hi.x, hi.y);
    q8x4_to_f16x4(q.w, d2, hi.z, hi.w);
    *reinterpret_cast<uint4*>(dst + tile_offset<HEAD_DIM>(row, 2 * c)) = lo;
    *reinterpret_cast<uint4*>(dst + tile_offset<HEAD_DIM>(row, 2 * c + 1)) = hi;
  }
}

}  // namespace kiln_attn
