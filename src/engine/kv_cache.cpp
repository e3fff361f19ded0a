#include "engine/kv_cache.h"

#include <algorithm>

#include "jit/cuda_check.h"
#include "util/error.h"

namespace kiln::engine {

KvType parse_kv_type(std::string_view name, std::string_view flag) {
  if (name == "f16") return KvType::f16;
  if (name == "q8_0") return KvType::q8_0;
  fail(flag, " ", name, ": unknown KV cache type (f16, q8_0)");
}

const char* kv_type_name(KvType type) { return type == KvType::q8_0 ? "q8_0" : "f16"; }

KvLayout kv_layout(const model::Model& model, int n_ctx, int max_seqs, KvTypes types) {
  const auto& hp = model.hp;
  KILN_CHECK(n_ctx >= 1 && max_seqs >= 1, "KV cache: need a context >= 1 and >= 1 sequence, got n_ctx=", n_ctx,
             " max_seqs=", max_seqs);
  KILN_CHECK(hp.head_dim_v == 0 || hp.head_dim_v == hp.head_dim, "KV cache: value head size ", hp.head_dim_v,
             " differs from the key head size ", hp.head_dim, " (not supported)");
  KvLayout l;
  l.n_layers = hp.n_layers;
  l.n_kv_heads = hp.n_kv_heads;
  l.head_dim = hp.head_dim;
  l.max_pages = kv_pages_for(n_ctx, l.page_size);
  l.n_pages = l.max_pages * max_seqs;
  l.types = types;
  KILN_CHECK(!types.any_q8() || l.head_dim % kKvQ8Block == 0, "KV cache: q8_0 needs a head size that is a multiple of ",
             kKvQ8Block, ", got ", l.head_dim);
  return l;
}

uint64_t kv_cache_bytes(const model::Model& model, int n_ctx, KvTypes types) {
  return kv_layout(model, n_ctx, 1, types).bytes();
}

PageAllocator::PageAllocator(int n_pages, int page_size) : n_pages_(n_pages), page_size_(page_size) {
  KILN_CHECK(n_pages >= 1 && page_size >= 1, "page allocator: ", n_pages, " pages of ", page_size, " tokens");
  free_.resize(n_pages);
  for (int i = 0; i < n_pages; ++i) free_[i] = n_pages - 1 - i;
}

void PageAllocator::reserve(std::vector<int32_t>& pages, int tokens, const std::string& who) {
  KILN_CHECK(tokens >= 0, who, ": cannot hold ", tokens, " tokens");
  const int need = kv_pages_for(tokens, page_size_);
  const int missing = need - int(pages.size());
  if (missing <= 0) return;
  KILN_CHECK(missing <= free_pages(), "KV cache out of pages: ", who, " needs ", need, " pages for ", tokens,
             " tokens, holds ", pages.size(), ", ", free_pages(), " free of ", n_pages_, " (", page_size_,
             " tokens each)");
  for (int i = 0; i < missing; ++i) {
    pages.push_back(free_.back());
    free_.pop_back();
  }
}

void PageAllocator::release(std::vector<int32_t>& pages) {
  free_.insert(free_.end(), pages.begin(), pages.end());
  std::sort(free_.begin(), free_.end(), std::greater<>());
  pages.clear();
}

KvCache::KvCache(const model::Model& model, int n_ctx, int max_seqs, KvTypes types)
    : KvCache(kv_layout(model, n_ctx, max_seqs, types), n_ctx, max_seqs) {}

KvCache::KvCache(const KvLayout& layout, int n_ctx, int max_seqs)
    : layout_(layout),
      n_ctx_(n_ctx),
      max_seqs_(max_seqs),
      allocator_(layout.n_pages, layout.page_size),
      pools_(layout.bytes(), "KV cache"),
      q_start_(size_t(max_seqs + 1) * 4, "KV cache batch (q_start)"),
      kv_len_(size_t(max_seqs) * 4, "KV cache batch (kv_len)"),
      page_table_(size_t(max_seqs) * layout.max_pages * 4, "KV cache page tables"),
      seq_pages_(max_seqs),
      row_seq_(max_seqs, -1),
      row_uploaded_(max_seqs, 0) {
  KILN_CHECK(layout.page_size % 64 == 0, "KV cache: page size ", layout.page_size,
             " must be a multiple of the attention kernels' 64-key tile");
  KILN_CHECK(layout.max_pages >= kv_pages_for(n_ctx, layout.page_size), "KV cache: ", layout.max_pages,
             " pages per sequence cannot hold ", n_ctx, " tokens");
}

KvCache::KvCache(const model::Model& model, int n_ctx, NoDevice, KvTypes types)
    : layout_(kv_layout(model, n_ctx, 1, types)),
      n_ctx_(n_ctx),
      max_seqs_(1),
      allocator_(layout_.n_pages, layout_.page_size),
      seq_pages_(1),
      row_seq_(1, -1),
      row_uploaded_(1, 0) {}

void* KvCache::k_pool(int layer) const {
  KILN_CHECK(layer >= 0 && layer < layout_.n_layers, "KV cache: layer ", layer, " of ", layout_.n_layers);
  if (!pools_.get()) return nullptr;  // a NoDevice cache
  return static_cast<char*>(pools_.get()) + layout_.layer_bytes() * layer;
}

void* KvCache::v_pool(int layer) const {
  char* k = static_cast<char*>(k_pool(layer));
  return k ? k + layout_.k_pool_bytes() : nullptr;
}

const std::vector<int32_t>& KvCache::pages(int seq) const {
  KILN_CHECK(seq >= 0 && seq < max_seqs_, "KV cache: sequence ", seq, " of ", max_seqs_);
  return seq_pages_[seq];
}

void KvCache::upload_table_row(int row, int seq, cudaStream_t stream) {
  // Row `row` of the device table holds the pages of batch entry `row`; a row keeps its
  // sequence between steps, so usually only the newly added pages travel.
  const auto& pages = seq_pages_[seq];
  if (row_seq_[row] != seq) {
    row_seq_[row] = seq;
    row_uploaded_[row] = 0;
  }
  const int from = row_uploaded_[row], to = int(pages.size());
  if (to <= from) return;
  const size_t offset = (size_t(row) * layout_.max_pages + from) * 4;
  KILN_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(page_table_.get()) + offset, pages.data() + from,
                                  size_t(to - from) * 4, cudaMemcpyHostToDevice, stream),
                  "KV cache page table upload");
  row_uploaded_[row] = to;
}

void KvCache::prepare_step(int n_past, int n_new, cudaStream_t stream) {
  const KvSeqStep step{0, n_past, n_new};
  prepare_batch({&step, 1}, stream);
}

void KvCache::prepare_batch(std::span<const KvSeqStep> steps, cudaStream_t stream) {
  const int n_seqs = int(steps.size());
  KILN_CHECK(n_seqs >= 1 && n_seqs <= max_seqs_, "KV cache: a batch of ", n_seqs, " sequences (room for ", max_seqs_,
             ")");
  host_q_start_.assign(1, 0);
  host_kv_len_.clear();
  host_token_seq_.clear();
  int max_q = 0;
  for (int i = 0; i < n_seqs; ++i)
    for (int j = 0; j < i; ++j)
      KILN_CHECK(steps[i].seq != steps[j].seq, "KV cache: sequence ", steps[i].seq, " appears twice in one batch");
  for (int row = 0; row < n_seqs; ++row) {
    const KvSeqStep& s = steps[row];
    KILN_CHECK(s.seq >= 0 && s.seq < max_seqs_, "KV cache: sequence ", s.seq, " of ", max_seqs_);
    KILN_CHECK(s.n_past >= 0 && s.n_new >= 0, "KV cache: sequence ", s.seq, " step of ", s.n_new, " tokens at ",
               s.n_past);
    const int kv_len = s.n_past + s.n_new;
    KILN_CHECK(kv_len <= n_ctx_, "KV cache: sequence ", s.seq, " needs ", kv_len, " tokens, the context holds ",
               n_ctx_);
    seq_pages_[s.seq].reserve(layout_.max_pages);
    allocator_.reserve(seq_pages_[s.seq], kv_len, "sequence " + std::to_string(s.seq));
    upload_table_row(row, s.seq, stream);
    host_q_start_.push_back(host_q_start_.back() + s.n_new);
    host_kv_len_.push_back(kv_len);
    host_token_seq_.insert(host_token_seq_.end(), s.n_new, row);  // kv_write reads table row `row`
    max_q = std::max(max_q, s.n_new);
  }
  const int n_tokens = host_q_start_.back();
  KILN_CUDA_CHECK(cudaMemcpyAsync(q_start_.get(), host_q_start_.data(), host_q_start_.size() * 4,
                                  cudaMemcpyHostToDevice, stream));
  KILN_CUDA_CHECK(cudaMemcpyAsync(kv_len_.get(), host_kv_len_.data(), host_kv_len_.size() * 4, cudaMemcpyHostToDevice,
                                  stream));
  const bool need_seq_ids = n_seqs > 1;
  if (need_seq_ids) {
    if (n_tokens > token_seq_capacity_) {
      token_seq_capacity_ = std::max(n_tokens, 2 * token_seq_capacity_);
      token_seq_ = DeviceBuffer(size_t(token_seq_capacity_) * 4, "KV cache batch (token sequences)");
    }
    KILN_CUDA_CHECK(cudaMemcpyAsync(token_seq_.get(), host_token_seq_.data(), host_token_seq_.size() * 4,
                                    cudaMemcpyHostToDevice, stream));
  }
  view_.q_start = q_start_.as<int32_t>();
  view_.kv_len = kv_len_.as<int32_t>();
  view_.page_table = page_table_.as<int32_t>();
  view_.token_seq = need_seq_ids ? token_seq_.as<int32_t>() : nullptr;
  view_.max_pages = layout_.max_pages;
  view_.n_seqs = n_seqs;
  view_.n_tokens = n_tokens;
  view_.max_q = max_q;
}

void KvCache::release(int seq) {
  KILN_CHECK(seq >= 0 && seq < max_seqs_, "KV cache: sequence ", seq, " of ", max_seqs_);
  allocator_.release(seq_pages_[seq]);
  for (int row = 0; row < max_seqs_; ++row)
    if (row_seq_[row] == seq) row_seq_[row] = -1;  // its pages may go to another sequence
}

}  // namespace kiln::engine
