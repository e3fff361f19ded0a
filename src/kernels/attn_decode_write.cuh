#pragma once
// attn_decode with kv_write's work for its step folded in (attn_decode.cuh says how): decode's
// q/k norm, RoPE and KV-cache store of the one new token per sequence, then its attention, in
// one kernel. p.write holds kv_write's arguments (kv_write_params.h); p.q is not read.
// Constants: attn_decode's, then N_ROT (shape, 0: from p.write), ROPE, QK_NORM, IN_F16 (variant,
// as kv_write's).
#include "attn_decode.cuh"

template <int HEAD_DIM, int GQA, int N_KV_HEADS, int WINDOW, int PAGE_SIZE, int SINKS, int STAGES, int K_TYPE,
          int V_TYPE, int N_ROT, int ROPE, int QK_NORM, int IN_F16>
__global__ void __launch_bounds__(kAttnDecodeWarps * 32) attn_decode_write(const __grid_constant__ AttnParams p) {
  KILN_TRACE_KERNEL();
  kiln_attn::attn_decode_run<HEAD_DIM, GQA, N_KV_HEADS, WINDOW, PAGE_SIZE, SINKS, STAGES, K_TYPE, V_TYPE, 1, N_ROT,
                             ROPE, QK_NORM, IN_F16>(p);
}
