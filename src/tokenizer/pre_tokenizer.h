#pragma once
// Pre-tokenizers of the byte-level BPE families: split text into the pieces that the family's
// regex (tokenizer.json's pre_tokenizer Split pattern) finds, using hand-written matchers with
// the regex's exact alternation and backtracking semantics (std::regex has no \p{..}).
//
//   llama3 (tokenizer.ggml.pre "llama-bpe"):
//     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
//     |\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2 ("qwen2"): the same with \p{N} (one digit per piece).
//   o200k ("gpt-4o", gpt-oss):
//     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|..|'d)?
//     |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|..|'d)?
//     |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
// \s is Unicode White_Space; the contraction's (?i) is ASCII-only (as in the JS reference).
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace kiln::tokenizer {

enum class PreTokenizer { kLlama3, kQwen2, kO200k };

// The pre-tokenizer for a tokenizer.ggml.pre name ("llama-bpe", "qwen2", "gpt-4o", ...).
std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name);
const char* pre_tokenizer_name(PreTokenizer kind);  // the canonical GGUF name

// Appends the pieces of text (views into it, in order, covering it exactly) to out.
void pre_tokenize(PreTokenizer kind, std::string_view text, std::vector<std::string_view>& out);

}  // namespace kiln::tokenizer
