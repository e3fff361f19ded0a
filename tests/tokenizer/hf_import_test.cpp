// The HF -> GGUF tokenizer metadata converter: the keys llama.cpp's converter would write for
// the four real tokenizers (ids checked against their tokenizer.json / tokenizer_config.json),
// vocabulary padding, and errors for tokenizers kiln cannot represent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "npm_reference.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/hf_import.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace kiln::tokenizer {
namespace {

const gguf::Value* find(const std::vector<gguf::KeyValue>& kv, std::string_view key) {
  for (const auto& k : kv) {
    if (k.key == key) return &k.value;
  }
  return nullptr;
}

class HfImport : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why_not = testing::ensure_npm_packages();
    if (!why_not.empty()) GTEST_SKIP() << "tokenizer data not available: " << why_not;
  }
  static std::vector<gguf::KeyValue> import(const std::string& family,
                                            const HfImportOptions& options = {}) {
    return gguf_metadata_from_hf(testing::family_models_dir(family).string(), options);
  }
  static uint64_t u64(const std::vector<gguf::KeyValue>& kv, const char* key) {
    const gguf::Value* v = find(kv, key);
    return v ? v->as_u64(key) : ~uint64_t(0);
  }
  static bool flag(const std::vector<gguf::KeyValue>& kv, const char* key) {
    return find(kv, key)->as_bool(key);
  }
};

TEST_F(HfImport, Llama31) {
  const auto kv = import("llama3_1");
  EXPECT_EQ(find(kv, "tokenizer.ggml.model")->as_str(""), "gpt2");
  EXPECT_EQ(find(kv, "tokenizer.ggml.pre")->as_str(""), "llama-bpe");
  EXPECT_EQ(find(kv, "tokenizer.ggml.tokens")->as_array("").size(), 128256u);
  EXPECT_EQ(find(kv, "tokenizer.ggml.merges")->as_array("").size(), 280147u);
  EXPECT_EQ(find(kv, "tokenizer.ggml.merges")->as_array("")[0].as_str(""), "\xC4\xA0 \xC4\xA0");
  EXPECT_EQ(u64(kv, "tokenizer.ggml.bos_token_id"), 128000u);  // <|begin_of_text|>
  EXPECT_EQ(u64(kv, "tokenizer.ggml.eos_token_id"), 128009u);  // <|eot_id|>
  EXPECT_EQ(u64(kv, "tokenizer.ggml.eot_token_id"), 128009u);
  EXPECT_TRUE(flag(kv, "tokenizer.ggml.add_bos_token"));  // from the TemplateProcessing
  EXPECT_FALSE(flag(kv, "tokenizer.ggml.add_eos_token"));
  EXPECT_EQ(find(kv, "tokenizer.ggml.scores"), nullptr);
  EXPECT_NE(find(kv, "tokenizer.chat_template")->as_str("").find("<|start_header_id|>"),
            std::string::npos);
  const auto tok = Tokenizer::from_metadata(kv);
  EXPECT_EQ(tok->token_type(128000), TokenType::kControl);
  EXPECT_EQ(tok->token_type(9906), TokenType::kNormal);  // "Hello"
  EXPECT_TRUE(tok->is_eog(128009));
  EXPECT_FALSE(tok->is_eog(128006));  // <|start_header_id|>
  EXPECT_TRUE(tok->is_eog(128001));  // <|end_of_text|>
}

TEST_F(HfImport, Qwen3) {
  const auto kv = import("qwen3");
  EXPECT_EQ(find(kv, "tokenizer.ggml.pre")->as_str(""), "qwen2");
  EXPECT_EQ(find(kv, "tokenizer.ggml.tokens")->as_array("").size(), 151669u);
  EXPECT_EQ(find(kv, "tokenizer.ggml.bos_token_id"), nullptr);  // bos_token is null
  EXPECT_EQ(u64(kv, "tokenizer.ggml.eos_token_id"), 151645u);   // <|im_end|>
  EXPECT_EQ(u64(kv, "tokenizer.ggml.padding_token_id"), 151643u);  // <|endoftext|>
  EXPECT_FALSE(flag(kv, "tokenizer.ggml.add_bos_token"));
  const auto tok = Tokenizer::from_metadata(kv);
  EXPECT_EQ(tok->token_type(151644), TokenType::kControl);      // <|im_start|>
  EXPECT_EQ(tok->token_type(151667), TokenType::kUserDefined);  // <think>
  EXPECT_EQ(tok->token_type(151659), TokenType::kControl);      // <|fim_prefix|>: looks special
  EXPECT_TRUE(tok->is_eog(151645));
  EXPECT_TRUE(tok->is_eog(151643));
}

TEST_F(HfImport, Gemma3) {
  const auto kv = import("gemma3");
  EXPECT_EQ(find(kv, "tokenizer.ggml.model")->as_str(""), "llama");
  EXPECT_EQ(find(kv, "tokenizer.ggml.pre"), nullptr);
  EXPECT_EQ(find(kv, "tokenizer.ggml.merges"), nullptr);
  EXPECT_EQ(find(kv, "tokenizer.ggml.tokens")->as_array("").size(), 262145u);
  EXPECT_EQ(u64(kv, "tokenizer.ggml.bos_token_id"), 2u);
  EXPECT_EQ(u64(kv, "tokenizer.ggml.eos_token_id"), 106u);  // <end_of_turn>
  EXPECT_EQ(u64(kv, "tokenizer.ggml.unknown_token_id"), 3u);
  EXPECT_EQ(u64(kv, "tokenizer.ggml.padding_token_id"), 0u);
  EXPECT_TRUE(flag(kv, "tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(flag(kv, "tokenizer.ggml.add_space_prefix"));
  const auto& scores = find(kv, "tokenizer.ggml.scores")->as_array("");
  // The first merge ("\n"x30 + "\n", rank 0) makes "\n"x31; the token "▁▁" is made by a merge
  // of rank > 0; single characters and <0xXX> are made by none.
  const auto tok = Tokenizer::from_metadata(kv);
  EXPECT_EQ(scores[tok->token_id(std::string(31, '\n'))].as_f64(""), -1.0);
  EXPECT_LT(scores[tok->token_id("\xE2\x96\x81\xE2\x96\x81")].as_f64(""), -1.0);
  EXPECT_EQ(scores[tok->token_id("a")].as_f64(""), double(kUnmergedScore));
  EXPECT_EQ(tok->token_type(tok->token_id("<0x41>")), TokenType::kByte);
  EXPECT_EQ(tok->token_type(3), TokenType::kUnknown);
  EXPECT_EQ(tok->token_type(106), TokenType::kControl);
  EXPECT_EQ(tok->token_type(tok->token_id("<unused0>")), TokenType::kUserDefined);
  EXPECT_TRUE(tok->is_eog(106));
  EXPECT_TRUE(tok->is_eog(1));  // <eos>
}

TEST_F(HfImport, GptOss) {
  const auto kv = import("gptoss");
  EXPECT_EQ(find(kv, "tokenizer.ggml.pre")->as_str(""), "gpt-4o");
  EXPECT_EQ(find(kv, "tokenizer.ggml.tokens")->as_array("").size(), 200019u);
  EXPECT_EQ(u64(kv, "tokenizer.ggml.bos_token_id"), 199998u);  // <|startoftext|>
  EXPECT_EQ(u64(kv, "tokenizer.ggml.eos_token_id"), 200002u);  // <|return|>
  EXPECT_FALSE(flag(kv, "tokenizer.ggml.add_bos_token"));
  EXPECT_EQ(find(kv, "tokenizer.chat_template"), nullptr);  // the package ships none
  const auto tok = Tokenizer::from_metadata(kv);
  EXPECT_TRUE(tok->is_eog(200002));
  EXPECT_TRUE(tok->is_eog(200012));   // <|call|>
  EXPECT_FALSE(tok->is_eog(200007));  // <|end|> ends a message, not the generation
}

TEST_F(HfImport, PadsToTheModelsVocabularySize) {
  const auto kv = import("qwen3", {.vocab_size = 151936});
  const auto& tokens = find(kv, "tokenizer.ggml.tokens")->as_array("");
  ASSERT_EQ(tokens.size(), 151936u);
  EXPECT_EQ(tokens[151935].as_str(""), "[PAD151935]");
  EXPECT_EQ(find(kv, "tokenizer.ggml.token_type")->as_array("")[151935].as_i64(""),
            int64_t(TokenType::kUnused));
  try {
    import("qwen3", {.vocab_size = 1000});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the tokenizer has ids up to 151668 but the model's "
                                         "vocabulary has only 1000 rows"),
              std::string::npos)
        << e.what();
  }
}

// A tiny byte-level tokenizer folder written here (so this runs without the npm packages):
// the converter's keys, the chat template precedence, and encoding with the result.
TEST(HfImportTiny, ByteLevelFolderToWorkingTokenizer) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kiln_hf_tiny_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_encode(std::string(1, char(b)))] = b;
  vocab["he"] = 256;
  vocab["hello"] = 257;  // no merge makes it: only ignore_merges finds it
  vocab["\xC4\xA0w"] = 258;
  nlohmann::json tj = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"ignore_merges", true},
                 {"merges", nlohmann::json::array({nlohmann::json::array({"h", "e"}),
                                                   nlohmann::json::array({"\xC4\xA0", "w"})})}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"}},
          {{"type", "ByteLevel"}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<|bos|>"}}}}, {{"Sequence", {{"id", "A"}}}}}}}},
      {"added_tokens",
       {{{"id", 259}, {"content", "<|bos|>"}, {"special", true}},
        {{"id", 260}, {"content", "<|eot_id|>"}, {"special", true}},
        {{"id", 262}, {"content", "<tool>"}, {"special", false}}}},
  };
  std::ofstream(dir / "tokenizer.json") << tj.dump();
  std::ofstream(dir / "tokenizer_config.json")
      << nlohmann::json{{"bos_token", "<|bos|>"},
                        {"eos_token", {{"content", "<|eot_id|>"}}},
                        {"chat_template", {{{"name", "tool_use"}, {"template", "T"}},
                                           {{"name", "default"}, {"template", "D"}}}}}
             .dump();
  auto kv = gguf_metadata_from_hf(dir.string(), {.vocab_size = 264});
  EXPECT_EQ(find(kv, "tokenizer.chat_template")->as_str(""), "D");
  std::ofstream(dir / "chat_template.jinja") << "{{ messages }}";  // a separate file wins
  kv = gguf_metadata_from_hf(dir.string(), {.vocab_size = 264});
  EXPECT_EQ(find(kv, "tokenizer.chat_template")->as_str(""), "{{ messages }}");
  std::filesystem::remove_all(dir);

  EXPECT_EQ(find(kv, "tokenizer.ggml.pre")->as_str(""), "llama-bpe");
  EXPECT_EQ(find(kv, "tokenizer.ggml.merges")->as_array("")[1].as_str(""), "\xC4\xA0 w");
  EXPECT_EQ(find(kv, "tokenizer.ggml.bos_token_id")->as_u64(""), 259u);
  EXPECT_EQ(find(kv, "tokenizer.ggml.eos_token_id")->as_u64(""), 260u);
  EXPECT_EQ(find(kv, "tokenizer.ggml.eot_token_id")->as_u64(""), 260u);
  EXPECT_TRUE(find(kv, "tokenizer.ggml.add_bos_token")->as_bool(""));
  const auto& tokens = find(kv, "tokenizer.ggml.tokens")->as_array("");
  ASSERT_EQ(tokens.size(), 264u);
  EXPECT_EQ(tokens[261].as_str(""), "[PAD261]");  // a gap in the ids
  EXPECT_EQ(tokens[263].as_str(""), "[PAD263]");  // padding to vocab_size
  const auto tok = Tokenizer::from_metadata(kv);
  EXPECT_EQ(tok->token_type(261), TokenType::kUnused);
  EXPECT_EQ(tok->token_type(262), TokenType::kUserDefined);
  EXPECT_EQ(tok->encode("hello world<tool><|eot_id|>"),
            (std::vector<int32_t>{259, 257, 258, 'o', 'r', 'l', 'd', 262, 260}));
}

// Tokenizers kiln cannot represent fail with a message naming the file and the difference.
TEST(HfImportErrors, NameWhatIsUnsupported) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kiln_hf_import_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto message = [&](const std::string& tokenizer_json) {
    std::ofstream(dir / "tokenizer.json") << tokenizer_json;
    try {
      gguf_metadata_from_hf(dir.string());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string vocab = R"("vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"])";
  EXPECT_NE(message(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})")
                .find("model type \"WordPiece\" is not supported"),
            std::string::npos);
  EXPECT_NE(message(R"({"model": {"type": "BPE", )" + vocab +
                    R"(}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split",
                    "pattern": {"Regex": "\\w+"}}, {"type": "ByteLevel"}]}})")
                .find("pre-tokenizer regex \"\\\\w+\" is not one kiln implements"),
            std::string::npos)
      << message("{}");
  EXPECT_NE(message("{not json").find("tokenizer.json: not valid JSON"), std::string::npos);
  const std::string bad_vocab = R"({"model": {"type": "BPE", "byte_fallback": true,
      "vocab": {"a": "zero"}}, "normalizer": {"type": "Replace", "pattern": {"String": " "},
      "content": "\u2581"}})";
  EXPECT_NE(message(bad_vocab).find("tokenizer.json: unexpected content ("), std::string::npos)
      << message(bad_vocab);
  std::filesystem::remove_all(dir);
  EXPECT_NE(message("").find("tokenizer.json: cannot open"), std::string::npos);
}

}  // namespace
}  // namespace kiln::tokenizer
