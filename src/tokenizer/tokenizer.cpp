#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <climits>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"
#include "util/error.h"

namespace kiln::tokenizer {

namespace {

// Metadata keys (llama.cpp's names).
struct Keys {
  static constexpr const char* kModel = "tokenizer.ggml.model";
  static constexpr const char* kPre = "tokenizer.ggml.pre";
  static constexpr const char* kTokens = "tokenizer.ggml.tokens";
  static constexpr const char* kTokenType = "tokenizer.ggml.token_type";
  static constexpr const char* kScores = "tokenizer.ggml.scores";
  static constexpr const char* kMerges = "tokenizer.ggml.merges";
  static constexpr const char* kBos = "tokenizer.ggml.bos_token_id";
  static constexpr const char* kEos = "tokenizer.ggml.eos_token_id";
  static constexpr const char* kEot = "tokenizer.ggml.eot_token_id";
  static constexpr const char* kEom = "tokenizer.ggml.eom_token_id";
  static constexpr const char* kPad = "tokenizer.ggml.padding_token_id";
  static constexpr const char* kUnk = "tokenizer.ggml.unknown_token_id";
  static constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
  static constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
  static constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
};

// Token texts that end a turn or a generation in the supported families. "<|end|>" ends a
// message but not the generation in gpt-oss (whose turns end with <|return|> or <|call|>).
constexpr const char* kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>",
    "<end_of_turn>", "<eos>", "<|return|>", "<|call|>", "<|end|>",
};
constexpr const char* kEndOfTurnTexts[] = {"<|eot_id|>", "<|im_end|>", "<end_of_turn>"};

const char kSpmSpace[] = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space
constexpr size_t kMaxCachedWordBytes = 256;  // longer SPM words are rare and not worth keeping

const gguf::Value* find_key(const std::vector<gguf::KeyValue>& metadata, std::string_view key) {
  for (const gguf::KeyValue& kv : metadata) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, from.size()) == from) {
      out += to;
      i += from.size();
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// "<0x41>" -> 0x41, or -1.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') value += c - '0';
    else if (c >= 'A' && c <= 'F') value += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') value += c - 'a' + 10;
    else return -1;
  }
  return value;
}

bool renders_only_on_request(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUnknown || type == TokenType::kUnused;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
  return from_metadata(file.metadata(), file.path());
}

std::unique_ptr<Tokenizer> Tokenizer::from_metadata(const std::vector<gguf::KeyValue>& metadata,
                                                    const std::string& source) {
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  tokenizer->load(metadata, source);
  return tokenizer;
}

void Tokenizer::load(const std::vector<gguf::KeyValue>& metadata, const std::string& source) {
  const gguf::Value* model = find_key(metadata, Keys::kModel);
  KILN_CHECK(model, source, ": no tokenizer (", Keys::kModel, " is missing)");
  const std::string& model_name = model->as_str(Keys::kModel);
  KILN_CHECK(model_name != "none" && model_name != "no_vocab", source, ": no tokenizer (",
             Keys::kModel, " = \"", model_name, "\")");
  if (model_name == "gpt2") model_ = Model::kBpe;
  else if (model_name == "llama") model_ = Model::kSpm;
  else fail(source, ": ", Keys::kModel, " \"", model_name,
            "\" is not supported (kiln reads \"gpt2\" byte-level BPE and \"llama\" SentencePiece BPE)");

  const gguf::Value* tokens = find_key(metadata, Keys::kTokens);
  KILN_CHECK(tokens, source, ": ", Keys::kTokens, " is missing");
  const std::vector<gguf::Value>& token_values = tokens->as_array(Keys::kTokens);
  const size_t n = token_values.size();
  KILN_CHECK(n > 0 && n < size_t(INT32_MAX), source, ": ", Keys::kTokens, " has ", n, " entries");
  texts_.reserve(n);
  for (const gguf::Value& v : token_values) texts_.push_back(v.as_str(Keys::kTokens));

  types_.assign(n, TokenType::kNormal);
  if (const gguf::Value* types = find_key(metadata, Keys::kTokenType)) {
    const std::vector<gguf::Value>& values = types->as_array(Keys::kTokenType);
    KILN_CHECK(values.size() == n, source, ": ", Keys::kTokenType, " has ", values.size(),
               " entries but ", Keys::kTokens, " has ", n);
    for (size_t i = 0; i < n; ++i) {
      int64_t t = values[i].as_i64(Keys::kTokenType);
      KILN_CHECK(t >= 0 && t <= int64_t(TokenType::kByte), source, ": ", Keys::kTokenType, "[",
                 i, "] = ", t, " is not a token type (0..6)");
      types_[i] = TokenType(t);
    }
  }
  scores_.assign(n, 0.0f);
  if (const gguf::Value* scores = find_key(metadata, Keys::kScores)) {
    const std::vector<gguf::Value>& values = scores->as_array(Keys::kScores);
    KILN_CHECK(values.size() == n, source, ": ", Keys::kScores, " has ", values.size(),
               " entries but ", Keys::kTokens, " has ", n);
    for (size_t i = 0; i < n; ++i) scores_[i] = float(values[i].as_f64(Keys::kScores));
  }

  text_index_.build(&texts_);

  // The bytes each token stands for.
  pieces_.resize(n);
  std::fill(std::begin(byte_tokens_), std::end(byte_tokens_), -1);
  for (size_t i = 0; i < n; ++i) {
    const TokenType type = types_[i];
    const std::string& text = texts_[i];
    const bool normal = type == TokenType::kNormal || type == TokenType::kUndefined;
    if (model_ == Model::kBpe) {
      if (!normal || !byte_level_decode(text, pieces_[i])) pieces_[i] = text;
    } else if (type == TokenType::kByte && parse_byte_token(text) >= 0) {
      const int byte = parse_byte_token(text);
      pieces_[i] = std::string(1, char(byte));
      if (byte_tokens_[byte] < 0) byte_tokens_[byte] = int32_t(i);
    } else if (normal || type == TokenType::kUserDefined) {
      pieces_[i] = replace_all(text, kSpmSpace, " ");
    } else {
      pieces_[i] = text;
    }
  }

  auto optional_id = [&](const char* key) -> int32_t {
    const gguf::Value* v = find_key(metadata, key);
    if (!v) return -1;
    const int64_t id = v->as_i64(key);
    // llama.cpp's converters write -1 (as u32 0xFFFFFFFF) for "none" in a few models.
    if (id == int64_t(UINT32_MAX) || id == -1) return -1;
    KILN_CHECK(id >= 0 && id < int64_t(n), source, ": ", key, " = ", id,
               " is not a token id (the vocabulary has ", n, " tokens)");
    return int32_t(id);
  };
  bos_ = optional_id(Keys::kBos);
  eos_ = optional_id(Keys::kEos);
  eot_ = optional_id(Keys::kEot);
  eom_ = optional_id(Keys::kEom);
  pad_ = optional_id(Keys::kPad);
  unk_ = optional_id(Keys::kUnk);
  auto optional_bool = [&](const char* key, bool fallback) {
    const gguf::Value* v = find_key(metadata, key);
    return v ? v->as_bool(key) : fallback;
  };
  // llama.cpp's defaults when a key is absent.
  add_bos_ = optional_bool(Keys::kAddBos, model_ == Model::kSpm);
  add_eos_ = optional_bool(Keys::kAddEos, false);
  add_space_prefix_ = model_ == Model::kSpm && optional_bool(Keys::kAddSpacePrefix, true);

  if (model_ == Model::kBpe) {
    const gguf::Value* pre = find_key(metadata, Keys::kPre);
    KILN_CHECK(pre, source, ": ", Keys::kPre, " is missing (kiln needs the pre-tokenizer name: ",
               "\"llama-bpe\", \"qwen2\" or \"gpt-4o\")");
    const std::string& pre_name = pre->as_str(Keys::kPre);
    pre_ = pre_tokenizer_from_name(pre_name);
    KILN_CHECK(pre_, source, ": ", Keys::kPre, " \"", pre_name, "\" is not supported (kiln ",
               "implements \"llama-bpe\", \"qwen2\" and \"gpt-4o\")");
    // Llama 3 and o200k tokenizer.json files set ignore_merges; Qwen's has an NFC normalizer.
    ignore_merges_ = *pre_ != PreTokenizer::kQwen2;
    nfc_ = *pre_ == PreTokenizer::kQwen2;

    for (int b = 0; b < 256; ++b) {
      byte_tokens_[b] = text_index_.find(byte_level_encode(std::string(1, char(b))));
    }
    std::vector<bool> normal(n);
    for (size_t i = 0; i < n; ++i) {
      normal[i] = types_[i] == TokenType::kNormal || types_[i] == TokenType::kUndefined;
    }
    piece_index_.build(&pieces_, normal);
    const gguf::Value* merges = find_key(metadata, Keys::kMerges);
    KILN_CHECK(merges, source, ": ", Keys::kMerges, " is missing (a \"gpt2\" tokenizer needs it)");
    const std::vector<gguf::Value>& merge_values = merges->as_array(Keys::kMerges);
    merges_.reserve(merge_values.size());
    std::string joined;
    for (size_t rank = 0; rank < merge_values.size(); ++rank) {
      const std::string& merge = merge_values[rank].as_str(Keys::kMerges);
      const size_t space = merge.find(' ');
      KILN_CHECK(space != std::string::npos && space > 0 && space + 1 < merge.size(), source,
                 ": ", Keys::kMerges, "[", rank, "] = \"", merge, "\" is not \"LEFT RIGHT\"");
      const int32_t left = text_index_.find(std::string_view(merge).substr(0, space));
      const int32_t right = text_index_.find(std::string_view(merge).substr(space + 1));
      joined.assign(merge, 0, space);
      joined.append(merge, space + 1);
      const int32_t merged = text_index_.find(joined);
      KILN_CHECK(left >= 0 && right >= 0 && merged >= 0, source, ": ", Keys::kMerges, "[", rank,
                 "] = \"", merge, "\" names a token that is not in ", Keys::kTokens);
      merges_.add(left, right, int32_t(rank), merged);
    }
  } else {
    std::vector<bool> mergeable(n);
    for (size_t i = 0; i < n; ++i) {
      const TokenType t = types_[i];
      mergeable[i] =
          t == TokenType::kNormal || t == TokenType::kUndefined || t == TokenType::kUserDefined;
    }
    spm_.mergeable.build(&texts_, mergeable);
    spm_.scores = scores_.data();
    // Characters some token has right before a U+2581 (gemma3: only '>' in ">\u2581</").
    for (size_t id = 0; id < n; ++id) {
      if (!mergeable[id]) continue;
      const std::string& text = texts_[id];
      for (size_t i = 0, prev_start = 0; i < text.size();) {
        const Utf8Char c = decode_utf8(text, i);
        if (c.cp == 0x2581 && i > 0) {
          const uint32_t before = decode_utf8(text, prev_start).cp;
          if (before != 0x2581) spm_joins_before_space_.push_back(before);
        }
        prev_start = i;
        i += c.len;
      }
    }
    std::sort(spm_joins_before_space_.begin(), spm_joins_before_space_.end());
    spm_joins_before_space_.erase(
        std::unique(spm_joins_before_space_.begin(), spm_joins_before_space_.end()),
        spm_joins_before_space_.end());
  }

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = types_[i];
    if (t == TokenType::kControl || t == TokenType::kUnknown) {
      specials_.add(texts_[i], int32_t(i), /*only_when_parsing=*/true);
    } else if (t == TokenType::kUserDefined) {
      specials_.add(texts_[i], int32_t(i), /*only_when_parsing=*/false);
    }
  }

  if (eot_ < 0) {
    for (const char* text : kEndOfTurnTexts) {
      if (int32_t id = token_id(text); id >= 0) {
        eot_ = id;
        break;
      }
    }
  }
  const bool has_return = token_id("<|return|>") >= 0;
  for (int32_t id : {eos_, eot_, eom_}) {
    if (id >= 0) eog_.push_back(id);
  }
  for (const char* text : kEndOfGenerationTexts) {
    if (has_return && std::string_view(text) == "<|end|>") continue;
    const int32_t id = token_id(text);
    if (id >= 0 && (types_[id] == TokenType::kControl || types_[id] == TokenType::kUserDefined)) {
      eog_.push_back(id);
    }
  }
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());
}

const std::string& Tokenizer::token_text(int32_t id) const {
  check_id(id);
  return texts_[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(id);
  return types_[id];
}

int32_t Tokenizer::token_id(std::string_view text) const { return text_index_.find(text); }

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

void Tokenizer::check_id(int32_t id) const {
  KILN_CHECK(id >= 0 && id < n_vocab(), "token id ", id, " is outside the vocabulary (",
             n_vocab(), " tokens)");
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_bos && add_bos_ && bos_ >= 0) out.push_back(bos_);
  // llama.cpp's SPM rule: a space goes before text that starts the input or follows a token.
  bool after_token = true;
  size_t pos = 0;
  SpmWordIds spm_words;
  while (pos < text.size()) {
    SpecialMatcher::Match match;
    const bool found = specials_.find(text, pos, parse_special, match);
    const size_t end = found ? match.offset : text.size();
    if (end > pos) {
      const std::string_view fragment = text.substr(pos, end - pos);
      if (model_ == Model::kBpe) encode_bpe(fragment, out);
      else encode_spm(fragment, add_space_prefix_ && after_token, spm_words, out);
      after_token = false;
    }
    if (!found) break;
    out.push_back(match.id);
    after_token = true;
    pos = match.offset + match.length;
  }
  if (add_bos && add_eos_ && eos_ >= 0) out.push_back(eos_);
  return out;
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  std::string normalized;
  if (nfc_ && nfc(text, normalized)) text = normalized;
  std::vector<std::string_view> words;
  pre_tokenize(*pre_, text, words);
  std::vector<int32_t> symbols;
  for (std::string_view word : words) {
    if (ignore_merges_) {
      if (const int32_t id = piece_index_.find(word); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    symbols.clear();
    for (char b : word) {
      // A vocabulary without a token for some byte cannot represent it; it is dropped (HF
      // would emit its unknown token, which byte-level vocabularies do not have).
      if (byte_tokens_[uint8_t(b)] >= 0) symbols.push_back(byte_tokens_[uint8_t(b)]);
    }
    bpe_merge(merges_, symbols);
    out.insert(out.end(), symbols.begin(), symbols.end());
  }
}

void Tokenizer::encode_spm(std::string_view text, bool prefix_space, SpmWordIds& done,
                           std::vector<int32_t>& out) const {
  std::string escaped = prefix_space ? kSpmSpace : "";
  escaped += replace_all(text, " ", kSpmSpace);
  // Merging is independent on either side of a point that no token spans, so the text is cut
  // into words there (before a run of U+2581, unless some token joins the character in front
  // of it to a U+2581) and each distinct word is merged once per encode() call.
  std::vector<SpmPiece> pieces;
  auto encode_word = [&](std::string_view word) {
    auto it = done.find(word);
    if (it != done.end()) {
      for (size_t k = it->second.first; k < it->second.first + it->second.second; ++k) {
        const int32_t id = out[k];
        out.push_back(id);
      }
      return;
    }
    const size_t first = out.size();
    pieces.clear();
    spm_merge(spm_, word, pieces);
    for (const SpmPiece& p : pieces) {
      const std::string_view piece = word.substr(p.offset, p.bytes);
      if (const int32_t id = text_index_.find(piece); id >= 0) {
        out.push_back(id);
        continue;
      }
      // Byte fallback: every byte as its <0xXX> token, or the unknown token if one is missing.
      const bool all_bytes = std::all_of(piece.begin(), piece.end(),
                                         [&](char b) { return byte_tokens_[uint8_t(b)] >= 0; });
      if (all_bytes) {
        for (char b : piece) out.push_back(byte_tokens_[uint8_t(b)]);
      } else if (unk_ >= 0) {
        out.push_back(unk_);
      }
    }
    if (word.size() <= kMaxCachedWordBytes) {
      done.emplace(std::string(word), std::pair{first, out.size() - first});
    }
  };
  constexpr uint32_t kSpace = 0x2581;
  size_t word_start = 0;
  uint32_t prev = kSpace;
  for (size_t i = 0; i < escaped.size();) {
    const Utf8Char c = decode_utf8(escaped, i);
    if (c.cp == kSpace && prev != kSpace && i > word_start &&
        !std::binary_search(spm_joins_before_space_.begin(), spm_joins_before_space_.end(), prev)) {
      encode_word(std::string_view(escaped).substr(word_start, i - word_start));
      word_start = i;
    }
    prev = c.cp;
    i += c.len;
  }
  if (word_start < escaped.size()) encode_word(std::string_view(escaped).substr(word_start));
}

std::string Tokenizer::decode_piece(int32_t id, bool render_special) const {
  check_id(id);
  if (!render_special && renders_only_on_request(types_[id])) return {};
  return pieces_[id];
}

void Tokenizer::append_piece(int32_t id, bool render_special, bool& first,
                             std::string& out) const {
  check_id(id);
  if (!render_special && renders_only_on_request(types_[id])) return;
  std::string_view piece = pieces_[id];
  // SPM with add_space_prefix: the space encode put before the text is not part of it.
  if (first && add_space_prefix_ && types_[id] == TokenType::kNormal && !piece.empty() &&
      piece[0] == ' ') {
    piece.remove_prefix(1);
  }
  first = false;
  out += piece;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) append_piece(id, render_special, first, out);
  return out;
}

std::string Decoder::push(int32_t id) {
  tokenizer_.append_piece(id, render_special_, first_, held_);
  // Hold back a trailing lead byte whose sequence is not complete yet (and its continuation
  // bytes so far); anything else, even invalid UTF-8, goes out as it is.
  size_t keep_from = held_.size();
  for (size_t back = 1; back <= 3 && back <= held_.size(); ++back) {
    const uint8_t b = uint8_t(held_[held_.size() - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const int need = utf8_sequence_length(b);
    if (need > int(back)) keep_from = held_.size() - back;
    break;
  }
  std::string out = held_.substr(0, keep_from);
  held_.erase(0, keep_from);
  return out;
}

std::string Decoder::flush() {
  std::string out = std::move(held_);
  held_.clear();
  first_ = true;
  return out;
}

}  // namespace kiln::tokenizer
