#pragma once
// Token text -> id, an open-addressing table over strings the tokenizer already owns. Lookups of
// short byte strings are the hot loop of SPM merging and of whole-word BPE lookups, where
// std::unordered_map's node chasing cost 3x more.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::tokenizer {

class TokenIndex {
 public:
  // Indexes keys[id] for every id with include[id] (all when include is empty). keys must
  // outlive the index and not change. A repeated key keeps its first id.
  void build(const std::vector<std::string>* keys, const std::vector<bool>& include = {});
  int32_t find(std::string_view key) const;  // -1 if absent

 private:
  struct Slot {
    uint32_t hash = 0;
    int32_t id = -1;
  };
  std::vector<Slot> slots_;
  const std::vector<std::string>* keys_ = nullptr;
};

}  // namespace kiln::tokenizer
