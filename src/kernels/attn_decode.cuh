#pragma once
// Split-KV flash-decoding over the paged KV cache (f16 or q8_0 K and V): one query token per
// sequence.
//
// attn_decode: grid = (n_splits, n_kv_heads, n_seqs), 4 warps. A CTA takes the gqa query heads
// of one KV head and one contiguous share of the sequence's visible 64-key tiles (the split
// count is the grid's x; the share is computed from kv_len read on the device, so one CUDA graph
// serves every length of its split bucket). K/V tiles stream through a STAGES-deep cp.async ring;
// each warp takes 16 keys of a tile. The keys are the tensor cores' M side and the query heads
// their N side (n8: gqa <= 8 heads, no padding to 16 rows):
//   S^T[16 keys x 8 heads]  = K[16 x D] . Q^T          (A = K via ldmatrix, B = Q in registers)
//   O^T[D x 8 heads]       += V^T[D x 16 keys] . P^T   (A = V via ldmatrix.trans, B = P^T via movmatrix)
// with the online softmax per head (column) in log2 units. The 4 warps combine in shared memory;
// with one split the CTA writes the normalized f16 output itself, else it writes an unnormalized
// partial (acc, max, sum) to the workspace, and attn_decode_combine merges the splits.
//
// The K/V rows of earlier steps are copied before the PDL wait (see below): only this step's row
// comes from kv_write, the kernel before.
//
// attn_decode_write (attn_decode_write.cuh) is the same kernel doing kv_write's work for its step
// itself, so that decode has one kernel fewer a layer: after the wait each CTA normalizes and
// rotates its gqa query heads from the QKV rows into shared memory (kv_rope.cuh), and the CTA
// whose share holds this step's key does the same for the key and value rows, stores them in the
// cache for the steps to come and places them in its last tile's stage itself (its tile loads
// stop before that key, whose slot they zero-fill).
//
// q8_0 K or V (K_TYPE / V_TYPE = kKvQ8_0, kv_types.h): the ring stages hold the tile as stored
// (quants + scales: ~53% of the f16 bytes), and each tile is dequantized once into an f16 tile in
// shared memory (value = f16(q * d)) that the same ldmatrix / mma code reads.
//
// Constants: HEAD_DIM (always compiled in, see attn_prefill.cuh), GQA, N_KV_HEADS, WINDOW (-1:
// none), PAGE_SIZE: shape, 0 = from params. SINKS, K_TYPE, V_TYPE: variant. STAGES: tuning.
// attn_decode_write adds kv_write's N_ROT (shape), ROPE, QK_NORM and IN_F16 (variant).
#include "attn_common.cuh"
#include "attn_kv_q8.cuh"
#include "kv_rope.cuh"

namespace kiln_attn {

// Copies one token's row as stored (kiln_kv::packed_row: values, then q8_0 scales) into row `row`
// of a staged tile (generic pointer to shared memory): an f16 row into tile_offset's swizzled
// layout, q8_0 quants and scales into attn_kv_q8.cuh's two arrays. By all THREADS threads.
template <int TYPE, int HEAD_DIM, int THREADS>
__device__ __forceinline__ void place_row(unsigned char* stage, int row, const unsigned char* packed) {
  const u32* words = reinterpret_cast<const u32*>(packed);
  if constexpr (TYPE == kKvF16) {
    for (int w = threadIdx.x; w < HEAD_DIM / 2; w += THREADS)  // 4 words a 16-byte chunk
      *reinterpret_cast<u32*>(stage + tile_offset<HEAD_DIM>(row, w / 4) + (w % 4) * 4) = words[w];
  } else {
    constexpr int QUANT_WORDS = HEAD_DIM / 4, SCALE_WORDS = HEAD_DIM / kKvQ8Block / 2;
    for (int w = threadIdx.x; w < QUANT_WORDS + SCALE_WORDS; w += THREADS) {
      unsigned char* dst = w < QUANT_WORDS ? stage + row * HEAD_DIM + w * 4
                                           : stage + kAttnTileKeys * HEAD_DIM + row * (HEAD_DIM / kKvQ8Block) * 2 +
                                                 (w - QUANT_WORDS) * 4;
      *reinterpret_cast<u32*>(dst) = words[w];
    }
  }
}

// The body of attn_decode (WRITE 0: the rope constants unused) and attn_decode_write (WRITE 1).
template <int HEAD_DIM, int GQA, int N_KV_HEADS, int WINDOW, int PAGE_SIZE, int SINKS, int STAGES, int K_TYPE,
          int V_TYPE, int WRITE, int N_ROT, int ROPE, int QK_NORM, int IN_F16>
__device__ __forceinline__ void attn_decode_run(const AttnParams& p) {
  kiln_dev::allow_next_kernel_to_launch();
  using kiln_dev::f16_bits;
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128 || HEAD_DIM == 256, "attn_decode: head_dim 64, 128 or 256");
  static_assert(STAGES >= 2 && STAGES <= 8, "attn_decode: 2..8 stages");
  constexpr int D = HEAD_DIM;
  constexpr int WARPS = kAttnDecodeWarps;
  constexpr int THREADS = WARPS * 32;
  constexpr int BN = kAttnTileKeys;  // = 16 keys x 4 warps
  constexpr int KSTEPS = D / 16;
  constexpr int MTILES = D / 16;     // m16 tiles of O^T
  constexpr int TILE_BYTES = BN * D * 2;  // an f16 tile
  constexpr bool K_Q8 = K_TYPE == kKvQ8_0, V_Q8 = V_TYPE == kKvQ8_0;
  constexpr int K_STAGE_BYTES = BN * kv_row_bytes(K_TYPE, D), V_STAGE_BYTES = BN * kv_row_bytes(V_TYPE, D);
  static_assert(BN == 16 * WARPS, "attn_decode: one 16-key slice per warp");

  const int gqa = GQA ? GQA : p.gqa;
  const int n_kv_heads = N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads;
  const int window = WINDOW ? (WINDOW < 0 ? 0 : WINDOW) : p.window;
  const int page_size = PAGE_SIZE ? PAGE_SIZE : p.page_size;
  const int n_heads = gqa * n_kv_heads;

  const int split = blockIdx.x, n_splits = gridDim.x;
  const int kv_head = blockIdx.y, seq = blockIdx.z;
  const int token = p.q_start[seq];
  const int kv_len = p.kv_len[seq];
  const int k_lo = window ? max(0, kv_len - window) : 0;  // the query is at kv_len - 1
  const int first_tile = k_lo / BN;
  const int n_tiles = (kv_len + BN - 1) / BN - first_tile;
  // Split s takes tiles [s n / S, (s + 1) n / S): shares differ by one tile at most.
  const int tile_begin = first_tile + split * n_tiles / n_splits;
  const int tile_end = first_tile + (split + 1) * n_tiles / n_splits;
  const int* page_row = p.page_table + static_cast<long long>(seq) * p.max_pages;

  extern __shared__ __align__(128) unsigned char smem[];
  // [STAGES][K tile as stored], [STAGES][V tile as stored], then the dequantized f16 K and/or V
  // tile; WRITE: then the query heads, this step's K and V rows as stored, and the q8_0 scratch
  // (attn_decode_write_bytes).
  const u32 k_smem = smem_u32(smem);
  const u32 v_smem = k_smem + STAGES * K_STAGE_BYTES;
  unsigned char* const k_f16 = smem + STAGES * (K_STAGE_BYTES + V_STAGE_BYTES);
  unsigned char* const v_f16 = k_f16 + (K_Q8 ? TILE_BYTES : 0);
  f16_bits* const q_rows = reinterpret_cast<f16_bits*>(smem + attn_decode_tile_bytes(D, STAGES, K_TYPE, V_TYPE));
  unsigned char* const new_k = reinterpret_cast<unsigned char*>(q_rows + kAttnDecodeMaxGqa * D);
  unsigned char* const new_v = new_k + attn_decode_new_row_bytes(K_TYPE, D);
  float* const q8_scratch = reinterpret_cast<float*>(new_v + attn_decode_new_row_bytes(V_TYPE, D));

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;

  // WRITE: the loads stop before this step's key (its slot is zero-filled; the CTA places the row).
  const int load_len = WRITE ? kv_len - 1 : kv_len;
  auto load_tile = [&](int tile, int stage, KeyFilter filter) {
    if (tile < tile_end) {
      if constexpr (K_Q8)
        load_kv_tile_q8<D, THREADS>(k_smem + stage * K_STAGE_BYTES, static_cast<const unsigned char*>(p.k_pool),
                                    page_row, tile * BN, load_len, kv_head, n_kv_heads, page_size, filter);
      else
        load_kv_tile<D, THREADS>(k_smem + stage * K_STAGE_BYTES, static_cast<const f16_bits*>(p.k_pool), page_row,
                                 tile * BN, load_len, kv_head, n_kv_heads, page_size, filter);
      if constexpr (V_Q8)
        load_kv_tile_q8<D, THREADS>(v_smem + stage * V_STAGE_BYTES, static_cast<const unsigned char*>(p.v_pool),
                                    page_row, tile * BN, load_len, kv_head, n_kv_heads, page_size, filter);
      else
        load_kv_tile<D, THREADS>(v_smem + stage * V_STAGE_BYTES, static_cast<const f16_bits*>(p.v_pool), page_row,
                                 tile * BN, load_len, kv_head, n_kv_heads, page_size, filter);
    }
    cp_async_commit();  // empty groups keep the wait counts uniform
  };
  // This step's key (the query's own, at kv_len - 1) is the one kv_write, the kernel before,
  // stores; earlier steps wrote every other key of the cache (the lengths and page table come
  // from host copies before the graph). So the first stages' tiles, but for that key, are copied
  // before the PDL wait, under kv_write and the qkv product's tail; the key's row follows the wait
  // into its stage (a group of its own, drained by the wait at the sequence's last tile).
  // WRITE: the loads stop before that key anyway (load_len), and its row comes from this CTA.
  const int new_key = kv_len - 1, new_tile = new_key / BN;
  const bool has_new_key = new_tile >= tile_begin && new_tile < tile_end;
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) load_tile(tile_begin + s, s, {WRITE ? -1 : new_key, false});
  // WRITE: what kv_write's work reads that no kernel writes (the position, the page table: host
  // copies before the graph; the RoPE tables and norm weights) is read, and the rotation
  // computed, before the wait too: after it, only the QKV rows' round trip is on the chain.
  using Rope = kiln_kv::Rope<D, N_ROT, ROPE, QK_NORM, IN_F16>;
  const KvWriteParams& w = p.write;
  typename Rope::Turn turn;
  typename Rope::NormWeights q_weights, k_weights;
  int position = 0, page = 0;
  if constexpr (WRITE) {
    position = w.positions[token];  // = new_key: decode's token is its sequence's last
    turn.load(w, position);
    q_weights.load(w, w.q_norm);
    if (has_new_key) {
      k_weights.load(w, w.k_norm);
      page = page_row[position / page_size];
    }
  }
  kiln_dev::wait_for_previous_kernel();
  if constexpr (WRITE) {
    // kv_write's work for this CTA: its query heads into q_rows; where its share holds the new
    // key, that key's K and V rows into the cache and, as stored, into new_k / new_v. Row r is
    // warp r % WARPS's; a warp loads all its rows (one round trip) before it works on them.
    const int rows = gqa + (has_new_key ? 2 : 0);
    constexpr int MOST = (kAttnDecodeMaxGqa + 2 + WARPS - 1) / WARPS;  // rows a warp may get
    const auto head_of = [&](int r) {
      return r < gqa ? kv_head * gqa + r : n_heads + (r == gqa + 1 ? n_kv_heads : 0) + kv_head;
    };
    typename Rope::HeadRow mine[MOST];
#pragma unroll
    for (int i = 0; i < MOST; ++i) {
      const int r = warp + i * WARPS;
      if (r < rows) mine[i].load(w, token, head_of(r), r != gqa + 1);
    }
#pragma unroll
    for (int i = 0; i < MOST; ++i) {
      const int r = warp + i * WARPS;
      if (r >= rows) break;
      const bool is_q = r < gqa, is_v = r == gqa + 1;
      typename Rope::HeadRow& row = mine[i];
      if (!is_v) row.norm_and_rope(w, Rope::NormWeights::either(is_q, q_weights, k_weights), turn);
      if (is_q) {
        row.store_f16(w, true, q_rows + r * D);
        continue;
      }
      const int type = is_v ? V_TYPE : K_TYPE;
      float* scratch = q8_scratch + warp * 256;
      row.store(w, !is_v, type,
                kiln_kv::cache_row(is_v ? w.v_pool : w.k_pool, type, D, n_kv_heads, page_size, page, kv_head,
                                   position % page_size),
                scratch);
      row.store(w, !is_v, type, kiln_kv::packed_row(is_v ? new_v : new_k, type, D), scratch);
    }
    __syncthreads();
  } else if (new_tile >= tile_begin && new_tile < tile_begin + STAGES - 1) {
    load_tile(new_tile, (new_tile - tile_begin) % STAGES, {new_key, true});
  }

  // Q^T as the B operand: b0 = (dims 16kk + 2t, +1; head g), b1 = dims + 8. Heads >= gqa are 0.
  u32 qb[KSTEPS][2];
  {
    const f16_bits* q = (WRITE ? q_rows + min(g, gqa - 1) * D
                               : static_cast<const f16_bits*>(p.q) +
                                     (static_cast<long long>(token) * n_heads + kv_head * gqa + min(g, gqa - 1)) * D) +
                        2 * t;
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) {
      qb[kk][0] = g < gqa ? *reinterpret_cast<const u32*>(q + kk * 16) : 0u;
      qb[kk][1] = g < gqa ? *reinterpret_cast<const u32*>(q + kk * 16 + 8) : 0u;
    }
  }

  // This thread's accumulator: O^T m-tile i holds (dim 16i + g, heads 2t, 2t+1) in [0], [1] and
  // (dim 16i + g + 8, heads 2t, 2t+1) in [2], [3]; m, l per head column 2t + c.
  float o[MTILES][4];
#pragma unroll
  for (int i = 0; i < MTILES; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m[2] = {neg_inf(), neg_inf()}, l[2] = {0.f, 0.f};
  const float scale = p.scale_log2;
  // ldmatrix lanes: K as A (row-major 16 keys x 16 dims): key lane % 16, chunk + lane / 16.
  // V^T as A via .trans: key (lane % 8) + 8 (lane / 16), chunk + (lane / 8) % 2.
  const int ka_row = warp * 16 + lane % 16, ka_chunk = lane / 16;
  const int va_row = warp * 16 + lane % 8 + 8 * (lane / 16), va_chunk = (lane / 8) % 2;

  for (int tile = tile_begin; tile < tile_end; ++tile) {
    const int i = tile - tile_begin;
    if (tile == new_tile)
      cp_async_wait<0>();  // the last tile: nothing else useful is in flight
    else
      cp_async_wait<STAGES - 2>();
    __syncthreads();  // tile i is in; every warp is done with the stage the next load reuses
    load_tile(tile + STAGES - 1, (i + STAGES - 1) % STAGES, {});
    u32 ks = k_smem + (i % STAGES) * K_STAGE_BYTES, vs = v_smem + (i % STAGES) * V_STAGE_BYTES;
    if constexpr (WRITE) {
      if (tile == new_tile) {  // the stage is in (wait<0> above): the key's slot gets its row
        unsigned char* const k_stage = smem + (i % STAGES) * K_STAGE_BYTES;
        unsigned char* const v_stage = smem + STAGES * K_STAGE_BYTES + (i % STAGES) * V_STAGE_BYTES;
        place_row<K_TYPE, D, THREADS>(k_stage, new_key % BN, new_k);
        place_row<V_TYPE, D, THREADS>(v_stage, new_key % BN, new_v);
        __syncthreads();
      }
    }
    if constexpr (K_Q8 || V_Q8) {
      // The f16 copies of the last tile are free: every warp passed the barrier above after it.
      if constexpr (K_Q8) dequant_q8_tile<D, THREADS>(k_f16, smem + (i % STAGES) * K_STAGE_BYTES);
      if constexpr (V_Q8)
        dequant_q8_tile<D, THREADS>(v_f16, smem + STAGES * K_STAGE_BYTES + (i % STAGES) * V_STAGE_BYTES);
      __syncthreads();
      if constexpr (K_Q8) ks = smem_u32(k_f16);
      if constexpr (V_Q8) vs = smem_u32(v_f16);
    }

    float s[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) {
      u32 a[4];
      ldmatrix_x4(ks + tile_offset<D>(ka_row, 2 * kk + ka_chunk), a);
      mma_16816(s, a, qb[kk][0], qb[kk][1]);
    }
    // Keys outside [k_lo, kv_len) (tile edges; zero-filled past kv_len) score -inf.
    const int key0 = tile * BN + warp * 16 + g;
    if (key0 < k_lo || key0 >= kv_len) s[0] = s[1] = neg_inf();
    if (key0 + 8 < k_lo || key0 + 8 >= kv_len) s[2] = s[3] = neg_inf();

    float m_use[2];
#pragma unroll
    for (int c = 0; c < 2; ++c) {  // head column 2t + c: scores s[c] (key g) and s[c + 2] (key g + 8)
      float mx = fmaxf(s[c], s[c + 2]);
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 8));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 16));
      const float m_new = fmaxf(m[c], mx * scale);
      m_use[c] = m_new == neg_inf() ? 0.f : m_new;
      const float alpha = ex2(m[c] - m_use[c]);
      m[c] = m_new;
      l[c] *= alpha;
#pragma unroll
      for (int j = 0; j < MTILES; ++j) {
        o[j][c] *= alpha;
        o[j][c + 2] *= alpha;
      }
    }
    const float p0 = ex2(fmaf(s[0], scale, -m_use[0])), p1 = ex2(fmaf(s[1], scale, -m_use[1]));
    const float p2 = ex2(fmaf(s[2], scale, -m_use[0])), p3 = ex2(fmaf(s[3], scale, -m_use[1]));
    l[0] += p0 + p2;
    l[1] += p1 + p3;
    // P^T (keys x heads) in the C layout -> the B layout (keys 2t, 2t+1 / +8; head g): transpose
    // each 8x8 half.
    const u32 b0 = movmatrix_trans(pack_f16x2(p0, p1));
    const u32 b1 = movmatrix_trans(pack_f16x2(p2, p3));
#pragma unroll
    for (int j = 0; j < MTILES; ++j) {
      u32 a[4];
      ldmatrix_x4_trans(vs + tile_offset<D>(va_row, 2 * j + va_chunk), a);
      mma_16816(o[j], a, b0, b1);
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // the stages become the combine scratch

  // Per warp: l summed over its 16 keys (the 8 lanes of a column), then m, l and O^T to smem.
  float* ml = reinterpret_cast<float*>(smem);           // [WARPS][8 heads][2]
  float* acc = ml + WARPS * 16;                         // [WARPS][8 heads][D]
#pragma unroll
  for (int c = 0; c < 2; ++c) {
    l[c] += __shfl_xor_sync(0xffffffffu, l[c], 4);
    l[c] += __shfl_xor_sync(0xffffffffu, l[c], 8);
    l[c] += __shfl_xor_sync(0xffffffffu, l[c], 16);
    if (g == 0) {
      ml[(warp * 8 + 2 * t + c) * 2] = m[c];
      ml[(warp * 8 + 2 * t + c) * 2 + 1] = l[c];
    }
#pragma unroll
    for (int j = 0; j < MTILES; ++j) {
      acc[(warp * 8 + 2 * t + c) * D + 16 * j + g] = o[j][c];
      acc[(warp * 8 + 2 * t + c) * D + 16 * j + g + 8] = o[j][c + 2];
    }
  }
  __syncthreads();

  const int max_splits = p.max_splits;
  for (int i = threadIdx.x; i < gqa * D; i += THREADS) {
    const int h = i / D, d = i % D;
    float mx = neg_inf();
#pragma unroll
    for (int w = 0; w < WARPS; ++w) mx = fmaxf(mx, ml[(w * 8 + h) * 2]);
    float sum = 0.f, value = 0.f;
    if (mx != neg_inf()) {
#pragma unroll
      for (int w = 0; w < WARPS; ++w) {
        const float weight = ex2(ml[(w * 8 + h) * 2] - mx);
        sum += ml[(w * 8 + h) * 2 + 1] * weight;
        value += acc[(w * 8 + h) * D + d] * weight;
      }
    }
    const int head = kv_head * gqa + h;
    if (n_splits == 1) {
      if constexpr (SINKS) sum += ex2(p.sinks[head] * kLog2e - mx);
      static_cast<f16_bits*>(p.out)[(static_cast<long long>(token) * n_heads + head) * D + d] =
          kiln_dev::f32_to_f16(value / sum);
    } else {
      const long long slot = (static_cast<long long>(seq) * n_heads + head) * max_splits + split;
      p.partial_o[slot * D + d] = value;
      if (d == 0) {
        p.partial_ml[slot * 2] = mx;
        p.partial_ml[slot * 2 + 1] = sum;
      }
    }
  }
}
}  // namespace kiln_attn

template <int HEAD_DIM, int GQA, int N_KV_HEADS, int WINDOW, int PAGE_SIZE, int SINKS, int STAGES, int K_TYPE,
          int V_TYPE>
__global__ void __launch_bounds__(kAttnDecodeWarps * 32) attn_decode(const __grid_constant__ AttnParams p) {
  KILN_TRACE_KERNEL();
  kiln_attn::attn_decode_run<HEAD_DIM, GQA, N_KV_HEADS, WINDOW, PAGE_SIZE, SINKS, STAGES, K_TYPE, V_TYPE, 0, 0,
                             kRopeNone, 0, 0>(p);
}
