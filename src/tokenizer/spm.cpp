#include "tokenizer/spm.h"

#include <queue>

#include "tokenizer/unicode.h"

namespace kiln::tokenizer {

void spm_merge(const SpmVocab& vocab, std::string_view text, std::vector<SpmPiece>& out) {
  struct Symbol {
    uint32_t offset, bytes;
    int32_t prev, next;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    Utf8Char c = decode_utf8(text, i);
    const int32_t index = int32_t(symbols.size());
    symbols.push_back({uint32_t(i), c.len, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    i += c.len;
  }

  struct Candidate {
    float score;
    int32_t left, right;
    uint32_t bytes;  // of the concatenation when queued; a changed size means it is stale
    bool operator<(const Candidate& o) const {  // max-heap: higher score, then leftmost
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Candidate> queue;
  auto push = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    const int32_t right = symbols[left].next;
    const uint32_t bytes = symbols[left].bytes + symbols[right].bytes;
    const int32_t id = vocab.mergeable.find(text.substr(symbols[left].offset, bytes));
    if (id >= 0) queue.push({vocab.scores[id], left, right, bytes});
  };
  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i) push(i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    // Merged-away symbols have bytes 0; a symbol's size only grows, so equal sizes and
    // adjacency mean the candidate is current.
    if (left.bytes == 0 || right.bytes == 0 || left.next != c.right ||
        left.bytes + right.bytes != c.bytes) {
      continue;
    }
    left.bytes += right.bytes;
    right.bytes = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = c.left;
    push(left.prev);
    push(c.left);
  }
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    out.push_back({symbols[i].offset, symbols[i].bytes});
  }
}

}  // namespace kiln::tokenizer
