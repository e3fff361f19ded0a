// load_model on what synth writes: every preset at full size (header images, no data written),
// every tiny preset and a one-layer, small-vocab version of every big one written to disk, and
// the per-layer pattern and bindings each arch should get.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "model/tensor_schema.h"
#include "model_test_util.h"

namespace kiln::model {
namespace {

using test::HeaderImage;
using test::TempDir;

// Every slot of the schema is bound to the file's tensor of that name.
void expect_bound(const Model& m, const Preset& p, const SynthOptions& o) {
  SchemaOptions schema;
  schema.output = !p.tied_output;
  schema.rope_freqs = p.llama3.has_value();
  for (const TensorSlot& slot : tensor_schema(m.arch, m.hp, schema)) {
    TensorRef t = slot.model_field ? m.*slot.model_field : m.layers[size_t(slot.layer)].*slot.layer_field;
    ASSERT_NE(t, nullptr) << p.name << " " << slot.name;
    EXPECT_EQ(t->name, slot.name);
  }
  EXPECT_EQ(m.tied_output(), p.tied_output) << p.name;
  EXPECT_EQ(m.rope_freqs != nullptr, p.llama3.has_value()) << p.name;
  EXPECT_EQ(int(m.layers.size()), synthetic_hparams(p, o).n_layers);
}

TEST(Load, EveryPresetAtFullSizeFromItsHeader) {
  for (const Preset& p : presets()) {
    HeaderImage image(synthetic_metadata(p, {}), test::tensor_infos(synthetic_tensors(p, {})));
    EXPECT_EQ(image.size(), synthetic_file_bytes(p, {})) << p.name;
    const gguf::File file = image.parse(p.name + ".gguf");
    const Model m = load_model(file);
    EXPECT_EQ(m.arch.name, p.arch);
    EXPECT_TRUE(m.hp == p.hp) << p.name;
    expect_bound(m, p, {});
  }
}

// Writes every preset and loads it back: tiny ones whole, big ones with one layer and a
// 256-token vocabulary. One layer of some big presets is still large (experts or wide FFNs:
// 223 MiB for llama-8b to 1.6 GiB for gpt-oss-120b); those are written only with
// KILN_SLOW_TESTS=1, and CI covers their exact full-size headers in the test above.
struct WriteTestLimits {
  static constexpr uint64_t max_bytes = uint64_t(128) << 20;
};

bool slow_tests_enabled() {
  const char* v = std::getenv("KILN_SLOW_TESTS");
  return v && *v && std::string(v) != "0";
}

TEST(Load, EveryPresetWritesAndLoadsBack) {
  TempDir dir;
  std::string not_written;
  int written = 0;
  for (const Preset& p : presets()) {
    SynthOptions o;
    if (!p.tiny) {
      o.layers = 1;
      o.vocab = 256;
    }
    const uint64_t bytes = synthetic_file_bytes(p, o);
    if (bytes > WriteTestLimits::max_bytes && !slow_tests_enabled()) {
      not_written += " " + p.name + " (" + std::to_string(bytes >> 20) + " MiB)";
      continue;
    }
    const std::string path = dir.file(p.name + ".gguf");
    write_synthetic(p, o, path);
    {
      const gguf::File file = gguf::File::open(path);
      EXPECT_EQ(file.file_size(), bytes) << p.name;
      const Model m = load_model(file);
      EXPECT_TRUE(m.hp == synthetic_hparams(p, o)) << p.name;
      expect_bound(m, p, o);
    }
    std::filesystem::remove(path);
    ++written;
  }
  EXPECT_GE(written, 10);  // the six tiny ones and at least four seed presets
  if (!not_written.empty())
    std::printf("note: not written (over 128 MiB at one layer; KILN_SLOW_TESTS=1 writes them):%s\n",
                not_written.c_str());
}

// A full-size preset loaded from its header image (the data section is untouched zero pages).
struct HeaderModel {
  explicit HeaderModel(const std::string& preset)
      : image(synthetic_metadata(find_preset(preset), {}),
              test::tensor_infos(synthetic_tensors(find_preset(preset), {}))),
        file(image.parse(preset + ".gguf")),
        model(load_model(file)) {}
  HeaderModel(const HeaderModel&) = delete;
  HeaderImage image;
  gguf::File file;
  Model model;
};

TEST(Load, Gemma3LayerPattern) {
  const HeaderModel loaded("gemma3-tiny");
  const Model& m = loaded.model;
  ASSERT_EQ(m.layers.size(), 7u);
  for (int il = 0; il < 7; ++il) {
    const Layer& l = m.layers[size_t(il)];
    const bool global = il == 5;
    EXPECT_EQ(l.is_local, !global) << il;
    EXPECT_EQ(l.window, global ? 0 : 16) << il;
    EXPECT_EQ(l.rope_base, global ? 1e6f : 10000.f) << il;
    EXPECT_EQ(l.rope_freq_scale, global ? 1.f / 8.f : 1.f) << il;
    EXPECT_NE(l.post_attn_norm, nullptr);
    EXPECT_NE(l.post_ffn_norm, nullptr);
    EXPECT_NE(l.q_norm, nullptr);
  }
  const HeaderModel loaded_big("gemma3-12b-q8_0");
  const Model& big = loaded_big.model;
  for (int il = 0; il < 48; ++il) EXPECT_EQ(big.layers[size_t(il)].is_local, (il + 1) % 6 != 0) << il;
  EXPECT_NE(big.describe().find("layers      0-4 local(1024), 5 global, 6-10 local(1024), 11 global, "
                                "12-16 local(1024), 17 global, ..., 42-46 local(1024), 47 global "
                                "(40 local, 8 global)"),
            std::string::npos)
      << big.describe();
}

TEST(Load, GptOssLayerPatternAndNorms) {
  const HeaderModel loaded("gpt-oss-tiny");
  const Model& m = loaded.model;
  ASSERT_EQ(m.layers.size(), 4u);
  for (int il = 0; il < 4; ++il) {
    const Layer& l = m.layers[size_t(il)];
    EXPECT_EQ(l.is_local, il % 2 == 0) << il;
    EXPECT_EQ(l.window, il % 2 == 0 ? 8 : 0) << il;
    EXPECT_EQ(l.rope_base, 150000.f) << il;  // no swa base: one base everywhere
    EXPECT_EQ(l.rope_freq_scale, 1.f / 32.f) << il;
    // Its pre-FFN norm is the file's post_attention_norm; there is no post-attention norm.
    ASSERT_NE(l.ffn_norm, nullptr);
    EXPECT_EQ(l.ffn_norm->name, "blk." + std::to_string(il) + ".post_attention_norm.weight");
    EXPECT_EQ(l.post_attn_norm, nullptr);
    EXPECT_TRUE(l.is_moe());
    EXPECT_NE(l.sinks, nullptr);
    EXPECT_NE(l.router_bias, nullptr);
    EXPECT_NE(l.down_exps_bias, nullptr);
    EXPECT_NE(l.bo, nullptr);
  }
  EXPECT_EQ(m.hp.rope_scaling, RopeScaling::yarn);
  EXPECT_EQ(m.hp.yarn_beta_fast, 32.f);
  EXPECT_EQ(m.hp.yarn_beta_slow, 1.f);
  EXPECT_EQ(m.hp.rope_orig_ctx, 4096);
  EXPECT_FLOAT_EQ(m.hp.attn_scale, 0.125f);
}

TEST(Load, LlamaAndQwenBindings) {
  const HeaderModel loaded_llama("llama-8b-q8_0");
  const Model& llama = loaded_llama.model;
  EXPECT_EQ(llama.hp.rope_scaling, RopeScaling::llama3);
  ASSERT_NE(llama.rope_freqs, nullptr);
  EXPECT_EQ(llama.rope_freqs->shape, (std::vector<int64_t>{64}));
  EXPECT_FALSE(llama.tied_output());
  for (const Layer& l : llama.layers) {
    EXPECT_FALSE(l.is_local);
    EXPECT_EQ(l.rope_base, 500000.f);
    EXPECT_EQ(l.rope_freq_scale, 1.f);
    EXPECT_FALSE(l.is_moe());
    EXPECT_EQ(l.bq, nullptr);
  }
  const HeaderModel loaded_qwen2("qwen2-1.5b-q8_0");
  const Model& qwen2 = loaded_qwen2.model;
  EXPECT_TRUE(qwen2.tied_output());
  EXPECT_EQ(qwen2.output, qwen2.token_embd);
  EXPECT_NE(qwen2.layers[3].bk, nullptr);
  EXPECT_EQ(qwen2.hp.head_dim, 128);  // n_embd / n_heads: qwen2 files carry no key_length
  const HeaderModel loaded_moe("qwen3moe-30b-a3b-q8_0");
  const Model& moe = loaded_moe.model;
  EXPECT_TRUE(moe.layers[47].is_moe());
  EXPECT_EQ(moe.layers[47].router_bias, nullptr);
  EXPECT_EQ(moe.layers[47].ffn_gate, nullptr);
  EXPECT_EQ(moe.layers[47].down_exps->shape, (std::vector<int64_t>{768, 2048, 128}));
}

TEST(Load, DescribeNamesWhatKilnDerived) {
  const std::string text = HeaderModel("qwen3moe-tiny").model.describe();
  EXPECT_NE(text.find("arch        qwen3moe: qk_norm"), std::string::npos) << text;
  EXPECT_NE(text.find("attention   8 heads / 2 kv heads (gqa 4), head_dim 128"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ffn         moe silu_gated: 8 experts, 2 used, ff 256, routing softmax_topk"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("layers      0-1 global"), std::string::npos) << text;
  EXPECT_NE(text.find("output      output.weight"), std::string::npos) << text;
  EXPECT_NE(text.find("tensors     "), std::string::npos) << text;
  const std::string llama = HeaderModel("llama-8b-q8_0").model.describe();
  EXPECT_NE(llama.find("rope        normal, dim 128, base 500000, llama3"), std::string::npos) << llama;
  EXPECT_NE(llama.find("size        7.95 GiB of tensors, 8.03B parameters"), std::string::npos)
      << llama;
  const std::string oss = HeaderModel("gpt-oss-20b-mxfp4").model.describe();
  EXPECT_NE(oss.find("yarn x32 (original context 4096, beta_fast 32, beta_slow 1)"),
            std::string::npos)
      << oss;
  EXPECT_NE(oss.find("MXFP4 72 "), std::string::npos) << oss;
}

}  // namespace
}  // namespace kiln::model
