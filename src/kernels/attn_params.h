#pragma once
#include "kv_types.h"
#include "kv_write_params.h"
// Arguments of the attention kernels: attn_prefill.cuh (flash attention over many query tokens),
// attn_decode.cuh (split-KV flash-decoding of one token per sequence). Included
// by the host (which fills it) and by the kernels (NVRTC): plain data only.
//
// The KV cache is paged (engine/kv_cache.h). Per layer, K and V each live in a pool
//   pool[n_pages][n_kv_heads][page of page_size rows]   (kv_types.h: f16 rows, or q8_0 quants + scales)
// and sequence s owns page_table[s][0 .. max_pages): token t of s is in page
// page_table[s][t / page_size], slot t % page_size. One page of one head is one contiguous
// page_size x head_dim block: a 64-key tile of the kernels is one 16 B-aligned stretch of memory
// (q8_0: one stretch of quants and one of scales). attn_prefill reads f16 pools only; the engine
// gives it an f16 copy of the pages a q8_0 cache holds (kv_dequant.cuh).
//
// A batch is varlen: sequence s has the query rows [q_start[s], q_start[s+1]) of q and out and a
// KV length kv_len[s] that already includes its new tokens, whose positions are
// kv_len[s] - n_q .. kv_len[s] - 1. Query head h reads KV head h / gqa.

// Keys per K/V tile in both kernels; page_size must be a multiple of it.
constexpr int kAttnTileKeys = 64;
// Query heads per KV head the decode kernel handles (one n8 tile of the tensor cores).
constexpr int kAttnDecodeMaxGqa = 8;
// Most CTAs a prefill row tile is split into over its keys (engine: attn_prefill_splits).
constexpr int kAttnPrefillMaxSplits = 2;
// Threads of attn_decode (4 warps of 16 keys: one tile per pipeline stage).
constexpr int kAttnDecodeWarps = 4;
// Most decode splits (the workspace holds this many partials per head; attn_decode_combine's
// lanes cover them).
constexpr int kAttnMaxSplits = 64;

struct AttnParams {
  const void* q;          // f16 [n_tokens][n_heads][head_dim]
  const void* k_pool;     // [n_pages][n_kv_heads][page], this layer's; rows of the key's k_type
  const void* v_pool;     // same, rows of v_type (attn_prefill: both f16)
  void* out;              // f16 [n_tokens][n_heads][head_dim]
  const int* q_start;     // [n_seqs + 1]: query rows of sequence s are q_start[s] .. q_start[s+1]-1
  const int* kv_len;      // [n_seqs]
  const int* page_table;  // [n_seqs][max_pages]
  const float* sinks;     // [n_heads] logits added to the softmax denominator (key sinks=1), else null
  float* partial_o;       // decode with splits: f32 [n_seqs][n_heads][max_splits][head_dim]; prefill with
                          // splits: f32 [n_seqs][n_kv_heads][row tiles][splits][rows a CTA][head_dim]
  float* partial_ml;      // the same with (max, sum) in log2 units for head_dim
  int splits;             // CTAs sharing one row's keys, each over its share (attn_prefill: per row tile;
                          // the combine kernels: partials per row). 1: the CTA normalizes and stores
                          // its rows; more: attn_prefill_combine / attn_decode_combine do. attn_decode
                          // reads its split count from its grid instead.
  int max_pages;          // row length of page_table
  int max_splits;         // decode workspace: splits it has room for
  float scale_log2;       // softmax scale * log2(e): scores are kept in log2 units
  // Read only where the key's constant is 0 (generic build):
  int gqa;                // n_heads / n_kv_heads
  int n_kv_heads;
  int window;             // sliding window in tokens, 0: none (a query at p sees p-window+1 .. p)
  int page_size;          // tokens per page, a multiple of kAttnTileKeys
  // attn_decode_write only: kv_write's arguments for the step's one token per sequence (the
  // QKV rows, positions, norms, RoPE and pools; its q_out, token_seq and n_tokens are not read).
  KvWriteParams write;
};

// K/V stages of the warp-specialized prefill (attn_prefill_ws.cuh, WGMMA 3).
constexpr int kAttnWsStages = 3;
// Keys per iteration of attn_prefill: 128 on the wide wgmma paths (1 and 3) at head_dim 128.
constexpr int attn_prefill_iter_keys(int head_dim, int wgmma) {
  return (wgmma == 1 || wgmma == 3) && head_dim == 128 ? 2 * kAttnTileKeys : kAttnTileKeys;
}
// Shared memory of attn_prefill with `stages` K/V stages: the Q tile (16 rows per warp) and a K
// and a V tile per stage, all f16; the wgmma paths add 1024 B to align the tiles to their swizzle
// pattern, the warp-specialized one (3) a "full" and an "empty" mbarrier per stage.
constexpr int attn_prefill_stage_smem(int head_dim, int warps, int wgmma, int stages) {
  const int keys = attn_prefill_iter_keys(head_dim, wgmma);
  return (warps * 16 * head_dim + stages * 2 * keys * head_dim) * 2 + (wgmma ? 1024 : 0) +
         (wgmma == 3 ? 2 * stages * 8 : 0);
}
// K/V stages of attn_prefill: three where they fit in a CTA's 227 KB (one barrier an iteration
// then separates both the tile's arrival and the reuse of the stage two tiles back), else two.
constexpr int attn_prefill_stages(int head_dim, int warps, int wgmma = 0) {
  if (wgmma == 3) return kAttnWsStages;
  return attn_prefill_stage_smem(head_dim, warps, wgmma, 3) <= 227 * 1024 ? 3 : 2;
}
// Dynamic shared memory of attn_prefill.
constexpr int attn_prefill_smem_bytes(int head_dim, int warps, int wgmma = 0) {
  return attn_prefill_stage_smem(head_dim, warps, wgmma, attn_prefill_stages(head_dim, warps, wgmma));
}

// attn_decode's tiles in shared memory: `stages` K and V tiles as stored (kv_types.h), plus one
// f16 tile for each q8_0 operand (its dequantized copy, what the tensor cores read).
constexpr int attn_decode_tile_bytes(int head_dim, int stages, int k_type, int v_type) {
  const int f16_tile = kAttnTileKeys * head_dim * 2;
  return stages * kAttnTileKeys * (kv_row_bytes(k_type, head_dim) + kv_row_bytes(v_type, head_dim)) +
         (k_type == kKvQ8_0 ? f16_tile : 0) + (v_type == kKvQ8_0 ? f16_tile : 0);
}
// One token's row of one head as stored, rounded up to 16 bytes.
constexpr int attn_decode_new_row_bytes(int type, int head_dim) {
  return (kv_row_bytes(type, head_dim) + 15) / 16 * 16;
}
// What attn_decode_write adds after the tiles: its query heads as f16 rows [8][head_dim], the
// step's K and V rows as stored, and with a q8_0 operand 256 floats a warp to quantize a row in.
constexpr int attn_decode_write_bytes(int head_dim, int k_type, int v_type) {
  return kAttnDecodeMaxGqa * head_dim * 2 + attn_decode_new_row_bytes(k_type, head_dim) +
         attn_decode_new_row_bytes(v_type, head_dim) +
         (k_type == kKvQ8_0 || v_type == kKvQ8_0 ? kAttnDecodeWarps * 256 * 4 : 0);
}
// Dynamic shared memory of attn_decode (write: attn_decode_write): the tiles (and what write
// adds); the cross-warp combine at the end reuses them (per warp: m, l of 8 heads and an
// 8 x head_dim f32 accumulator).
constexpr int attn_decode_smem_bytes(int head_dim, int stages, int k_type = kKvF16, int v_type = kKvF16,
                                     bool write = false) {
  const int tiles = attn_decode_tile_bytes(head_dim, stages, k_type, v_type) +
                    (write ? attn_decode_write_bytes(head_dim, k_type, v_type) : 0);
  const int combine = kAttnDecodeWarps * (8 * head_dim + 16) * 4;
  return tiles > combine ? tiles : combine;
}
