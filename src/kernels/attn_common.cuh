#pragma once
// Device helpers of the attention kernels (attn_prefill, attn_decode) beside mma_sync.cuh's: exp2,
// f16 packing, the wgmma wrappers, the swizzled
// shared-memory layout of a [rows][head_dim] f16 tile and the K/V tile loader over the paged
// cache (attn_params.h describes the layout).
#include "async_copy.cuh"
#include "attn_params.h"
#include "common.cuh"
#include "mma_sync.cuh"

namespace kiln_attn {

using namespace kiln_async;  // mbarriers, the async-proxy fence (attn_prefill_ws)
using namespace kiln_mma;

constexpr float kLog2e = 1.4426950408889634f;
__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000u); }

// 2^x (MUFU.EX2; relative error ~2^-22; exp2(-inf) = 0).
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ u32 pack_f16x2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// ---- wgmma (sm_90a only: instantiated only by kernels whose WGMMA constant is 1) ----
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }
// Keeps the compiler from moving accumulator accesses across a wgmma wait.
template <int N>
__device__ __forceinline__ void pin_registers(float* d) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// The same for wgmma's A fragments: the tensor cores read them asynchronously until the wait, so
// they must stay live and unmoved until then (pin before the issue and after the wait).
template <int N>
__device__ __forceinline__ void pin_fragments(u32 (*a)[4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) asm volatile("" : "+r"(a[i][j])::"memory");
}
// Descriptor of an operand in the 128-byte swizzle layout (see desc_sw128) with explicit strides:
// for the MN-major V operand with N = 128 (two 64-column swizzle atoms), the leading byte offset
// is the distance between the atoms along N and the stride byte offset the 1024 B between 8-key
// groups along K (CUTLASS's canonical GMMA layouts).
__device__ __forceinline__ unsigned long long desc_sw128_strides(u32 smem_addr, u32 leading, u32 stride) {
  unsigned long long desc = static_cast<unsigned long long>((smem_addr & 0x3FFFFu) >> 4);
  desc |= static_cast<unsigned long long>((leading >> 4) & 0x3FFFu) << 16;
  desc |= static_cast<unsigned long long>((stride >> 4) & 0x3FFFu) << 32;
  desc |= 1ull << 62;  // 128-byte swizzle
  return desc;
}

// Descriptor of a B operand in the 128-byte swizzle layout: rows of 64 f16 (128 B), chunk c of
// row r at chunk c ^ (r % 8), 8-row groups 1024 B apart, the pattern starting 1024-byte aligned.
// K-major (the rows are N, the 128 B along K; a k16 step adds 32 B) or MN-major (the rows are K,
// the 128 B along N: 64 columns; a k16 step adds 2048 B). One descriptor covers N <= 64 in the
// MN-major case, so the offset between 64-column blocks is never used; both strides are given as
// the 1024 B of an 8-row group, which is right for either reading of the two fields.
__device__ __forceinline__ unsigned long long desc_sw128(u32 smem_addr) {
  return desc_sw128_strides(smem_addr, 1024, 1024);
}

// D[64 x 64] += A[64 x 16] . B[16 x 64]: A from registers (warp w of the warpgroup holds rows
// 16w..16w+15 in the m16n8k16 A fragment layout), B through a descriptor (TRANS_B 0: K-major,
// 1: MN-major). d[4j + e] is the m16n8 C fragment of column block j.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n64k16(float* d, const u32 (&a)[4], unsigned long long desc_b) {
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, 1, 1, 1, %37;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "n"(TRANS_B));
}


// D[64 x 128] += A[64 x 16] . B[16 x 128] (as wgmma_m64n64k16, twice the columns: d[4j + e] is
// the m16n8 C fragment of column block j = 0..15).
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n128k16(float* d, const u32 (&a)[4], unsigned long long desc_b) {
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, 1, 1, 1, %69;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "n"(TRANS_B));
}

// Byte offset of 16-byte chunk `chunk` of row `row` in a [rows][head_dim] f16 tile stored as
// head_dim/64 blocks of [rows][64] in the 128-byte swizzle layout (what wgmma reads).
template <int HEAD_DIM>
__device__ __forceinline__ u32 tile_offset_sw128(int row, int chunk) {
  return static_cast<u32>((chunk / 8) * kAttnTileKeys * 128 + row * 128 + (((chunk % 8) ^ (row & 7)) << 4));
}

// Byte offset of 16-byte chunk `chunk` of row `row` in a [rows][head_dim] f16 tile. The chunk
// index is XORed with row % 8, so the 8 rows an ldmatrix reads at one logical chunk land in 8
// different 16-byte bank groups (rows are 128 B multiples: without it, 8-way conflicts).
template <int HEAD_DIM>
__device__ __forceinline__ u32 tile_offset(int row, int chunk) {
  return static_cast<u32>(row * HEAD_DIM * 2 + ((chunk ^ (row & 7)) << 4));
}

// Which keys of a tile a load copies: every key (key < 0), every key but `key`, or only `key`.
// Decode copies the keys earlier steps wrote before its PDL wait and this step's key (written by
// kv_write, the kernel before) after it. A chunk holding several keys (q8_0 scales) counts as
// holding `key` if any of them is.
struct KeyFilter {
  int key = -1;
  bool only = false;
  __device__ __forceinline__ bool copies(int lo, int hi) const {  // the chunk of keys [lo, hi)
    const bool has = key >= lo && key < hi;
    return only ? has : !has;
  }
};

// Issues the cp.async copies of keys [k0, k0 + kAttnTileKeys) of KV head `kv_head` from one pool
// into a swizzled tile at `dst` (shared address), those `filter` takes. The tile lies in one page
// (page_size is a multiple of the tile). Keys at or past kv_len are zero-filled: the cache past a
// sequence's length holds whatever was there, and 0 x NaN would poison the P.V product.
// SW128 = 1: the wgmma layout (tile_offset_sw128) instead of tile_offset's.
template <int HEAD_DIM, int THREADS, int SW128 = 0>
__device__ __forceinline__ void load_kv_tile(u32 dst, const kiln_dev::f16_bits* pool, const int* page_row, int k0,
                                             int kv_len, int kv_head, int n_kv_heads, int page_size,
                                             KeyFilter filter = {}) {
  constexpr int CHUNKS = HEAD_DIM / 8;  // 16-byte chunks per row
  const int page = page_row[k0 / page_size];
  const long long base =
      ((static_cast<long long>(page) * n_kv_heads + kv_head) * page_size + k0 % page_size) * HEAD_DIM;
  const kiln_dev::f16_bits* src = pool + base;
  static_assert(kAttnTileKeys * CHUNKS % THREADS == 0, "load_kv_tile: the tile must split evenly over the threads");
#pragma unroll
  for (int it = 0; it < kAttnTileKeys * CHUNKS / THREADS; ++it) {
    const int i = it * THREADS + threadIdx.x;
    const int row = i / CHUNKS, chunk = i % CHUNKS;
    if (!filter.copies(k0 + row, k0 + row + 1)) continue;
    const bool valid = k0 + row < kv_len;
    const u32 offset = SW128 ? tile_offset_sw128<HEAD_DIM>(row, chunk) : tile_offset<HEAD_DIM>(row, chunk);
    cp_async_16(dst + offset, valid ? src + row * HEAD_DIM + chunk * 8 : pool, valid ? 16 : 0);
  }
}

}  // namespace kiln_attn
