#pragma once
// Byte-pair merging by rank (GPT-2 style BPE, as HF tokenizers' BPE model applies tokenizer.json
// merges): the adjacent pair with the lowest merge rank joins first, the leftmost on ties.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::tokenizer {

// (left id, right id) -> (rank, merged id), open addressing over 64-bit keys.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };

  void reserve(size_t n);
  // A later entry for the same pair replaces the earlier one (as HF's loaders do).
  void add(int32_t left, int32_t right, int32_t rank, int32_t merged);
  const Merge* find(int32_t left, int32_t right) const;
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  size_t slot_of(uint64_t key) const;
  void grow();
  std::vector<Slot> slots_;
  size_t size_ = 0;
  int shift_ = 64;
};

// Merges symbols (token ids of one pre-tokenized word, e.g. one per byte) in place.
void bpe_merge(const MergeTable& merges, std::vector<int32_t>& symbols);

}  // namespace kiln::tokenizer
