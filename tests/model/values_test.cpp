// Synthetic values: deterministic per seed whatever the thread count or chunking, finite, with
// the intended magnitudes, quantized blocks in canonical form, llama3 rope factors as the
// converter computes them, and tokenizer metadata fitted to the vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <map>

#include "model_test_util.h"

namespace kiln::model {
namespace {

using test::error_of;
using test::TempDir;

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> dequantized(const gguf::Tensor& t) {
  std::vector<float> out(size_t(t.elements()));
  gguf::dequantize(t.type, t.data, out.data(), t.elements());
  return out;
}

TEST(Values, SameSeedSameBytesAnyThreadCount) {
  TempDir dir;
  const Preset& p = find_preset("gpt-oss-tiny");
  SynthOptions o;
  o.seed = 7;
  o.threads = 1;
  write_synthetic(p, o, dir.file("a.gguf"));
  o.threads = 2;
  write_synthetic(p, o, dir.file("b.gguf"));
  o.seed = 8;
  write_synthetic(p, o, dir.file("c.gguf"));
  const std::vector<char> a = read_all(dir.file("a.gguf")), b = read_all(dir.file("b.gguf")),
                          c = read_all(dir.file("c.gguf"));
  ASSERT_EQ(a.size(), synthetic_file_bytes(p, o));
  EXPECT_TRUE(a == b);
  ASSERT_EQ(a.size(), c.size());  // same layout, different values
  EXPECT_FALSE(a == c);
  // Every random tensor differs between the seeds (rope_freqs would not: it is computed).
  const gguf::File fa = gguf::File::open(dir.file("a.gguf")), fc = gguf::File::open(dir.file("c.gguf"));
  for (size_t i = 0; i < fa.tensors().size(); ++i) {
    const gguf::Tensor &ta = fa.tensors()[i], &tc = fc.tensors()[i];
    EXPECT_NE(std::memcmp(ta.data, tc.data, ta.bytes), 0) << ta.name;
  }
}

TEST(Values, ChunksAreIndependentOfHowTheTensorIsSplit) {
  const Preset& p = find_preset("qwen3moe-tiny");
  const HParams hp = synthetic_hparams(p, {});
  for (const SynthTensor& t : synthetic_tensors(p, {})) {
    if (t.slot.name != "blk.1.ffn_up_exps.weight" && t.slot.name != "blk.0.attn_q_norm.weight")
      continue;
    int64_t elements = 1;
    for (int64_t d : t.slot.shape) elements *= d;
    const uint64_t bytes = gguf::bytes_for(t.type, elements);
    const uint64_t block = uint64_t(gguf::type_info(t.type).block_bytes);
    std::vector<uint8_t> whole(bytes), pieces(bytes);
    fill_synthetic(t, p, hp, 3, whole.data(), 0, bytes);
    const uint64_t cut = bytes / block / 3 * block;
    fill_synthetic(t, p, hp, 3, pieces.data(), 0, cut);
    fill_synthetic(t, p, hp, 3, pieces.data() + cut, cut, bytes - cut);
    EXPECT_TRUE(whole == pieces) << t.slot.name;
    EXPECT_NE(error_of([&] { fill_synthetic(t, p, hp, 3, pieces.data(), 1, block); }), "");
  }
}

// Each tensor's values are finite and have the intended mean and spread.
TEST(Values, FiniteWithIntendedMagnitudes) {
  TempDir dir;
  for (const Preset& p : presets()) {
    if (!p.tiny) continue;
    const std::string path = dir.file(p.name + ".gguf");
    write_synthetic(p, {}, path);
    const gguf::File file = gguf::File::open(path);
    const std::vector<SynthTensor> expected = synthetic_tensors(p, {});
    ASSERT_EQ(file.tensors().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const gguf::Tensor& t = file.tensors()[i];
      const TensorSlot& slot = expected[i].slot;
      const std::vector<float> v = dequantized(t);
      double sum = 0, sum_sq = 0;
      for (float x : v) {
        ASSERT_TRUE(std::isfinite(x)) << p.name << " " << t.name;
        sum += x;
        sum_sq += double(x) * x;
      }
      const double mean = sum / double(v.size());
      const double std = std::sqrt(std::max(0.0, sum_sq / double(v.size()) - mean * mean));
      const std::string where = p.name + " " + t.name;
      switch (slot.role) {
        case TensorRole::matrix:
        case TensorRole::expert_matrix:
        case TensorRole::router:
          EXPECT_NEAR(std * std::sqrt(double(slot.fan_in)), 1.0, 0.1) << where;
          EXPECT_NEAR(mean, 0.0, 0.1 * std) << where;
          break;
        case TensorRole::embedding:
        case TensorRole::output:
          EXPECT_NEAR(std * std::sqrt(double(p.hp.n_embd)), 1.0, 0.1) << where;
          break;
        case TensorRole::norm:
          EXPECT_NEAR(mean, 1.0, 0.05) << where;
          EXPECT_NEAR(std, 0.1, 0.03) << where;
          break;
        case TensorRole::bias:
        case TensorRole::expert_bias:
        case TensorRole::router_bias:
        case TensorRole::sinks:
          // std 0.05 (biases) or 0.1 (sinks); the mean of n samples within 4 standard errors.
          EXPECT_LT(std, 0.15) << where;
          EXPECT_GT(std, 0.02) << where;
          EXPECT_NEAR(mean, 0.0, 4 * 0.1 / std::sqrt(double(v.size()))) << where;
          break;
        case TensorRole::rope_freqs: break;
      }
    }
  }
}

// A quantizer given the dequantized values writes the same blocks: each block's largest code
// is the type's largest, as a quantizer would leave it.
TEST(Values, QuantizedBlocksAreCanonical) {
  TempDir dir;
  const std::string path = dir.file("oss.gguf");
  write_synthetic(find_preset("gpt-oss-tiny"), {}, path);
  const gguf::File file = gguf::File::open(path);
  int checked = 0;
  for (const char* name : {"blk.0.attn_q.weight", "blk.1.ffn_down_exps.weight", "token_embd.weight"}) {
    const gguf::Tensor* t = file.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    const std::vector<float> v = dequantized(*t);
    std::vector<uint8_t> again(t->bytes);
    gguf::quantize(t->type, v.data(), again.data(), t->elements());
    EXPECT_EQ(std::memcmp(again.data(), t->data, t->bytes), 0) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
  EXPECT_EQ(file.find_tensor("blk.1.ffn_down_exps.weight")->type, gguf::Type::MXFP4);
}

// rope_freqs.weight for base 500000, dim 128, llama3 factor 8 / low 1 / high 4 / original 8192.
// Pair i has wavelength 2 pi 500000^(i/64). i = 32: 2 pi sqrt(500000) = 4442.88, between
// 8192/4 and 8192, so smooth = (8192 / 4442.88 - 1) / 3 = 0.281285 and the divisor is
// 1 / ((1 - 0.281285) / 8 + 0.281285) = 2.694530. i <= 28 (wavelength < 2048): 1;
// i >= 35 (> 8192): 8.
TEST(Values, Llama3RopeFactors) {
  TempDir dir;
  const std::string path = dir.file("llama.gguf");
  write_synthetic(find_preset("llama-tiny"), {}, path);
  const gguf::File file = gguf::File::open(path);
  const gguf::Tensor* t = file.find_tensor("rope_freqs.weight");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->type, gguf::Type::F32);
  const std::vector<float> f = dequantized(*t);
  ASSERT_EQ(f.size(), 64u);
  for (int i = 0; i <= 28; ++i) EXPECT_EQ(f[size_t(i)], 1.f) << i;
  for (int i = 35; i < 64; ++i) EXPECT_EQ(f[size_t(i)], 8.f) << i;
  EXPECT_NEAR(f[32], 2.694530, 1e-5);
  EXPECT_NEAR(f[29], 1.207484, 1e-5);
  for (int i = 29; i < 35; ++i) EXPECT_LT(f[size_t(i)], f[size_t(i + 1)]) << i;
}

TEST(Values, TokenizerMetadataIsFittedToTheVocabulary) {
  const Preset& p = find_preset("qwen2-tiny");
  SynthOptions o;
  o.extra_metadata = {
      {"tokenizer.ggml.model", gguf::Value::str("gpt2")},
      {"tokenizer.ggml.tokens", gguf::Value::strings({"a", "b", "c"})},
      {"tokenizer.ggml.token_type", gguf::Value::i32s({1, 1, 3})},
  };
  // Fewer tokens than the preset's vocabulary: padded as the converter pads.
  EXPECT_EQ(synthetic_hparams(p, o).n_vocab, 2048);
  std::map<std::string, gguf::Value> kv;
  for (auto& e : synthetic_metadata(p, o)) kv.emplace(e.key, e.value);
  EXPECT_EQ(kv.at("tokenizer.ggml.model"), gguf::Value::str("gpt2"));
  const auto& tokens = kv.at("tokenizer.ggml.tokens").as_array("tokens");
  ASSERT_EQ(tokens.size(), 2048u);
  EXPECT_EQ(tokens[2], gguf::Value::str("c"));
  EXPECT_EQ(tokens[3], gguf::Value::str("[PAD3]"));
  EXPECT_EQ(tokens[2047], gguf::Value::str("[PAD2047]"));
  const auto& types = kv.at("tokenizer.ggml.token_type").as_array("types");
  ASSERT_EQ(types.size(), 2048u);
  EXPECT_EQ(types[2], gguf::Value::i32(3));
  EXPECT_EQ(types[3], gguf::Value::i32(5));
  // --vocab smaller than the tokenizer is refused; larger pads.
  o.vocab = 2;
  EXPECT_EQ(error_of([&] { synthetic_hparams(p, o); }),
            "synth qwen2-tiny: the tokenizer has 3 tokens, more than the vocabulary 2");
  o.vocab = 5;
  EXPECT_EQ(synthetic_metadata(p, o)[0].key, "general.architecture");
  // More tokens than the preset's vocabulary: the vocabulary grows to hold them.
  o.vocab = 0;
  std::vector<std::string> many(3000, "t");
  o.extra_metadata = {{"tokenizer.ggml.tokens", gguf::Value::strings(many)}};
  EXPECT_EQ(synthetic_hparams(p, o).n_vocab, 3000);
  const std::vector<SynthTensor> tensors = synthetic_tensors(p, o);
  EXPECT_EQ(tensors[0].slot.shape, (std::vector<int64_t>{512, 3000}));
}

}  // namespace
}  // namespace kiln::model
