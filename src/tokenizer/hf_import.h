#pragma once
// Hugging Face tokenizer folder -> the GGUF tokenizer keys llama.cpp's converter writes, so a
// synthetic GGUF can carry a real tokenizer that kiln and llama.cpp both load.
//
// Reads DIR/tokenizer.json, DIR/tokenizer_config.json (optional) and DIR/chat_template.jinja
// (optional; else tokenizer_config.json's chat_template). Supported: byte-level BPE whose
// pre-tokenizer regex is llama 3's, Qwen2's or o200k's (-> model "gpt2", pre "llama-bpe" /
// "qwen2" / "gpt-4o"), and SentencePiece-style BPE with byte fallback and "▁" for spaces
// (gemma; -> model "llama" with scores). Anything else is a kiln::Error saying what differs.
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace kiln::tokenizer {

struct HfImportOptions {
  // 0: as many tokens as the tokenizer has. Larger: pad with "[PAD<id>]" tokens of type UNUSED
  // up to this size (as llama.cpp does for models whose embedding has spare rows); smaller is an
  // error.
  int64_t vocab_size = 0;
};

// Keys, in llama.cpp's order: tokenizer.ggml.{model, pre (BPE), tokens, scores (SPM), token_type,
// merges (BPE), bos/eos/eot/unknown/padding_token_id (those the tokenizer has), add_bos_token,
// add_eos_token, add_space_prefix (SPM)}, tokenizer.chat_template (if any).
//
// SPM scores: tokenizer.json keeps the merge list, not SentencePiece's scores; a token's score is
// minus (1 + the rank of its first merge), so that merging by score reproduces merging by rank.
// Tokens no merge produces score kUnmergedScore.
std::vector<gguf::KeyValue> gguf_metadata_from_hf(const std::string& dir,
                                                  const HfImportOptions& options = {});

constexpr float kUnmergedScore = -1e9f;

}  // namespace kiln::tokenizer
