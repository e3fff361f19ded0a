#pragma once
// From the fused QKV projection to attention's inputs, per token and head: optional per-head
// RMSNorm of q and k (qwen3, gemma3), RoPE of q and k, then q -> f16 [n_tokens][n_heads][head_dim]
// and k, v -> the paged cache at the token's position (slot from its sequence's page table).
// grid = (n_tokens, ceil((n_heads + 2 n_kv_heads) / kKvWriteWarps)); one warp per head, whose
// arithmetic is kv_rope.cuh's (shared with attn_decode_write, which does this at decode).
// Constants: HEAD_DIM, N_HEADS, N_KV_HEADS, N_ROT, PAGE_SIZE: shape (0: from params);
// ROPE (kRope*), QK_NORM, IN_F16, K_TYPE, V_TYPE (kKvF16 / kKvQ8_0, kv_types.h): variant.
#include "kv_rope.cuh"

template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int N_ROT, int PAGE_SIZE, int ROPE, int QK_NORM, int IN_F16,
          int K_TYPE, int V_TYPE>
__global__ void __launch_bounds__(kKvWriteWarps * 32) kv_write(const __grid_constant__ KvWriteParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  using kiln_dev::f16_bits;
  const int head_dim = HEAD_DIM ? HEAD_DIM : p.head_dim;
  const int n_heads = N_HEADS ? N_HEADS : p.n_heads;
  const int n_kv_heads = N_KV_HEADS ? N_KV_HEADS : p.n_kv_heads;
  const int page_size = PAGE_SIZE ? PAGE_SIZE : p.page_size;

  const int token = blockIdx.x;
  const int warp = threadIdx.x / 32;
  const int head = blockIdx.y * kKvWriteWarps + warp;  // over q heads, then k heads, then v heads
  const bool active = head < n_heads + 2 * n_kv_heads;
  const bool is_q = head < n_heads, is_v = head >= n_heads + n_kv_heads;

  // What no kernel writes comes before the wait: the position and the page table (host copies
  // before the step), the RoPE tables and the norm weights; the rotation is computed there too.
  // After it, only the QKV row's round trip is on the chain.
  using Rope = kiln_kv::Rope<HEAD_DIM, N_ROT, ROPE, QK_NORM, IN_F16>;
  typename Rope::Turn turn;
  typename Rope::NormWeights weights;
  int pos = 0, page = 0;
  if (active) {
    pos = p.positions[token];
    if (!is_v) {
      turn.load(p, pos);
      weights.load(p, is_q ? p.q_norm : p.k_norm);
    }
    if (!is_q) {
      const int seq = p.token_seq ? p.token_seq[token] : 0;
      page = p.page_table[static_cast<long long>(seq) * p.max_pages + pos / page_size];
    }
  }
  kiln_dev::wait_for_previous_kernel();
  if (!active) return;

  typename Rope::HeadRow row;
  row.load(p, token, head, !is_v);
  if (!is_v) row.norm_and_rope(p, weights, turn);
  if (is_q) {
    f16_bits* q_out = static_cast<f16_bits*>(p.q_out) + (static_cast<long long>(token) * n_heads + head) * head_dim;
    row.store_f16(p, true, q_out);
    return;
  }
  // The token's row in its page.
  const int kv_head = is_v ? head - n_heads - n_kv_heads : head - n_heads;
  const int type = is_v ? V_TYPE : K_TYPE;
  __shared__ float scratch[kKvWriteWarps][256];  // q8_0 rows (HeadRow::store)
  const kiln_kv::RowPlace place =
      kiln_kv::cache_row(is_v ? p.v_pool : p.k_pool, type, head_dim, n_kv_heads, page_size, page, kv_head,
                         pos % page_size);
  row.store(p, !is_v, type, place, scratch[warp]);
}
