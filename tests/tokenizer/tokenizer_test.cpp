// Tokenizer on tiny hand-built vocabularies (metadata as llama.cpp's converter writes it), with
// the expected ids worked out by hand: merge order, ignore_merges, specials, byte fallback,
// BOS/EOS, decoding, streaming, and the errors for bad metadata.
#include <gtest/gtest.h>

#include <random>

#include "spm_spaces.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace kiln::tokenizer {
namespace {

using gguf::KeyValue;
using gguf::Value;
using testing::spm_spaces;
using Ids = std::vector<int32_t>;

constexpr int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kByte = 6;

// Byte-level BPE: ids 0..255 are the single bytes (id == byte), then:
//   256 "he"  257 "ll"  258 "hell"  259 "hello"  260 "Ġw"  261 "ab"  262 "bc"  263 "xyz"
//   264 "<|end|>" (CONTROL)  265 "<tool>" (USER_DEFINED)  266 "<|im_end|>" (CONTROL)
// merges by rank: h e, l l, he ll, hell o, Ġ w, b c, a b.
std::vector<KeyValue> tiny_bpe(const std::string& pre) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(byte_level_encode(std::string(1, char(b))));
  for (const char* t : {"he", "ll", "hell", "hello", "\xC4\xA0w", "ab", "bc", "xyz", "<|end|>",
                        "<tool>", "<|im_end|>"}) {
    tokens.push_back(t);
  }
  std::vector<int32_t> types(tokens.size(), kNormal);
  types[264] = kControl;
  types[265] = kUserDefined;
  types[266] = kControl;
  return {
      {"tokenizer.ggml.model", Value::str("gpt2")},
      {"tokenizer.ggml.pre", Value::str(pre)},
      {"tokenizer.ggml.tokens", Value::strings(tokens)},
      {"tokenizer.ggml.token_type", Value::i32s(types)},
      {"tokenizer.ggml.merges",
       Value::strings({"h e", "l l", "he ll", "hell o", "\xC4\xA0 w", "b c", "a b"})},
      {"tokenizer.ggml.bos_token_id", Value::u32(264)},
      {"tokenizer.ggml.eos_token_id", Value::u32(266)},
      {"tokenizer.ggml.add_bos_token", Value::boolean(false)},
  };
}

void set(std::vector<KeyValue>& kv, const std::string& key, Value value) {
  for (KeyValue& k : kv) {
    if (k.key == key) {
      k.value = std::move(value);
      return;
    }
  }
  kv.push_back({key, std::move(value)});
}

void remove_key(std::vector<KeyValue>& kv, const std::string& key) {
  std::erase_if(kv, [&](const KeyValue& k) { return k.key == key; });
}

TEST(BpeTokenizer, MergesByRankLeftmostFirst) {
  auto tok = Tokenizer::from_metadata(tiny_bpe("qwen2"));
  EXPECT_EQ(tok->model(), Model::kBpe);
  EXPECT_EQ(tok->n_vocab(), 267);
  EXPECT_EQ(tok->encode("hello"), (Ids{259}));
  EXPECT_EQ(tok->encode("hellx"), (Ids{258, 'x'}));
  EXPECT_EQ(tok->encode("hello world"), (Ids{259, 260, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(tok->encode("lll"), (Ids{257, 'l'}));     // equal ranks: the leftmost pair first
  EXPECT_EQ(tok->encode("abc"), (Ids{'a', 262}));     // "b c" outranks "a b"
  EXPECT_EQ(tok->encode("xyz"), (Ids{'x', 'y', 'z'}));  // a token no merge reaches
  EXPECT_EQ(tok->encode(""), Ids{});
}

TEST(BpeTokenizer, LongWordsMergeTheSameWithTheHeap) {
  auto tok = Tokenizer::from_metadata(tiny_bpe("qwen2"));
  // 100 "hello"s with no separator form one pre-token of 500 bytes (heap path): every "hello"
  // must still merge whole, and the 'o' + 'h' seams must stay apart.
  std::string text;
  for (int i = 0; i < 100; ++i) text += "hello";
  EXPECT_EQ(tok->encode(text), Ids(100, 259));
  EXPECT_EQ(tok->encode(std::string(101, 'l')), [] {
    Ids ids(50, 257);
    ids.push_back('l');
    return ids;
  }());
}

TEST(BpeTokenizer, IgnoreMergesTakesWholeWordTokens) {
  // llama-bpe sets ignore_merges: "xyz" is a token, so the word is that token.
  auto tok = Tokenizer::from_metadata(tiny_bpe("llama-bpe"));
  EXPECT_EQ(tok->encode("xyz"), (Ids{263}));
  EXPECT_EQ(tok->encode("abc"), (Ids{'a', 262}));
}

TEST(BpeTokenizer, SpecialTokensAndBos) {
  auto kv = tiny_bpe("qwen2");
  auto tok = Tokenizer::from_metadata(kv);
  EXPECT_EQ(tok->encode("hi<|end|>x"), (Ids{'h', 'i', 264, 'x'}));
  EXPECT_EQ(tok->encode("hi<|end|>x", true, /*parse_special=*/false),
            (Ids{'h', 'i', '<', '|', 'e', 'n', 'd', '|', '>', 'x'}));
  // USER_DEFINED tokens are matched even when special tokens are not parsed.
  EXPECT_EQ(tok->encode("a<tool>b", true, false), (Ids{'a', 265, 'b'}));
  EXPECT_EQ(tok->encode("<tool><tool>"), (Ids{265, 265}));
  EXPECT_EQ(tok->bos_id(), 264);
  EXPECT_FALSE(tok->add_bos());
  set(kv, "tokenizer.ggml.add_bos_token", Value::boolean(true));
  set(kv, "tokenizer.ggml.add_eos_token", Value::boolean(true));
  tok = Tokenizer::from_metadata(kv);
  EXPECT_EQ(tok->encode("hello"), (Ids{264, 259, 266}));
  EXPECT_EQ(tok->encode("hello", /*add_bos=*/false), (Ids{259}));
  EXPECT_EQ(tok->encode(""), (Ids{264, 266}));
}

TEST(BpeTokenizer, DecodesBytesAndSpecialsOnRequest) {
  auto tok = Tokenizer::from_metadata(tiny_bpe("qwen2"));
  EXPECT_EQ(tok->decode(Ids{259, 260, 264, 265}), "hello w<tool>");
  EXPECT_EQ(tok->decode(Ids{259, 264}, /*render_special=*/true), "hello<|end|>");
  EXPECT_EQ(tok->decode_piece(260), " w");
  EXPECT_EQ(tok->decode_piece(264, false), "");
  EXPECT_EQ(tok->token_text(260), "\xC4\xA0w");
  EXPECT_EQ(tok->token_type(265), TokenType::kUserDefined);
  EXPECT_EQ(tok->token_id("hello"), 259);
  EXPECT_EQ(tok->token_id("nope"), -1);
  // Any bytes survive a round trip, invalid UTF-8 included.
  const std::string weird = "caf\xC3\xA9 \xFF\xFE hello\t\n\x01";
  EXPECT_EQ(tok->decode(tok->encode(weird)), weird);
  EXPECT_EQ(tok->encode("\xFF"), (Ids{0xFF}));
  EXPECT_THROW(tok->decode(Ids{267}), Error);
  EXPECT_THROW(tok->decode_piece(-1), Error);
}

TEST(BpeTokenizer, EndOfGeneration) {
  auto tok = Tokenizer::from_metadata(tiny_bpe("qwen2"));
  EXPECT_TRUE(tok->is_eog(266));   // eos, and "<|im_end|>" by name
  EXPECT_TRUE(tok->is_eog(264));   // "<|end|>" by name (no "<|return|>" here, unlike gpt-oss)
  EXPECT_EQ(tok->eot_id(), 266);   // found by name: no eot key
  EXPECT_FALSE(tok->is_eog(259));
}

TEST(Decoder, HoldsBackIncompleteUtf8) {
  auto tok = Tokenizer::from_metadata(tiny_bpe("qwen2"));
  // "€" is E2 82 AC: three single-byte tokens.
  Decoder d(*tok);
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xE2), "");
  EXPECT_EQ(d.push(0x82), "");
  EXPECT_EQ(d.push(0xAC), "\xE2\x82\xAC");
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.flush(), "\xF0");  // the stream ended inside a character: the bytes, as they are
  // Invalid bytes are not held back forever: the next byte shows the sequence cannot complete.
  EXPECT_EQ(d.push(0xE2), "");
  EXPECT_EQ(d.push('x'), "\xE2x");
  EXPECT_EQ(d.push(0xFF), "\xFF");
  EXPECT_EQ(d.push(264), "");  // control token, not rendered
  Decoder rendering(*tok, /*render_special=*/true);
  EXPECT_EQ(rendering.push(264), "<|end|>");
}

// SentencePiece style: 0 <unk> (UNKNOWN), 1 <s>, 2 </s> (CONTROL), 3..258 <0x00>..<0xFF> (BYTE),
// then 259 "▁" 260 "a" 261 "b" 262 "c" 263 "ab" 264 "▁a" 265 "▁ab" 266 "bc" 267 "<b>" (USER).
std::vector<KeyValue> tiny_spm() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {kUnknown, kControl, kControl};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    tokens.push_back(name);
    types.push_back(kByte);
    scores.push_back(0);
  }
  const std::pair<const char*, float> pieces[] = {
      {"\xE2\x96\x81", -1}, {"a", -2}, {"b", -3}, {"c", -4}, {"ab", -5}, {"\xE2\x96\x81" "a", -6},
      {"\xE2\x96\x81" "ab", -7}, {"bc", -4.5f}, {"<b>", 0}};
  for (const auto& [text, score] : pieces) {
    tokens.push_back(text);
    types.push_back(kNormal);
    scores.push_back(score);
  }
  types.back() = kUserDefined;
  return {
      {"tokenizer.ggml.model", Value::str("llama")},
      {"tokenizer.ggml.tokens", Value::strings(tokens)},
      {"tokenizer.ggml.scores", Value::f32s(scores)},
      {"tokenizer.ggml.token_type", Value::i32s(types)},
      {"tokenizer.ggml.bos_token_id", Value::u32(1)},
      {"tokenizer.ggml.eos_token_id", Value::u32(2)},
      {"tokenizer.ggml.unknown_token_id", Value::u32(0)},
      {"tokenizer.ggml.add_space_prefix", Value::boolean(false)},
  };
}

TEST(SpmTokenizer, MergesByScoreAndFallsBackToBytes) {
  auto tok = Tokenizer::from_metadata(tiny_spm());
  EXPECT_EQ(tok->model(), Model::kSpm);
  EXPECT_TRUE(tok->add_bos());  // llama.cpp's default for SPM when the key is absent
  EXPECT_EQ(tok->encode("ab ab", false), (Ids{263, 265}));
  EXPECT_EQ(tok->encode("abc", false), (Ids{260, 266}));  // "bc" (-4.5) beats "ab" (-5)
  EXPECT_EQ(tok->encode("ab", true), (Ids{1, 263}));
  // é is not a token: its two UTF-8 bytes.
  EXPECT_EQ(tok->encode("\xC3\xA9", false), (Ids{3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok->encode("a<b>b", false), (Ids{260, 267, 261}));
  EXPECT_EQ(tok->encode("<s>a", false), (Ids{1, 260}));
  EXPECT_EQ(tok->encode("<s>a", false, /*parse_special=*/false),
            (Ids{3 + '<', 3 + 's', 3 + '>', 260}));
  EXPECT_EQ(tok->decode(tok->encode(" ab \xC3\xA9 \xFF", false)), " ab \xC3\xA9 \xFF");
  EXPECT_EQ(tok->decode(Ids{1, 265, 2}), " ab");
  EXPECT_EQ(tok->decode(Ids{1, 265, 2}, true), "<s> ab</s>");
}

TEST(SpmTokenizer, SpacePrefixLikeLlamaCpp) {
  auto kv = tiny_spm();
  set(kv, "tokenizer.ggml.add_space_prefix", Value::boolean(true));
  auto tok = Tokenizer::from_metadata(kv);
  // A space goes before text at the start and after a special token; decode drops the first.
  EXPECT_EQ(tok->encode("ab", false), (Ids{265}));
  EXPECT_EQ(tok->encode("ab<s>ab", false), (Ids{265, 1, 265}));
  EXPECT_EQ(tok->decode(Ids{265, 265}), "ab ab");
  Decoder d(*tok);
  EXPECT_EQ(d.push(265), "ab");
  EXPECT_EQ(d.push(265), " ab");
}

// Arbitrary bytes (mostly invalid UTF-8) never crash and always come back exactly, through
// decode() and through the streaming decoder.
TEST(Tokenizers, RandomBytesRoundTrip) {
  const auto bpe = Tokenizer::from_metadata(tiny_bpe("gpt-4o"));
  const auto spm = Tokenizer::from_metadata(tiny_spm());
  std::mt19937 rng(3);
  for (int round = 0; round < 2000; ++round) {
    std::string text(rng() % 64, '\0');
    for (char& c : text) {
      // Bias towards the bytes that build (and break) UTF-8 sequences and specials.
      const char picks[] = {'a', ' ', '\n', '<', '>', '|', '\'', '\xC3', '\xA9', '\xE2', '\x96',
                            '\x81', '\xF0', '\x9F', '\x98', '\x80', '\xFF'};
      c = rng() % 3 ? picks[rng() % sizeof picks] : char(rng());
    }
    for (const Tokenizer* tok : {bpe.get(), spm.get()}) {
      const std::string want = tok == spm.get() ? spm_spaces(text) : text;
      const std::vector<int32_t> ids = tok->encode(text, false);
      ASSERT_EQ(tok->decode(ids, true), want) << "round " << round;
      Decoder d(*tok, true);
      std::string streamed;
      for (int32_t id : ids) streamed += d.push(id);
      streamed += d.flush();
      ASSERT_EQ(streamed, want) << "round " << round;
    }
  }
}

TEST(TokenizerErrors, NameTheKeyAndTheNumbers) {
  auto message = [](const std::vector<KeyValue>& kv) {
    try {
      Tokenizer::from_metadata(kv, "model.gguf");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto kv = tiny_bpe("qwen2");
  remove_key(kv, "tokenizer.ggml.model");
  EXPECT_EQ(message(kv), "model.gguf: no tokenizer (tokenizer.ggml.model is missing)");
  set(kv, "tokenizer.ggml.model", Value::str("none"));
  EXPECT_EQ(message(kv), "model.gguf: no tokenizer (tokenizer.ggml.model = \"none\")");
  set(kv, "tokenizer.ggml.model", Value::str("bert"));
  EXPECT_NE(message(kv).find("\"bert\" is not supported"), std::string::npos) << message(kv);

  EXPECT_NE(message(tiny_bpe("falcon")).find("tokenizer.ggml.pre \"falcon\" is not supported"),
            std::string::npos);
  kv = tiny_bpe("qwen2");
  set(kv, "tokenizer.ggml.token_type", Value::i32s({1, 1}));
  EXPECT_EQ(message(kv),
            "model.gguf: tokenizer.ggml.token_type has 2 entries but tokenizer.ggml.tokens has 267");
  kv = tiny_bpe("qwen2");
  set(kv, "tokenizer.ggml.merges", Value::strings({"h e", "q z"}));
  EXPECT_EQ(message(kv), "model.gguf: tokenizer.ggml.merges[1] = \"q z\" names a token that is "
                         "not in tokenizer.ggml.tokens");
  kv = tiny_bpe("qwen2");
  set(kv, "tokenizer.ggml.merges", Value::strings({"he"}));
  EXPECT_EQ(message(kv), "model.gguf: tokenizer.ggml.merges[0] = \"he\" is not \"LEFT RIGHT\"");
  kv = tiny_bpe("qwen2");
  set(kv, "tokenizer.ggml.eos_token_id", Value::u32(5000));
  EXPECT_EQ(message(kv), "model.gguf: tokenizer.ggml.eos_token_id = 5000 is not a token id (the "
                         "vocabulary has 267 tokens)");
  kv = tiny_bpe("qwen2");
  set(kv, "tokenizer.ggml.tokens", Value::u32(3));
  EXPECT_NE(message(kv).find("tokenizer.ggml.tokens"), std::string::npos) << message(kv);
}

}  // namespace
}  // namespace kiln::tokenizer
