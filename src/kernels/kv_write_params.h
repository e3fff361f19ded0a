#pragma once
// Arguments of kv_write.cuh: the step between the fused QKV projection and attention. Included
// by the host (which fills it) and by the kernel (NVRTC): plain data only.

// Rotary pairing (the rope constant of the key).
enum : int {
  kRopeNone = 0,
  kRopeNormal = 1,  // rotates (x[2i], x[2i+1]): llama
  kRopeNeox = 2,    // rotates (x[i], x[i + n_rot/2]): qwen2/qwen3/gemma3/gpt-oss
};

struct KvWriteParams {
  const void* qkv;          // f32 or f16 (key in_f16) [n_tokens][qkv_stride]: per token the n_heads q
                            // heads, then n_kv_heads k heads, then n_kv_heads v heads (bias added)
  long long qkv_stride;     // elements from one token's row to the next
  const int* positions;     // [n_tokens]: position of each token in its sequence
  const int* token_seq;     // [n_tokens]: batch entry (page_table row) of each token; null: all row 0
  const int* page_table;    // [n_seqs][max_pages] (engine/kv_cache.h)
  int max_pages;
  const float* q_norm;      // [head_dim] RMSNorm weights of every q head (key qk_norm), else null
  const float* k_norm;      // [head_dim]
  float norm_eps;
  // Pair i (< n_rot/2) turns by position * inv_freq[i] (frequency scaling, llama3 divisors and
  // the YaRN ramp already folded in by the host, in double: positions reach 1e5+ radians), and
  // cos/sin are multiplied by rope_mscale (YaRN's magnitude factor; 1 otherwise).
  const double* inv_freq;
  float rope_mscale;
  void* q_out;              // f16 [n_tokens][n_heads][head_dim]
  void* k_pool;             // [n_pages][n_kv_heads][page]: rows of the key's k_type (kv_types.h), this layer's
  void* v_pool;             // same, v_type
  int n_tokens;
  // Read only where the key's constant is 0 (generic build):
  int head_dim;             // 64..256, a multiple of 64
  int n_heads;
  int n_kv_heads;
  int n_rot;                // rotated dims at the start of each head (even, <= head_dim)
  int page_size;
};

// Heads (warps) per block of kv_write.
constexpr int kKvWriteWarps = 4;
