#pragma once
// Arguments of rope.cuh. Included by the host (which fills it) and by the kernel (NVRTC),
// so plain data only: no host- or device-only constructs.

struct RopeParams {
  void* q;                    // [n_tokens] rows of n_heads * head_dim, float or f16 bits; rotated in place
  void* k;                    // [n_tokens] rows of n_kv_heads * head_dim; may be null when n_kv_heads == 0
  const int* positions;       // [n_tokens]
  const float* freq_factors;  // [n_rot / 2] or null: pair i's frequency is divided by it (llama3 rope_freqs)
  long long q_token_stride;   // elements from one token's q row to the next (even, >= n_heads * head_dim)
  long long k_token_stride;
  int n_tokens;
  int n_heads;
  int n_kv_heads;
  float freq_scale;           // positions are multiplied by it (linear scaling: 1 / factor)
  int head_dim;               // the rest is read by the generic build only
  int n_rot;                  // rotated dims at the start of each head (even, <= head_dim)
  float freq_base;
};
