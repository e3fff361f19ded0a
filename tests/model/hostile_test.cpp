// Files kiln must refuse with a one-line error naming the key or tensor and the numbers: a
// preset's header with one thing removed, misshapen or out of range.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "model_test_util.h"

namespace kiln::model {
namespace {

using gguf::Value;
using test::error_of;

// A preset's keys and tensors, edited, then loaded from a header image named model.gguf.
struct Variant {
  explicit Variant(const std::string& preset)
      : metadata(synthetic_metadata(find_preset(preset), {})),
        tensors(test::tensor_infos(synthetic_tensors(find_preset(preset), {}))) {}

  Variant& drop_key(const std::string& key) {
    size_t before = metadata.size();
    std::erase_if(metadata, [&](const gguf::KeyValue& kv) { return kv.key == key; });
    EXPECT_EQ(metadata.size() + 1, before) << key;
    return *this;
  }
  Variant& set_key(const std::string& key, Value value) {
    for (gguf::KeyValue& kv : metadata) {
      if (kv.key == key) {
        kv.value = std::move(value);
        return *this;
      }
    }
    metadata.push_back({key, std::move(value)});
    return *this;
  }
  Variant& drop_tensor(const std::string& name) {
    size_t before = tensors.size();
    std::erase_if(tensors, [&](const test::TensorInfo& t) { return t.name == name; });
    EXPECT_EQ(tensors.size() + 1, before) << name;
    return *this;
  }
  Variant& reshape(const std::string& name, std::vector<int64_t> shape) {
    for (test::TensorInfo& t : tensors) {
      if (t.name == name) t.shape = shape;
    }
    return *this;
  }
  Variant& add_tensor(const std::string& name, std::vector<int64_t> shape) {
    tensors.push_back({name, gguf::Type::F32, std::move(shape)});
    return *this;
  }
  // The load error, or "" when it loads.
  std::string error() const {
    test::HeaderImage image(metadata, tensors);
    const gguf::File file = image.parse("model.gguf");
    return error_of([&] { load_model(file); });
  }

  std::vector<gguf::KeyValue> metadata;
  std::vector<test::TensorInfo> tensors;
};

TEST(Hostile, UnmodifiedVariantsLoad) {
  for (const Preset& p : presets()) EXPECT_EQ(Variant(p.name).error(), "") << p.name;
}

TEST(Hostile, MissingTensor) {
  EXPECT_EQ(Variant("qwen2-tiny").drop_tensor("blk.1.attn_k.weight").error(),
            "model.gguf: missing tensor blk.1.attn_k.weight (qwen2 expects shape 512x256)");
  EXPECT_EQ(Variant("gpt-oss-tiny").drop_tensor("blk.3.attn_sinks.weight").error(),
            "model.gguf: missing tensor blk.3.attn_sinks.weight (gpt-oss expects shape 8)");
  EXPECT_EQ(Variant("qwen3moe-tiny").drop_tensor("blk.0.ffn_down_exps.weight").error(),
            "model.gguf: missing tensor blk.0.ffn_down_exps.weight (qwen3moe expects shape 256x512x8)");
  EXPECT_EQ(Variant("gemma3-tiny").drop_tensor("output_norm.weight").error(),
            "model.gguf: missing tensor output_norm.weight (gemma3 expects shape 512)");
}

TEST(Hostile, WrongShape) {
  EXPECT_EQ(Variant("llama-tiny").reshape("blk.2.ffn_up.weight", {512, 992}).error(),
            "model.gguf: tensor blk.2.ffn_up.weight has shape 512x992, expected 512x1024");
  EXPECT_EQ(Variant("gemma3-tiny").reshape("blk.6.attn_q_norm.weight", {128}).error(),
            "model.gguf: tensor blk.6.attn_q_norm.weight has shape 128, expected 256");
  EXPECT_EQ(Variant("gpt-oss-tiny").reshape("blk.1.ffn_gate_exps.weight", {512, 256}).error(),
            "model.gguf: tensor blk.1.ffn_gate_exps.weight has shape 512x256, expected 512x256x4");
  EXPECT_EQ(Variant("llama-tiny").reshape("rope_freqs.weight", {32}).error(),
            "model.gguf: tensor rope_freqs.weight has shape 32, expected 64");
}

TEST(Hostile, MissingKey) {
  EXPECT_EQ(Variant("qwen2-tiny").drop_key("qwen2.block_count").error(),
            "model.gguf: missing key qwen2.block_count");
  EXPECT_EQ(Variant("qwen2-tiny").drop_key("general.architecture").error(),
            "model.gguf: missing key general.architecture");
  EXPECT_EQ(Variant("gemma3-tiny").drop_key("gemma3.attention.sliding_window").error(),
            "model.gguf: missing key gemma3.attention.sliding_window");
  EXPECT_EQ(Variant("qwen3moe-tiny").drop_key("qwen3moe.expert_count").error(),
            "model.gguf: missing key qwen3moe.expert_count");
  EXPECT_EQ(Variant("gpt-oss-tiny").drop_key("gpt-oss.rope.scaling.factor").error(),
            "model.gguf: missing key gpt-oss.rope.scaling.factor");
  EXPECT_EQ(Variant("llama-tiny").drop_key("llama.attention.layer_norm_rms_epsilon").error(),
            "model.gguf: missing key llama.attention.layer_norm_rms_epsilon");
}

TEST(Hostile, UnknownArchitecture) {
  EXPECT_EQ(Variant("llama-tiny").set_key("general.architecture", Value::str("mamba")).error(),
            "model.gguf: unknown architecture 'mamba' (kiln runs: llama, qwen2, qwen3, qwen3moe, "
            "gemma3, gpt-oss)");
}

TEST(Hostile, ValuesOutOfRange) {
  EXPECT_EQ(Variant("qwen2-tiny").set_key("qwen2.attention.head_count", Value::u32(0)).error(),
            "model.gguf: key qwen2.attention.head_count is 0 (must be 1 to 4096)");
  EXPECT_EQ(Variant("qwen2-tiny").set_key("qwen2.block_count", Value::u64(uint64_t(1) << 40)).error(),
            "model.gguf: key qwen2.block_count is 1099511627776 (must be 1 to 4096)");
  EXPECT_EQ(Variant("qwen3-tiny").set_key("qwen3.attention.head_count_kv", Value::u32(3)).error(),
            "model.gguf: qwen3.attention.head_count 8 is not a multiple of "
            "qwen3.attention.head_count_kv 3");
  EXPECT_EQ(Variant("qwen3-tiny").set_key("qwen3.attention.head_count_kv", Value::u32(16)).error(),
            "model.gguf: key qwen3.attention.head_count_kv is 16 (must be 1 to 8)");
  EXPECT_EQ(Variant("qwen3moe-tiny").set_key("qwen3moe.expert_used_count", Value::u32(9)).error(),
            "model.gguf: key qwen3moe.expert_used_count is 9 (must be 1 to 8)");
  EXPECT_EQ(Variant("llama-tiny")
                .set_key("llama.attention.layer_norm_rms_epsilon",
                         Value::f32(std::numeric_limits<float>::quiet_NaN()))
                .error(),
            "model.gguf: key llama.attention.layer_norm_rms_epsilon is nan (must be a finite "
            "positive number)");
  EXPECT_EQ(Variant("llama-tiny").set_key("llama.rope.freq_base", Value::f32(-1.f)).error(),
            "model.gguf: key llama.rope.freq_base is -1 (must be a finite positive number)");
  EXPECT_EQ(Variant("llama-tiny").set_key("llama.rope.dimension_count", Value::u32(63)).error(),
            "model.gguf: key llama.rope.dimension_count is 63 (must be even)");
  EXPECT_EQ(Variant("gemma3-tiny").set_key("gemma3.rope.scaling.type", Value::str("dynamic")).error(),
            "model.gguf: key gemma3.rope.scaling.type is 'dynamic' (kiln knows none, linear, yarn)");
  EXPECT_EQ(Variant("qwen2-tiny").set_key("qwen2.vocab_size", Value::u32(0)).error(),
            "model.gguf: key qwen2.vocab_size is 0 (must be 1 to 16777216)");
}

TEST(Hostile, WrongValueType) {
  const std::string error =
      Variant("qwen2-tiny").set_key("qwen2.block_count", Value::str("three")).error();
  EXPECT_EQ(error.rfind("model.gguf: key qwen2.block_count: expected", 0), 0u) << error;
}

TEST(Hostile, VocabularyMismatch) {
  // vocab_size says 4096 but token_embd has 2048 rows.
  EXPECT_EQ(Variant("qwen2-tiny").set_key("qwen2.vocab_size", Value::u32(4096)).error(),
            "model.gguf: tensor token_embd.weight has shape 512x2048, expected 512x4096");
}

TEST(Hostile, UnexpectedTensor) {
  EXPECT_EQ(Variant("qwen2-tiny").add_tensor("blk.0.ffn_gate_inp.weight", {512, 8}).error(),
            "model.gguf: unexpected tensor blk.0.ffn_gate_inp.weight (qwen2 with 3 blocks has 38 "
            "tensors, the file 39)");
  // More blocks in the file than block_count says.
  EXPECT_EQ(Variant("qwen2-tiny").set_key("qwen2.block_count", Value::u32(2)).error(),
            "model.gguf: unexpected tensor blk.2.attn_norm.weight (qwen2 with 2 blocks has 26 "
            "tensors, the file 38)");
}

TEST(Hostile, TwoRopeScalings) {
  EXPECT_EQ(Variant("llama-tiny")
                .set_key("llama.rope.scaling.type", Value::str("linear"))
                .set_key("llama.rope.scaling.factor", Value::f32(2.f))
                .error(),
            "model.gguf: tensor rope_freqs.weight (llama3 scaling) and key llama.rope.scaling.type "
            "linear both scale RoPE");
}

TEST(Hostile, OptionalThingsFallBack) {
  // No vocab_size: the vocabulary is token_embd's row count.
  Variant no_vocab("qwen3-tiny");
  no_vocab.drop_key("qwen3.vocab_size");
  EXPECT_EQ(no_vocab.error(), "");
  // No output.weight: the LM head is token_embd.
  Variant tied("llama-tiny");
  tied.drop_tensor("output.weight");
  {
    test::HeaderImage image(tied.metadata, tied.tensors);
    const gguf::File file = image.parse("model.gguf");
    const Model m = load_model(file);
    EXPECT_TRUE(m.tied_output());
    EXPECT_EQ(m.hp.n_vocab, 2048);
  }
  // No rope_freqs.weight: no llama3 scaling.
  Variant plain("llama-tiny");
  plain.drop_tensor("rope_freqs.weight");
  {
    test::HeaderImage image(plain.metadata, plain.tensors);
    const gguf::File file = image.parse("model.gguf");
    EXPECT_EQ(load_model(file).hp.rope_scaling, RopeScaling::none);
  }
  // No head_count_kv: as many kv heads as heads (then attn_k is misshapen in this file).
  EXPECT_EQ(Variant("qwen2-tiny").drop_key("qwen2.attention.head_count_kv").error(),
            "model.gguf: tensor blk.0.attn_k.weight has shape 512x256, expected 512x512");
}

}  // namespace
}  // namespace kiln::model
