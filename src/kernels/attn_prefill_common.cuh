#pragma once
// What the two prefill attention kernels (attn_prefill.cuh, attn_prefill_ws.cuh) do alike: split
// the work among CTAs, mask a tile of scores, and write a warp's 16 query rows at the end. A
// thread holds rows g = lane / 4 and g + 8 of its warp's 16, in the m16n8 C fragment layout
// (element e of n8 tile nt: row g + 8 (e / 2), column 8 nt + 2 (lane % 4) + e % 2).
#include "attn_common.cuh"

namespace kiln_attn {

// Issues the cp.async copies of the 64 keys [k0, k0 + 64) (one page part) of KV head `kv_head`
// into rows row0 .. row0 + 63 (row0 a multiple of 8) of a ROWS-key tile at `dst` stored as
// head_dim / 64 blocks of [ROWS][64] in the 128-byte swizzle layout, with THREADS threads. Keys
// at or past `limit` are zero-filled and not read (no page lookup when the whole part is past
// it): the cache past a sequence holds whatever was there, and 0 x NaN would poison P V. Thread
// t copies chunk t % CHUNKS of the rows t / CHUNKS + j THREADS / CHUNKS: a multiple of 8 rows
// apart, so its swizzled chunk is the same in all of them and one offset plus immediates address
// them (the warp-specialized kernel's producer has 24 registers).
template <int HEAD_DIM, int THREADS, int ROWS>
__device__ __forceinline__ void load_kv_part(u32 dst, const kiln_dev::f16_bits* pool, const int* page_row, int k0,
                                             int limit, int row0, int kv_head, int n_kv_heads, int page_size) {
  constexpr int CHUNKS = HEAD_DIM / 8, ROWS_PER_PASS = THREADS / CHUNKS;
  static_assert(THREADS % CHUNKS == 0 && ROWS_PER_PASS % 8 == 0 && kAttnTileKeys % ROWS_PER_PASS == 0,
                "load_kv_part: each pass must cover whole 8-row swizzle groups");
  const int chunk = threadIdx.x % CHUNKS, row = threadIdx.x / CHUNKS;
  const int rows = min(max(limit - k0, 0), kAttnTileKeys);  // rows of the part inside the sequence
  const int page = rows > 0 ? page_row[k0 / page_size] : 0;
  const long long at =
      (((static_cast<long long>(page) * n_kv_heads + kv_head) * page_size + k0 % page_size) + row) * HEAD_DIM +
      chunk * 8;
  const u32 dst0 = dst + static_cast<u32>((chunk / 8) * ROWS * 128 + (row0 + row) * 128 + (((chunk % 8) ^ (row & 7)) << 4));
#pragma unroll
  for (int j = 0; j < kAttnTileKeys / ROWS_PER_PASS; ++j) {
    const bool valid = row + ROWS_PER_PASS * j < rows;
    cp_async_16(dst0 + ROWS_PER_PASS * j * 128, valid ? pool + at + ROWS_PER_PASS * j * HEAD_DIM : pool,
                valid ? 16 : 0);
  }
}

// Masks the scores of the keys [k0, k0 + 8 STILES) a row must not see: keys after its position
// row_pos (causal; this also covers keys >= kv_len) or, with a window, window or more before it.
template <int STILES>
__device__ __forceinline__ void mask_scores(float (&s)[STILES][4], int k0, int t, const int (&row_pos)[2],
                                            int window) {
#pragma unroll
  for (int nt = 0; nt < STILES; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = k0 + nt * 8 + 2 * t + (e & 1);
      const int pos = row_pos[e >> 1];
      if (key > pos || (window && pos - key >= window)) s[nt][e] = neg_inf();
    }
}

// The online softmax's new running max of the thread's two rows over a tile of scores s (a row's
// scores spread over the 4 threads of a quad; log2 units after `scale`): updates m, scales the
// running sums l, and returns per row the max to subtract from the scores (m_use: 0 for a row
// that has seen no key yet, so its scores stay -inf -> 0) and the factor alpha the row's O must
// be rescaled by.
template <int STILES>
__device__ __forceinline__ void update_row_max(const float (&s)[STILES][4], float scale, float (&m)[2], float (&l)[2],
                                               float (&m_use)[2], float (&alpha)[2]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float mx = neg_inf();
#pragma unroll
    for (int nt = 0; nt < STILES; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * h], s[nt][2 * h + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(m[h], mx * scale);
    m_use[h] = m_new == neg_inf() ? 0.f : m_new;
    alpha[h] = ex2(m[h] - m_use[h]);
    m[h] = m_new;
    l[h] *= alpha[h];
  }
}

// Where a CTA's rows go: the row tile [r0, r0 + BLOCK_M) of rows (token, head) = (r / gqa,
// kv_head gqa + r % gqa) of one sequence, n_rows of them; `part` indexes its partials when the
// row tile's keys are split (splits > 1).
struct PrefillRows {
  int r0, n_rows, q_begin, kv_head, gqa, n_heads;
  int splits;
  long long part;
};

// A prefill CTA's share of the work. grid = (row tiles of the longest sequence x splits,
// n_kv_heads, n_seqs); the last row tiles, which see the most keys under the causal mask, start
// first. Its rows are BLOCK_M of the (token, head) pairs of the gqa query heads sharing KV head
// blockIdx.y, token-major; its keys run from the first row's window start to the last row's
// position, in iterations of BN keys (a whole number of 64-key tiles; the last may run past
// tile_end: zero-filled, masked), of which split s of `splits` takes the s-th share. Shape
// constants as the kernels' (0: read from params).
template <int GQA, int N_KV_HEADS, int WINDOW, int PAGE_SIZE, int BLOCK_M, int BN>
struct PrefillWork {
  int gqa, n_kv_heads, window, page_size, n_heads;
  int seq, kv_head, q_begin, n_rows, splits, split, n_tiles, tile, r0;
  int kv_len, pos0, pos_first, pos_last;  // pos0: position of the sequence's first new token
  int tile_end;                           // 64-key tiles of the row tile end here
  int k_first, n_iters;                   // the CTA's keys: [k_first, k_first + n_iters BN)
  const int* page_row;

  __device__ __forceinline__ explicit PrefillWork(const AttnParams& p) {
    gqa = GQA ? GQA : p.gqa;
    n_kv_heads = N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads;
    window = WINDOW ? (WINDOW < 0 ? 0 : WINDOW) : p.window;
    page_size = PAGE_SIZE ? PAGE_SIZE : p.page_size;
    n_heads = gqa * n_kv_heads;
    seq = blockIdx.z;
    kv_head = blockIdx.y;
    q_begin = p.q_start[seq];
    const int n_q = p.q_start[seq + 1] - q_begin;
    n_rows = n_q * gqa;
    splits = p.splits > 1 ? p.splits : 1;
    split = blockIdx.x % splits;
    n_tiles = gridDim.x / splits;
    tile = n_tiles - 1 - blockIdx.x / splits;
    r0 = tile * BLOCK_M;
    kv_len = p.kv_len[seq];
    pos0 = kv_len - n_q;
    page_row = p.page_table + static_cast<long long>(seq) * p.max_pages;
    const int row_last = min(r0 + BLOCK_M, n_rows) - 1;
    pos_first = pos0 + r0 / gqa;
    pos_last = pos0 + row_last / gqa;
    const int k_lo = window ? max(0, pos_first - window + 1) : 0;
    const int tile_begin = k_lo / kAttnTileKeys;
    tile_end = (pos_last + 1 + kAttnTileKeys - 1) / kAttnTileKeys;
    constexpr int TILES = BN / kAttnTileKeys;
    const int n_iters_all = (tile_end - tile_begin + TILES - 1) / TILES;
    const int it_begin = split * n_iters_all / splits;
    n_iters = (split + 1) * n_iters_all / splits - it_begin;
    k_first = tile_begin * kAttnTileKeys + it_begin * BN;
  }
  // No rows: a row tile past this sequence's (the grid is sized for the longest).
  __device__ __forceinline__ bool empty() const { return r0 >= n_rows; }
  // Position of the thread's row r of the tile (padding rows take the last row's: they see keys
  // and stay finite, never stored).
  __device__ __forceinline__ int row_pos(int r) const { return pos0 + min(r0 + r, n_rows - 1) / gqa; }
  // Whether the keys [k0, k0 + BN) cross an edge of some row's visible range (only those tiles
  // are masked): keys after the first row's position, or before the last row's window start.
  __device__ __forceinline__ bool edge(int k0) const {
    return k0 + BN - 1 > pos_first || (window && k0 <= pos_last - window);
  }
  __device__ __forceinline__ PrefillRows rows() const {
    const long long part = ((static_cast<long long>(seq) * n_kv_heads + kv_head) * n_tiles + tile) * splits + split;
    return {r0, n_rows, q_begin, kv_head, gqa, n_heads, splits, part};
  }
};

// The end of a warp (rows 16 warp .. 16 warp + 15 of the CTA's tile): with key splits, O, the
// running max m and the row sums l unnormalized for attn_prefill_combine; else O / l (sinks join
// the sum, in log2 units) as f16, staged in the warp's own 16 rows of a shared-memory tile
// (`stage` + offset(row, 16-byte chunk)) and stored 16 bytes at a time.
template <int D, int BLOCK_M, int SINKS, class Offset>
__device__ __forceinline__ void finish_rows(const AttnParams& p, const PrefillRows& rows, const float (&o)[D / 8][4],
                                            const float (&m)[2], const float (&l)[2], int warp, u32 stage,
                                            Offset offset) {
  constexpr int CHUNKS = D / 8;
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  float sum[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    sum[h] = l[h];
    sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 1);
    sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 2);
  }
  if (rows.splits > 1) {
    // A split with no iterations writes m = -inf, l = 0; padding rows too (the combine skips them).
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = warp * 16 + g + 8 * h;
      float* o_row = p.partial_o + (rows.part * BLOCK_M + row) * D;
#pragma unroll
      for (int i = 0; i < D / 8; ++i)
        *reinterpret_cast<float2*>(o_row + 8 * i + 2 * t) = make_float2(o[i][2 * h], o[i][2 * h + 1]);
      if (t == 0)
        *reinterpret_cast<float2*>(p.partial_ml + (rows.part * BLOCK_M + row) * 2) = make_float2(m[h], sum[h]);
    }
    return;
  }
  float inv_l[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if constexpr (SINKS) {
      const int r = min(rows.r0 + warp * 16 + g + 8 * h, rows.n_rows - 1);
      sum[h] += ex2(p.sinks[rows.kv_head * rows.gqa + r % rows.gqa] * kLog2e - m[h]);
    }
    inv_l[h] = 1.f / sum[h];
  }
  __syncwarp();
#pragma unroll
  for (int i = 0; i < D / 8; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = warp * 16 + g + 8 * h;
      const u32 v = pack_f16x2(o[i][2 * h] * inv_l[h], o[i][2 * h + 1] * inv_l[h]);
      asm volatile("st.shared.u32 [%0], %1;" ::"r"(stage + offset(row, i) + t * 4), "r"(v) : "memory");
    }
  __syncwarp();
  kiln_dev::f16_bits* out = static_cast<kiln_dev::f16_bits*>(p.out);
#pragma unroll
  for (int it = 0; it < 16 * CHUNKS / 32; ++it) {
    const int i = it * 32 + lane;
    const int row = i / CHUNKS, chunk = i % CHUNKS;
    const int r = rows.r0 + warp * 16 + row;
    if (r >= rows.n_rows) continue;
    const int token = r / rows.gqa, head = rows.kv_head * rows.gqa + r % rows.gqa;
    uint4 v;
    asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "r"(stage + offset(warp * 16 + row, chunk)));
    *reinterpret_cast<uint4*>(out + (static_cast<long long>(rows.q_begin + token) * rows.n_heads + head) * D +
                              chunk * 8) = v;
  }
}

}  // namespace kiln_attn
