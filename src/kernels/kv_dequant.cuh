#pragma once
// The f16 view of a batch's KV pages for attn_prefill, which reads f16 pools only: every page a
// batch entry holds (its kv_len, rounded up to pages) is copied, dequantized where its pool is
// q8_0 (value = f16(q * d), as attn_decode computes it), into a scratch pool whose page table is
// the identity (page j of entry s is scratch page s * max_pages + j). Run per layer before the
// prefill, when either pool is q8_0 (an f16 pool is copied as is: both views share one table).
// grid = (max_pages, 2 n_kv_heads: K heads then V heads, n_seqs); 16 values per thread-step.
// Constants: HEAD_DIM, N_KV_HEADS, PAGE_SIZE: shape (0: from params); K_TYPE, V_TYPE: variant.
#include "common.cuh"
#include "kv_dequant_params.h"

template <int HEAD_DIM, int N_KV_HEADS, int PAGE_SIZE, int K_TYPE, int V_TYPE>
__global__ void __launch_bounds__(kKvDequantThreads) kv_dequant(const __grid_constant__ KvDequantParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  const int head_dim = HEAD_DIM ? HEAD_DIM : p.head_dim;
  const int n_kv_heads = N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads;
  const int page_size = PAGE_SIZE ? PAGE_SIZE : p.page_size;
  const int j = blockIdx.x, seq = blockIdx.z;
  const bool is_v = static_cast<int>(blockIdx.y) >= n_kv_heads;
  const int kv_head = is_v ? blockIdx.y - n_kv_heads : blockIdx.y;
  if (j * page_size >= p.kv_len[seq]) return;
  const int type = is_v ? V_TYPE : K_TYPE;
  const int page = p.page_table[static_cast<long long>(seq) * p.max_pages + j];
  const unsigned char* src = static_cast<const unsigned char*>(is_v ? p.v_pool : p.k_pool) +
                             (static_cast<long long>(page) * n_kv_heads + kv_head) * page_size *
                                 static_cast<long long>(kv_row_bytes(type, head_dim));
  uint4* dst = reinterpret_cast<uint4*>(static_cast<unsigned char*>(is_v ? p.v_out : p.k_out) +
                                        ((static_cast<long long>(seq) * p.max_pages + j) * n_kv_heads + kv_head) *
                                            page_size * head_dim * 2LL);
  const int chunks = page_size * head_dim / 16;  // 16 values each
  if (type == kKvF16) {
    const uint4* s = reinterpret_cast<const uint4*>(src);
    for (int i = threadIdx.x; i < 2 * chunks; i += kKvDequantThreads) dst[i] = s[i];
    return;
  }
  const uint4* quants = reinterpret_cast<const uint4*>(src);
  const kiln_dev::f16_bits* scales = reinterpret_cast<const kiln_dev::f16_bits*>(src + page_size * head_dim);
  for (int i = threadIdx.x; i < chunks; i += kKvDequantThreads) {
    const uint4 q = quants[i];
    const float d = kiln_dev::f16_to_f32(scales[i / 2]);  // 32 values per scale: chunks 2b, 2b + 1
    const unsigned int w[4] = {q.x, q.y, q.z, q.w};
    unsigned int h[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const float lo = static_cast<float>(static_cast<int>(w[k / 2] << (24 - 16 * (k % 2))) >> 24) * d;
      const float hi = static_cast<float>(static_cast<int>(w[k / 2] << (16 - 16 * (k % 2))) >> 24) * d;
      h[k] = kiln_dev::f32x2_to_f16x2(lo, hi);
    }
    dst[2 * i] = make_uint4(h[0], h[1], h[2], h[3]);
    dst[2 * i + 1] = make_uint4(h[4], h[5], h[6], h[7]);
  }
}
