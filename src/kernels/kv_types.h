#pragma once
// Element types of the paged KV cache, chosen per K and per V (llama.cpp's -ctk / -ctv).
// Included by the host and by the kernels (NVRTC): plain data only.
//
// A page of one KV head is one block of page_size token rows (engine/kv_cache.h):
//   f16:   [page_size][head_dim] f16
//   q8_0:  [page_size][head_dim] int8 quants, then [page_size][head_dim / 32] f16 scales
// q8_0 is ggml's: per 32 consecutive values of a row, d = max|x| / 127 (stored as f16) and
// q = round(x / d); the value is q * d. Quants and scales of a page live in two contiguous arrays
// so a 64-key tile loads as 16-byte chunks of quants plus one small run of scales.

enum : int {
  kKvF16 = 0,
  kKvQ8_0 = 1,
};

constexpr int kKvQ8Block = 32;  // values per q8_0 scale

// Bytes of one token row of one head.
constexpr int kv_row_bytes(int type, int head_dim) {
  return type == kKvQ8_0 ? head_dim + head_dim / kKvQ8Block * 2 : head_dim * 2;
}
