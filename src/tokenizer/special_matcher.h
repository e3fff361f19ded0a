#pragma once
// Finds special tokens written in text before it is split: the leftmost match, and of the tokens
// starting there the longest (what HF's added-token splitter and llama.cpp both do).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace kiln::tokenizer {

class SpecialMatcher {
 public:
  struct Match {
    size_t offset = 0, length = 0;
    int32_t id = -1;
  };

  // only_when_parsing: matched only when the caller parses special tokens (CONTROL, UNKNOWN);
  // otherwise always (USER_DEFINED). An empty text is ignored; a repeated text keeps the first.
  void add(std::string_view text, int32_t id, bool only_when_parsing);
  // The first match at or after from, or false.
  bool find(std::string_view text, size_t from, bool parse_special, Match& match) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node
    int32_t token = -1;
    bool only_when_parsing = false;
  };
  int32_t child(int32_t node, uint8_t byte) const;
  std::vector<Node> nodes_{Node{}};
  bool starts_[256] = {};  // bytes some token starts with
};

}  // namespace kiln::tokenizer
