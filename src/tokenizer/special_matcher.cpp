#include "tokenizer/special_matcher.h"

namespace kiln::tokenizer {

int32_t SpecialMatcher::child(int32_t node, uint8_t byte) const {
  for (const auto& [b, next] : nodes_[node].children) {
    if (b == byte) return next;
  }
  return -1;
}

void SpecialMatcher::add(std::string_view text, int32_t id, bool only_when_parsing) {
  if (text.empty()) return;
  int32_t node = 0;
  for (char c : text) {
    int32_t next = child(node, uint8_t(c));
    if (next < 0) {
      next = int32_t(nodes_.size());
      nodes_[node].children.emplace_back(uint8_t(c), next);
      nodes_.emplace_back();
    }
    node = next;
  }
  if (nodes_[node].token >= 0) return;
  nodes_[node].token = id;
  nodes_[node].only_when_parsing = only_when_parsing;
  starts_[uint8_t(text[0])] = true;
}

bool SpecialMatcher::find(std::string_view text, size_t from, bool parse_special,
                          Match& match) const {
  for (size_t i = from; i < text.size(); ++i) {
    if (!starts_[uint8_t(text[i])]) continue;
    int32_t node = 0;
    Match best;
    for (size_t j = i; j < text.size(); ++j) {
      node = child(node, uint8_t(text[j]));
      if (node < 0) break;
      const Node& n = nodes_[node];
      if (n.token >= 0 && (parse_special || !n.only_when_parsing)) best = {i, j + 1 - i, n.token};
    }
    if (best.id >= 0) {
      match = best;
      return true;
    }
  }
  return false;
}

}  // namespace kiln::tokenizer
