#pragma once
// One head of one token's fused-QKV row on its way into attention, handled by one warp: the
// per-head RMSNorm of q and k (qwen3, gemma3), RoPE of q and k, and the stores: an f16 row (a
// query, an f16 cache row) or a q8_0 cache row (quants, then scales: kv_types.h). kv_write.cuh
// runs it for every token of a batch, attn_decode_write (attn_decode.cuh) for decode's one token
// per sequence: one copy of the arithmetic, so both write the same cache.
// Lane l holds the head's element pairs l, l + 32, ... (a rotated pair: (i, i + n_rot/2) for
// NEOX, (2i, 2i + 1) for NORMAL; the rest, v included, in adjacent pairs).
//
// Everything a warp reads comes in one round of loads: the row values (HeadRow::load), the
// rotation of the token's position (Turn::load: every q and k row of a token turns alike) and the
// q or k norm weights at the lane's elements (NormWeights::load); the work starts after.
#include "common.cuh"
#include "kv_types.h"
#include "kv_write_params.h"

namespace kiln_kv {

using kiln_dev::f16_bits;

constexpr int kMaxPairs = 4;  // pairs a lane holds: head_dim <= 256

// Where one token's row of one KV head lives: f16 values, or q8_0 quants and their scales.
struct RowPlace {
  unsigned char* data;  // f16 [head_dim] or int8 [head_dim]
  f16_bits* scales;     // q8_0: [head_dim / 32]; unused for f16
};

// The row of slot `slot` of page `page` in a pool (kv_types.h: a page of one head is page_size
// rows of values, then, for q8_0, page_size rows of scales).
__device__ __forceinline__ RowPlace cache_row(void* pool, int type, int head_dim, int n_kv_heads, int page_size,
                                              int page, int kv_head, int slot) {
  unsigned char* block = static_cast<unsigned char*>(pool) + (static_cast<long long>(page) * n_kv_heads + kv_head) *
                                                                 page_size *
                                                                 static_cast<long long>(kv_row_bytes(type, head_dim));
  if (type == kKvF16) return {block + static_cast<long long>(slot) * head_dim * 2, nullptr};
  return {block + static_cast<long long>(slot) * head_dim,
          reinterpret_cast<f16_bits*>(block + static_cast<long long>(page_size) * head_dim) +
              static_cast<long long>(slot) * (head_dim / kKvQ8Block)};
}

// A row as stored, packed: values, then (q8_0) scales right after them.
__device__ __forceinline__ RowPlace packed_row(unsigned char* at, int type, int head_dim) {
  return {at, type == kKvF16 ? nullptr : reinterpret_cast<f16_bits*>(at + head_dim)};
}

// HEAD_DIM, N_ROT: 0 = from the params (generic build). ROPE (kRope*), QK_NORM, IN_F16: variant.
template <int HEAD_DIM, int N_ROT, int ROPE, int QK_NORM, int IN_F16>
struct Rope {
  static_assert(HEAD_DIM % 64 == 0 && HEAD_DIM <= 256, "kv_rope: head_dim a multiple of 64, <= 256");

  __device__ __forceinline__ static int head_dim(const KvWriteParams& p) { return HEAD_DIM ? HEAD_DIM : p.head_dim; }
  __device__ __forceinline__ static int half_rot(const KvWriteParams& p) { return (N_ROT ? N_ROT : p.n_rot) / 2; }
  // fn(i, a, b) for this lane's pairs i of a row, elements a and b (rotated: a q or k row).
  template <class Fn>
  __device__ __forceinline__ static void for_each_pair(const KvWriteParams& p, bool rotated, Fn fn) {
#pragma unroll
    for (int i = 0; i < kMaxPairs; ++i) {
      if (i >= head_dim(p) / 64) break;
      const int j = threadIdx.x % 32 + 32 * i;
      const bool neox_pair = ROPE == kRopeNeox && rotated && j < half_rot(p);
      fn(i, neox_pair ? j : 2 * j, neox_pair ? j + half_rot(p) : 2 * j + 1);
    }
  }

  // cos and sin (times YaRN's magnitude factor) of the angles of this lane's rotated pairs.
  struct Turn {
    float cos_t[kMaxPairs], sin_t[kMaxPairs];
    __device__ __forceinline__ void load(const KvWriteParams& p, int position) {
      if (ROPE == kRopeNone) return;
      const double pos = position;
#pragma unroll
      for (int i = 0; i < kMaxPairs; ++i) {
        const int j = threadIdx.x % 32 + 32 * i;
        if (i >= head_dim(p) / 64 || j >= half_rot(p)) break;
        // The angle in double, reduced to [-pi, pi] before the float sincos.
        const double theta = pos * p.inv_freq[j];
        const double two_pi = 6.283185307179586;
        const float reduced = static_cast<float>(theta - rint(theta / two_pi) * two_pi);
        __sincosf(reduced, &sin_t[i], &cos_t[i]);  // |error| ~ 2^-21 on [-pi, pi]; the output is f16
        cos_t[i] *= p.rope_mscale;
        sin_t[i] *= p.rope_mscale;
      }
    }
  };

  // The q or k norm's weights at this lane's elements of a rotated row.
  struct NormWeights {
    float w0[kMaxPairs], w1[kMaxPairs];
    __device__ __forceinline__ void load(const KvWriteParams& p, const float* weight) {
      if (!QK_NORM) return;
      for_each_pair(p, true, [&](int i, int a, int b) {
        w0[i] = weight[a];
        w1[i] = weight[b];
      });
    }
    // `first ? a : b` element by element: selects in registers (a reference chosen at run time
    // would put both in local memory).
    __device__ __forceinline__ static NormWeights either(bool first, const NormWeights& a, const NormWeights& b) {
      NormWeights out;
#pragma unroll
      for (int i = 0; i < kMaxPairs; ++i) {
        out.w0[i] = first ? a.w0[i] : b.w0[i];
        out.w1[i] = first ? a.w1[i] : b.w1[i];
      }
      return out;
    }
  };

  // One row: this lane's pairs of values.
  struct HeadRow {
    float x0[kMaxPairs], x1[kMaxPairs];

    // Loads row `head` of token `token` (the q heads, then the k heads, then the v heads);
    // `rotated`: a q or k head.
    __device__ __forceinline__ void load(const KvWriteParams& p, int token, int head, bool rotated) {
      const long long src = token * p.qkv_stride + static_cast<long long>(head) * head_dim(p);
      for_each_pair(p, rotated, [&](int i, int a, int b) {
        if (IN_F16) {
          const f16_bits* in = static_cast<const f16_bits*>(p.qkv) + src;
          x0[i] = kiln_dev::f16_to_f32(in[a]);
          x1[i] = kiln_dev::f16_to_f32(in[b]);
        } else {
          const float* in = static_cast<const float*>(p.qkv) + src;
          x0[i] = in[a];
          x1[i] = in[b];
        }
      });
    }

    // A q or k row's norm (QK_NORM, weights loaded for it) and rotation (ROPE).
    __device__ __forceinline__ void norm_and_rope(const KvWriteParams& p, const NormWeights& w, const Turn& turn) {
      const int pairs = head_dim(p) / 64;
      if (QK_NORM) {
        float ss = 0.f;
#pragma unroll
        for (int i = 0; i < kMaxPairs; ++i)
          if (i < pairs) ss += x0[i] * x0[i] + x1[i] * x1[i];
        const float r = 1.f / sqrtf(kiln_dev::warp_sum(ss) / head_dim(p) + p.norm_eps);
#pragma unroll
        for (int i = 0; i < kMaxPairs; ++i) {
          if (i >= pairs) break;
          x0[i] = x0[i] * r * w.w0[i];
          x1[i] = x1[i] * r * w.w1[i];
        }
      }
      if (ROPE != kRopeNone) {
#pragma unroll
        for (int i = 0; i < kMaxPairs; ++i) {
          if (i >= pairs || threadIdx.x % 32 + 32 * i >= half_rot(p)) break;
          const float a = x0[i], b = x1[i];
          x0[i] = a * turn.cos_t[i] - b * turn.sin_t[i];
          x1[i] = a * turn.sin_t[i] + b * turn.cos_t[i];
        }
      }
    }

    // This lane's pairs as f16 into a row of head_dim values (global or shared memory).
    __device__ __forceinline__ void store_f16(const KvWriteParams& p, bool rotated, f16_bits* dst) const {
      for_each_pair(p, rotated, [&](int i, int a, int b) {
        dst[a] = kiln_dev::f32_to_f16(x0[i]);
        dst[b] = kiln_dev::f32_to_f16(x1[i]);
      });
    }

    // The row as `type` stores it at `place`. q8_0: per block of 32, d = max|x| / 127 (kept as
    // f16), q = round(x / d) computed as round(x * (1 / d)) in f32, as ggml does (the GPU tests
    // repeat these exact operations); the values go through `scratch` (this warp's 256 floats of
    // shared memory) so that lane l holds value l of each block, and each block's max|x| is one
    // warp reduction.
    __device__ __forceinline__ void store(const KvWriteParams& p, bool rotated, int type, RowPlace place,
                                          float* scratch) const {
      if (type == kKvF16) {
        store_f16(p, rotated, reinterpret_cast<f16_bits*>(place.data));
        return;
      }
      for_each_pair(p, rotated, [&](int i, int a, int b) {
        scratch[a] = x0[i];
        scratch[b] = x1[i];
      });
      __syncwarp();
      const int lane = threadIdx.x % 32;
      signed char* quants = reinterpret_cast<signed char*>(place.data);
      for (int blk = 0; blk < head_dim(p) / kKvQ8Block; ++blk) {
        const float x = scratch[blk * kKvQ8Block + lane];
        float amax = fabsf(x);
#pragma unroll
        for (int o = 16; o > 0; o /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
        const float d = amax / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        quants[blk * kKvQ8Block + lane] = static_cast<signed char>(static_cast<int>(roundf(x * id)));
        if (lane == 0) place.scales[blk] = kiln_dev::f32_to_f16(d);
      }
      __syncwarp();  // the scratch may be refilled by this warp's next row
    }
  };
};

}  // namespace kiln_kv
