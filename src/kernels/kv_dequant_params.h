#pragma once
// Arguments of kv_dequant.cuh. Included by the host (which fills it) and by the kernel (NVRTC):
// plain data only.
#include "kv_types.h"

struct KvDequantParams {
  const void* k_pool;     // this layer's cache pools (kv_types.h), rows of the key's k_type / v_type
  const void* v_pool;
  void* k_out;            // f16 [n_seqs * max_pages][n_kv_heads][page_size][head_dim]: page j of batch
  void* v_out;            //   entry s goes to page s * max_pages + j
  const int* kv_len;      // [n_seqs]
  const int* page_table;  // [n_seqs][max_pages]
  int max_pages;
  // Read only where the key's constant is 0 (generic build):
  int head_dim;
  int n_kv_heads;
  int page_size;
};

// Threads of kv_dequant (one CTA per page, KV head and pool).
constexpr int kKvDequantThreads = 128;
