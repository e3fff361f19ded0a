#pragma once
// SentencePiece-style BPE by score (what llama.cpp calls the SPM tokenizer, GGUF model "llama"):
// start from the UTF-8 characters of the text and repeatedly join the adjacent pair whose
// concatenation is a mergeable token with the highest score, the leftmost on ties.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/token_index.h"

namespace kiln::tokenizer {

struct SpmVocab {
  // Tokens a merge may produce (normal and user-defined), by text.
  TokenIndex mergeable;
  const float* scores = nullptr;  // by token id
};

struct SpmPiece {
  uint32_t offset, bytes;  // a range of the text
};

// The final pieces of text, in order, covering it exactly. Pieces that are not tokens are single
// characters (or invalid bytes) that the caller byte-falls back.
void spm_merge(const SpmVocab& vocab, std::string_view text, std::vector<SpmPiece>& out);

}  // namespace kiln::tokenizer
