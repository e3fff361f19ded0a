#pragma once
// The varlen batch of the attention GPU tests in a paged KV cache: sequence s has n_q new tokens
// after depth cached ones (kv_len = depth + n_q, the kernels' batch layout, kernels/attn_params.h).
// Its pages are drawn, shuffled, from a pool with 3 pages nobody owns; page-table entries past a
// sequence's pages are -1, so a kernel that reads one faults instead of passing by luck.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "engine/attention.h"
#include "engine/kv_cache.h"
#include "jit/library.h"

namespace kiln::engine::testing {

struct PagedBatch {
  std::vector<int32_t> q_start{0}, kv_len;  // [n_seqs + 1], [n_seqs]
  std::vector<int32_t> table;               // [n_seqs][max_pages]
  int max_pages = 1, n_pages = 0, n_tokens = 0;
};

// seqs: a range of (n_q, depth) pairs or structs of two ints. Draws the shuffle from rng.
template <class Seqs>
PagedBatch make_paged_batch(const Seqs& seqs, int page_size, std::mt19937_64& rng) {
  PagedBatch b;
  int total_pages = 0;
  for (const auto& [n_q, depth] : seqs) {
    b.q_start.push_back(b.q_start.back() + n_q);
    b.kv_len.push_back(depth + n_q);
    b.max_pages = std::max(b.max_pages, kv_pages_for(b.kv_len.back(), page_size));
    total_pages += kv_pages_for(b.kv_len.back(), page_size);
  }
  b.n_tokens = b.q_start.back();
  b.n_pages = total_pages + 3;
  std::vector<int32_t> ids(b.n_pages);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  const int n_seqs = int(b.kv_len.size());
  b.table.assign(size_t(n_seqs) * b.max_pages, -1);
  int used = 0;
  for (int si = 0; si < n_seqs; ++si)
    for (int pg = 0; pg < kv_pages_for(b.kv_len[si], page_size); ++pg) b.table[size_t(si) * b.max_pages + pg] = ids[used++];
  return b;
}

// Workspace for a batch's attention: decode splits, or prefill key splits of every row tile
// (rows rounded up to 128, the widest CTA).
inline uint64_t attn_test_workspace_bytes(const AttnShape& s, int n_seqs, int max_q) {
  const uint64_t rows = uint64_t(max_q * s.gqa() + 127) / 128 * 128;
  const uint64_t prefill = uint64_t(n_seqs) * s.n_kv_heads * rows * kAttnPrefillMaxSplits * (s.head_dim + 2) * 4;
  return std::max(attn_decode_workspace_bytes(s, n_seqs, kAttnMaxSplits), prefill);
}

// Launches a prefill as the engine does: the split count attn_prefill_splits gives (or `splits`
// when not 0), the combine kernel after a split one.
inline void launch_prefill(jit::Library& lib, const jit::KernelKey& key, const AttnShape& s, const AttnArgs& a,
                           const std::vector<int32_t>& kv_len, int splits = 0) {
  const int longest = kv_len.empty() ? 0 : *std::max_element(kv_len.begin(), kv_len.end());
  if (!splits) splits = attn_prefill_splits(key, s, a.batch.max_q, a.batch.n_seqs, longest);
  const jit::Kernel* combine =
      splits > 1 ? &lib.get(attn_prefill_combine_key(s, static_cast<int>(key.get("warps")))) : nullptr;
  attn_prefill_launch(lib.get(key), combine, s, a, splits, nullptr);
}

// Launches a decode as the engine does: `splits` CTAs per (sequence, KV head) (attn_decode_splits
// when 0), then the combine kernel when there are several.
inline void launch_decode(jit::Library& lib, const jit::Kernel& decode, const AttnShape& s, const AttnArgs& a,
                          const std::vector<int32_t>& kv_len, int splits = 0) {
  const int longest = kv_len.empty() ? 0 : *std::max_element(kv_len.begin(), kv_len.end());
  if (!splits) splits = attn_decode_splits(s, longest, a.batch.n_seqs);
  attn_decode_launch(decode, splits > 1 ? &lib.get(attn_decode_combine_key(s)) : nullptr, s, a, splits, nullptr);
}

}  // namespace kiln::engine::testing
