#pragma once
// Text <-> token ids from a GGUF file's tokenizer.* metadata, as llama.cpp's converters store it:
//   tokenizer.ggml.model "gpt2"  byte-level BPE: tokens, token_type, merges ("a b"), and
//                                tokenizer.ggml.pre naming the pre-tokenizer regex
//                                ("llama-bpe" llama 3.x, "qwen2" qwen2/qwen3, "gpt-4o" gpt-oss)
//   tokenizer.ggml.model "llama" SentencePiece-style BPE by score: tokens, scores, token_type
//                                (BYTE tokens <0xXX> for byte fallback); gemma3
// Results equal the Hugging Face tokenizer the file came from (tests compare against it):
// special (CONTROL/UNKNOWN) and USER_DEFINED tokens are matched in the text first, leftmost and
// longest; pre-tokenizer "qwen2" also applies NFC, like Qwen's tokenizer.json normalizer.
// Invalid UTF-8 is kept: see unicode.h (each bad byte is one character; byte-level BPE encodes
// the byte, SPM byte-falls back), so decode(encode(x)) == x for any bytes x.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/special_matcher.h"
#include "tokenizer/token_index.h"
#include "tokenizer/spm.h"

namespace kiln::tokenizer {

// tokenizer.ggml.token_type values (llama.cpp's numbering).
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5,
  kByte = 6,
};

enum class Model { kBpe, kSpm };  // tokenizer.ggml.model "gpt2", "llama"

class Tokenizer {
 public:
  // Throws kiln::Error naming the file and key when the metadata is missing or inconsistent, or
  // when the model / pre-tokenizer is one kiln does not implement.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
  static std::unique_ptr<Tokenizer> from_metadata(const std::vector<gguf::KeyValue>& metadata,
                                                  const std::string& source = "metadata");

  // add_bos: add BOS (and EOS) where the file asks for them (add_bos_token / add_eos_token).
  // parse_special: match CONTROL and UNKNOWN tokens written in the text (USER_DEFINED tokens
  // are always matched, as in llama.cpp and HF).
  std::vector<int32_t> encode(std::string_view text, bool add_bos = true,
                              bool parse_special = true) const;

  // The bytes of a token: CONTROL/UNKNOWN/UNUSED tokens render their text only when
  // render_special. Throws on an id outside the vocabulary.
  std::string decode_piece(int32_t id, bool render_special = true) const;
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  int32_t n_vocab() const { return int32_t(texts_.size()); }
  const std::string& token_text(int32_t id) const;  // as stored in the file ("Ġhello", "▁hi")
  TokenType token_type(int32_t id) const;
  int32_t token_id(std::string_view text) const;    // by stored text; -1 if none

  Model model() const { return model_; }
  std::optional<PreTokenizer> pre_tokenizer() const { return pre_; }
  int32_t bos_id() const { return bos_; }  // -1: none
  int32_t eos_id() const { return eos_; }
  int32_t eot_id() const { return eot_; }
  int32_t pad_id() const { return pad_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  // End of generation: eos, eot, eom and the end-of-turn tokens of the supported families.
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const { return eog_; }

 private:
  Tokenizer() = default;
  void load(const std::vector<gguf::KeyValue>& metadata, const std::string& source);
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  // Heterogeneous-lookup map: SPM word -> (first, count) of its ids already in the output.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using SpmWordIds =
      std::unordered_map<std::string, std::pair<size_t, size_t>, StringHash, std::equal_to<>>;
  void encode_spm(std::string_view text, bool prefix_space, SpmWordIds& done,
                  std::vector<int32_t>& out) const;
  void check_id(int32_t id) const;
  // Appends id's bytes to out; first: no piece rendered yet (SPM drops the prefix space there).
  void append_piece(int32_t id, bool render_special, bool& first, std::string& out) const;
  friend class Decoder;

  Model model_ = Model::kBpe;
  std::optional<PreTokenizer> pre_;
  bool ignore_merges_ = false;  // a word that is a whole token skips merging (llama3, o200k)
  bool nfc_ = false;
  bool add_space_prefix_ = false;  // SPM: a space before text at the start / after a special
  std::vector<std::string> texts_;
  std::vector<std::string> pieces_;  // decoded bytes of each token
  std::vector<TokenType> types_;
  std::vector<float> scores_;
  TokenIndex text_index_;   // all tokens by stored text
  TokenIndex piece_index_;  // BPE: normal tokens by bytes
  int32_t byte_tokens_[256];  // BPE: the token of each single byte; SPM: <0xXX>; -1 if none
  MergeTable merges_;
  SpmVocab spm_;
  std::vector<uint32_t> spm_joins_before_space_;  // code points a token joins to a following U+2581
  SpecialMatcher specials_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1, eom_ = -1, pad_ = -1, unk_ = -1;
  bool add_bos_ = false, add_eos_ = false;
  std::vector<int32_t> eog_;
};

// Turns a token stream into text piece by piece without ever splitting a UTF-8 sequence: bytes
// of a character that is not complete yet are held back until the next token completes it.
// Concatenating every push() and the final flush() gives exactly tokenizer.decode(ids).
class Decoder {
 public:
  explicit Decoder(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(tokenizer), render_special_(render_special) {}
  std::string push(int32_t id);
  // What is held back (an incomplete sequence at the end); the decoder then starts afresh.
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  bool first_ = true;
  std::string held_;
};

}  // namespace kiln::tokenizer
