#include "tokenizer/bpe.h"

#include <climits>
#include <queue>

namespace kiln::tokenizer {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return uint64_t(uint32_t(left)) << 32 | uint32_t(right);
}

// Words up to this many symbols merge by rescanning a rank array (no allocation, cache-friendly);
// longer ones (runs of punctuation, long numbers in some families) use a heap so cost stays
// O(n log n).
constexpr size_t kMaxSymbolsForScan = 48;

void merge_by_scan(const MergeTable& merges, std::vector<int32_t>& symbols) {
  size_t n = symbols.size();
  int32_t ranks[kMaxSymbolsForScan];  // ranks[i]: rank of the pair (i, i + 1), INT_MAX if none
  auto rank_at = [&](size_t i) {
    const MergeTable::Merge* m = merges.find(symbols[i], symbols[i + 1]);
    return m ? m->rank : INT_MAX;
  };
  for (size_t i = 0; i + 1 < n; ++i) ranks[i] = rank_at(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == INT_MAX) break;
    symbols[best] = merges.find(symbols[best], symbols[best + 1])->merged;
    for (size_t i = best + 1; i + 1 < n; ++i) symbols[i] = symbols[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) ranks[i] = ranks[i + 1];
    --n;
    if (best > 0) ranks[best - 1] = rank_at(best - 1);
    if (best + 1 < n) ranks[best] = rank_at(best);
  }
  symbols.resize(n);
}

void merge_by_heap(const MergeTable& merges, std::vector<int32_t>& symbols) {
  const int32_t n = int32_t(symbols.size());
  std::vector<int32_t> next(n), prev(n);
  for (int32_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  struct Candidate {
    int32_t rank, left, right, left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    const int32_t right = next[left];
    if (const MergeTable::Merge* m = merges.find(symbols[left], symbols[right])) {
      queue.push({m->rank, left, right, symbols[left], symbols[right]});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> alive(n, true);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    // A symbol's id only grows (by merging with its right neighbour), so matching ids and
    // adjacency mean the candidate is still current.
    if (!alive[c.left] || !alive[c.right] || next[c.left] != c.right ||
        symbols[c.left] != c.left_id || symbols[c.right] != c.right_id) {
      continue;
    }
    symbols[c.left] = merges.find(c.left_id, c.right_id)->merged;
    alive[c.right] = false;
    next[c.left] = next[c.right];
    if (next[c.left] >= 0) prev[next[c.left]] = c.left;
    push(prev[c.left]);
    push(c.left);
  }
  int32_t out = 0;
  for (int32_t i = 0; i >= 0 && i < n; i = next[i]) symbols[out++] = symbols[i];
  symbols.resize(out);
}

}  // namespace

size_t MergeTable::slot_of(uint64_t key) const {
  return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
}

void MergeTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  size_t capacity = old.empty() ? 1024 : old.size() * 2;
  slots_.assign(capacity, Slot{});
  shift_ = 64 - __builtin_ctzll(capacity);
  size_ = 0;
  for (const Slot& s : old) {
    if (s.key != kEmpty) add(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.merge.rank, s.merge.merged);
  }
}

void MergeTable::reserve(size_t n) {
  while (slots_.size() < n * 2) grow();
}

void MergeTable::add(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(key);; i = (i + 1) & mask) {
    if (slots_[i].key == kEmpty) {
      slots_[i] = {key, {rank, merged}};
      ++size_;
      return;
    }
    if (slots_[i].key == key) {
      slots_[i].merge = {rank, merged};
      return;
    }
  }
}

const MergeTable::Merge* MergeTable::find(int32_t left, int32_t right) const {
  if (slots_.empty()) return nullptr;
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slot_of(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i].merge;
    if (slots_[i].key == kEmpty) return nullptr;
  }
}

void bpe_merge(const MergeTable& merges, std::vector<int32_t>& symbols) {
  if (symbols.size() < 2) return;
  if (symbols.size() <= kMaxSymbolsForScan) merge_by_scan(merges, symbols);
  else merge_by_heap(merges, symbols);
}

}  // namespace kiln::tokenizer
