#pragma once
// Token sampling on the GPU in one CTA: repeat penalty, then greedy, or temperature with
// top-k, top-p and min-p. cpu/sampler.h is the same algorithm on the host (the test oracle).
// No sort: each filter is a threshold on the (tempered) logit, found by bisection over counts
// or masses; then one ordered scan draws the token. One CTA keeps the result deterministic
// (the same logits and draw always give the same token) and the logits (<= 1 MB) stay in L2.
#include "common.cuh"
#include "sample_params.h"

namespace kiln_sample {

constexpr int kThreads = 1024;

__device__ __forceinline__ float infinity() { return __int_as_float(0x7f800000); }

// Block-wide reductions over kThreads threads.
__device__ inline float block_sum(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  float total = 0.f;
  for (int w = 0; w < kThreads / 32; ++w) total += scratch[w];
  return total;
}

__device__ inline float block_max(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  float m = -infinity();
  for (int w = 0; w < kThreads / 32; ++w) m = fmaxf(m, scratch[w]);
  return m;
}

// Argmax with the lowest index winning ties.
__device__ inline void block_argmax(float v, int idx, float* sv, int* si, float* out_v, int* out_i) {
  for (int o = 16; o > 0; o >>= 1) {
    float ov = __shfl_xor_sync(0xffffffffu, v, o);
    int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ov > v || (ov == v && oi < idx)) { v = ov; idx = oi; }
  }
  __syncthreads();
  if ((threadIdx.x & 31) == 0) { sv[threadIdx.x >> 5] = v; si[threadIdx.x >> 5] = idx; }
  __syncthreads();
  v = sv[0]; idx = si[0];
  for (int w = 1; w < kThreads / 32; ++w)
    if (sv[w] > v || (sv[w] == v && si[w] < idx)) { v = sv[w]; idx = si[w]; }
  *out_v = v; *out_i = idx;
}

}  // namespace kiln_sample

// N_VOCAB: 0 = read p.n_vocab (generic).
template <int N_VOCAB>
__global__ void __launch_bounds__(1024) sample(const __grid_constant__ SampleParams p) {
  KILN_TRACE_KERNEL();
  kiln_dev::allow_next_kernel_to_launch();
  kiln_dev::wait_for_previous_kernel();
  using namespace kiln_sample;
  const int n = N_VOCAB ? N_VOCAB : p.n_vocab;
  __shared__ float scratch[kThreads / 32];
  __shared__ int scratch_i[kThreads / 32];
  const float* logits = p.logits;
  if (p.repeat_penalty != 1.f) {
    for (int i = threadIdx.x; i < p.n_recent; i += kThreads) {
      const int t = p.recent[i];
      const float l = p.logits[t];
      p.logits[t] = l > 0.f ? l / p.repeat_penalty : l * p.repeat_penalty;
    }
    __syncthreads();
  }

  float best = -infinity();
  int best_i = 0x7fffffff;
  for (int i = threadIdx.x; i < n; i += kThreads) {
    float v = logits[i];
    if (v > best) { best = v; best_i = i; }
  }
  float max_logit;
  int argmax;
  block_argmax(best, best_i, scratch, scratch_i, &max_logit, &argmax);
  if (p.temperature <= 0.f) {
    if (threadIdx.x == 0) *p.out_token = argmax;
    return;
  }
  const float inv_t = 1.f / p.temperature;
  // Weight of token i: exp((l_i - max) / T), in (0, 1]; the argmax has weight 1.
  auto weight = [&](float l) { return expf((l - max_logit) * inv_t); };

  // Threshold on the logit: tokens with logit >= lo are kept. Start with everything.
  float lo = -infinity();
  if (p.min_p > 0.f) lo = max_logit + logf(p.min_p) * p.temperature;  // weight >= min_p
  if (p.top_k > 0 && p.top_k < n) {
    // Bisect for the largest threshold keeping at least top_k tokens.
    float a = -1e30f, b = max_logit;  // count(>= b) >= 1; find t with count(>= t) >= k
    for (int it = 0; it < 40; ++it) {
      float mid = 0.5f * (a + b);
      float c = 0.f;
      for (int i = threadIdx.x; i < n; i += kThreads) c += logits[i] >= mid ? 1.f : 0.f;
      c = block_sum(c, scratch);
      if (c >= p.top_k) a = mid; else b = mid;
    }
    lo = fmaxf(lo, a);
  }
  if (p.top_p < 1.f) {
    float total = 0.f;
    for (int i = threadIdx.x; i < n; i += kThreads) total += logits[i] >= lo ? weight(logits[i]) : 0.f;
    total = block_sum(total, scratch);
    // Largest threshold whose kept mass is still >= top_p of the total.
    float a = lo < -1e30f ? -1e30f : lo, b = max_logit;
    for (int it = 0; it < 40; ++it) {
      float mid = 0.5f * (a + b);
      float m = 0.f;
      for (int i = threadIdx.x; i < n; i += kThreads) m += logits[i] >= mid ? weight(logits[i]) : 0.f;
      m = block_sum(m, scratch);
      if (m >= p.top_p * total) a = mid; else b = mid;
    }
    lo = fmaxf(lo, a);
  }
  float mass = 0.f;
  for (int i = threadIdx.x; i < n; i += kThreads) mass += logits[i] >= lo ? weight(logits[i]) : 0.f;
  mass = block_sum(mass, scratch);
  const float target = p.uniform * mass;

  // Ordered draw: chunks of kThreads tokens; a block scan finds the chunk and token where the
  // running mass passes the target.
  __shared__ float running;
  __shared__ int chosen;
  if (threadIdx.x == 0) { running = 0.f; chosen = argmax; }
  __syncthreads();
  for (int base = 0; base < n; base += kThreads) {
    int i = base + threadIdx.x;
    float w = (i < n && logits[i] >= lo) ? weight(logits[i]) : 0.f;
    // Inclusive scan within the warp, then across warps.
    float s = w;
    for (int o = 1; o < 32; o <<= 1) {
      float t = __shfl_up_sync(0xffffffffu, s, o);
      if ((threadIdx.x & 31) >= o) s += t;
    }
    if ((threadIdx.x & 31) == 31) scratch[threadIdx.x >> 5] = s;
    __syncthreads();
    float warp_offset = 0.f;
    for (int wi = 0; wi < (int)(threadIdx.x >> 5); ++wi) warp_offset += scratch[wi];
    float inclusive = running + warp_offset + s;
    float exclusive = inclusive - w;
    bool hit = w > 0.f && exclusive <= target && target < inclusive;
    __syncthreads();
    if (hit) chosen = i;
    if (threadIdx.x == kThreads - 1) running = inclusive;
    __syncthreads();
    if (running > target) break;
  }
  if (threadIdx.x == 0) *p.out_token = chosen;
}
