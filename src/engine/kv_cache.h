#pragma once
// The paged KV cache (kernels/attn_params.h has the device-side view), f16 or q8_0 per K and V.
//
// Per layer, K and V each get a pool [n_pages][n_kv_heads][page]; one allocation holds all of
// them, layer-major: [n_layers][K pool, V pool]. A sequence owns a list of page ids (the same ids
// index every layer's pools): token t lives in page pages[t / page_size], slot t % page_size.
// A page of one head is one contiguous block of page_size token rows (kernels/kv_types.h):
//   f16:   f16 [page_size][head_dim]                                  (head_dim * 2 bytes a row)
//   q8_0:  int8 quants [page_size][head_dim], then f16 scales [page_size][head_dim / 32]
//          (head_dim * 34 / 32 bytes a row: 53% of f16; one scale d per 32 values, x = q * d)
// so a 64-key tile of the attention kernels is one aligned stretch of memory (q8_0: one of
// quants, whole 16-byte chunks, and one of scales), loaded with 16-byte copies.
//
// page_size = 64: one page is exactly one K/V tile of the kernels (one page-table lookup per
// tile, never a tile straddling two pages), small enough that a short sequence wastes at most 63
// tokens of cache; the page table of a 32k-token sequence is 512 ints (2 KB). 128 would halve the
// table and lookups, neither of which costs anything measurable.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/device_buffer.h"
#include "kernels/kv_types.h"
#include "model/model.h"

namespace kiln::engine {

constexpr int kKvPageSize = 64;

// Element type of a pool (llama.cpp's -ctk / -ctv names).
enum class KvType : int { f16 = kKvF16, q8_0 = kKvQ8_0 };
struct KvTypes {
  KvType k = KvType::f16;
  KvType v = KvType::f16;
  bool any_q8() const { return k == KvType::q8_0 || v == KvType::q8_0; }
};
// "f16" / "q8_0"; anything else throws kiln::Error naming `flag` ("-ctk q4_0: unknown KV cache
// type (f16, q8_0)").
KvType parse_kv_type(std::string_view name, std::string_view flag);
const char* kv_type_name(KvType type);

// Pages needed for `tokens` tokens.
constexpr int kv_pages_for(int tokens, int page_size = kKvPageSize) { return (tokens + page_size - 1) / page_size; }

// The sizes of a paged cache.
struct KvLayout {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int page_size = kKvPageSize;
  int n_pages = 0;    // pages of every pool (shared by all sequences)
  int max_pages = 0;  // pages one sequence may hold: its context / page_size, rounded up
  KvTypes types;

  // Bytes of one page of a pool of `type` (K or V of one layer).
  uint64_t page_bytes(KvType type) const {
    return uint64_t(n_kv_heads) * page_size * kv_row_bytes(int(type), head_dim);
  }
  uint64_t k_pool_bytes() const { return page_bytes(types.k) * n_pages; }
  uint64_t v_pool_bytes() const { return page_bytes(types.v) * n_pages; }
  // One layer's K and V pools.
  uint64_t layer_bytes() const { return k_pool_bytes() + v_pool_bytes(); }
  // The whole cache: every layer's K and V pools.
  uint64_t bytes() const { return layer_bytes() * n_layers; }
  // K and V of one token over all layers.
  uint64_t bytes_per_token() const {
    return uint64_t(n_layers) * n_kv_heads *
           (kv_row_bytes(int(types.k), head_dim) + kv_row_bytes(int(types.v), head_dim));
  }
  // Bytes of one page of an f16 pool.
  uint64_t page_bytes() const { return page_bytes(KvType::f16); }
};

// A cache for `max_seqs` sequences of up to n_ctx tokens each.
KvLayout kv_layout(const model::Model& model, int n_ctx, int max_seqs = 1, KvTypes types = {});
// Bytes of kv_layout(model, n_ctx): what the engine budgets for one sequence of n_ctx tokens.
uint64_t kv_cache_bytes(const model::Model& model, int n_ctx, KvTypes types = {});

// Hands out page ids to sequences; lowest ids first, so a lone sequence gets consecutive pages.
class PageAllocator {
 public:
  PageAllocator(int n_pages, int page_size);

  // Appends pages to `pages` until it covers `tokens` tokens. Throws kiln::Error ("KV cache out
  // of pages: <who> needs 12 pages for 700 tokens, holds 3, 5 free of 1024 (64 tokens each)"),
  // allocating nothing, when too few are free.
  void reserve(std::vector<int32_t>& pages, int tokens, const std::string& who);
  // Returns every page of `pages` and clears it.
  void release(std::vector<int32_t>& pages);

  int free_pages() const { return int(free_.size()); }
  int n_pages() const { return n_pages_; }

 private:
  std::vector<int32_t> free_;  // sorted descending: back() is the lowest id
  int n_pages_;
  int page_size_;
};

// The device arrays the attention kernels read for one batch (attn_params.h).
struct KvBatchView {
  const int32_t* q_start = nullptr;     // [n_seqs + 1]
  const int32_t* kv_len = nullptr;      // [n_seqs]
  const int32_t* page_table = nullptr;  // [n_seqs][max_pages]
  const int32_t* token_seq = nullptr;   // [n_tokens] batch entry of each token, or null: all entry 0
  int max_pages = 0;
  int n_seqs = 0;
  int n_tokens = 0;
  int max_q = 0;  // most query tokens of one sequence
};

// One sequence's part of a step: it holds n_past tokens and appends n_new.
struct KvSeqStep {
  int seq = 0;  // 0 .. max_seqs - 1
  int n_past = 0;
  int n_new = 0;
};

class KvCache {
 public:
  // Allocates the pools (device memory: layout().bytes()) and the batch arrays.
  KvCache(const model::Model& model, int n_ctx, int max_seqs = 1, KvTypes types = {});
  // Same, from explicit sizes (tests, benchmarks).
  KvCache(const KvLayout& layout, int n_ctx, int max_seqs);
  // The layout only, no device memory (pool pointers are null): for planning kernel sets on a
  // machine without a GPU.
  struct NoDevice {};
  KvCache(const model::Model& model, int n_ctx, NoDevice, KvTypes types = {});

  const KvLayout& layout() const { return layout_; }
  KvTypes types() const { return layout_.types; }
  int n_ctx() const { return n_ctx_; }
  void* k_pool(int layer) const;
  void* v_pool(int layer) const;

  // Single-sequence step (sequence 0): reserves pages for n_past + n_new tokens and uploads,
  // asynchronously on `stream`, q_start = {0, n_new}, kv_len = {n_past + n_new} and the page table
  // where it grew. Positions are the caller's (n_past .. n_past + n_new - 1).
  void prepare_step(int n_past, int n_new, cudaStream_t stream);
  // A varlen batch: the sequences' query tokens are concatenated in this order, and entry i's
  // page table is row i of batch().page_table. Uploads the per-token batch entry too (kv_write
  // needs it when there is more than one sequence).
  void prepare_batch(std::span<const KvSeqStep> steps, cudaStream_t stream);
  // Frees a sequence's pages (its cache contents are gone).
  void release(int seq);

  // The batch of the last prepare_*: device pointers and host-side sizes.
  const KvBatchView& batch() const { return view_; }
  // kv_len of the last batch's sequences, on the host (split choice for decode).
  const std::vector<int32_t>& kv_lens() const { return host_kv_len_; }
  int free_pages() const { return allocator_.free_pages(); }
  const std::vector<int32_t>& pages(int seq) const;

 private:
  void upload_table_row(int row, int seq, cudaStream_t stream);

  KvLayout layout_;
  int n_ctx_;
  int max_seqs_;
  PageAllocator allocator_;
  DeviceBuffer pools_;
  DeviceBuffer q_start_, kv_len_, page_table_, token_seq_;
  int token_seq_capacity_ = 0;
  std::vector<std::vector<int32_t>> seq_pages_;
  std::vector<int> row_seq_;       // per device page-table row: the sequence it holds (-1: none)
  std::vector<int> row_uploaded_;  // per row: entries already on the device
  std::vector<int32_t> host_q_start_, host_kv_len_, host_token_seq_;
  KvBatchView view_;
};

}  // namespace kiln::engine
