// Presets against shared/presets.md: the exact tensors (name, shape, type) of the global
// tensors and of one block for llama / qwen3moe / gemma3 / gpt-oss, the exact key list of each
// arch, the file sizes of the table, and the rules for the tiny presets.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "model_test_util.h"

namespace kiln::model {
namespace {

using gguf::Type;
using test::error_of;

struct Row {
  std::string name;
  std::vector<int64_t> shape;
  Type type;
};

// The preset's non-block tensors and its blk.0 tensors, in file order, with N -> 0.
std::vector<Row> first_block_rows(const std::string& preset) {
  std::vector<Row> rows;
  for (const SynthTensor& t : synthetic_tensors(find_preset(preset), {})) {
    if (t.slot.layer > 0) continue;
    rows.push_back({t.slot.name, t.slot.shape, t.type});
  }
  return rows;
}

void expect_rows(const std::string& preset, const std::vector<Row>& expected) {
  const std::vector<Row> actual = first_block_rows(preset);
  ASSERT_EQ(actual.size(), expected.size()) << preset;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].name, expected[i].name) << preset << " row " << i;
    EXPECT_EQ(actual[i].shape, expected[i].shape) << preset << " " << expected[i].name;
    EXPECT_EQ(actual[i].type, expected[i].type) << preset << " " << expected[i].name;
  }
}

TEST(Presets, NamesAndOrder) {
  std::vector<std::string> names;
  for (const Preset& p : presets()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "llama-8b-q8_0", "qwen2-1.5b-q8_0", "qwen2-3b-q8_0", "qwen2-7b-q8_0",
                       "qwen3-4b-q8_0", "qwen3moe-30b-a3b-q8_0", "gemma3-4b-q8_0",
                       "gemma3-12b-q8_0", "gpt-oss-20b-mxfp4", "gpt-oss-120b-mxfp4", "llama-tiny",
                       "qwen2-tiny", "qwen3-tiny", "qwen3moe-tiny", "gemma3-tiny", "gpt-oss-tiny"}));
  EXPECT_EQ(find_preset("gemma3-tiny").arch, "gemma3");
  const std::string error = error_of([] { find_preset("llama-70b"); });
  EXPECT_EQ(error.rfind("unknown preset 'llama-70b' (presets: llama-8b-q8_0, qwen2-1.5b-q8_0,", 0), 0u)
      << error;
  EXPECT_NE(error.find("gpt-oss-tiny)"), std::string::npos) << error;
}

TEST(Presets, Llama8bTensors) {
  expect_rows("llama-8b-q8_0", {
                                   {"token_embd.weight", {4096, 128256}, Type::Q8_0},
                                   {"output_norm.weight", {4096}, Type::F32},
                                   {"output.weight", {4096, 128256}, Type::Q8_0},
                                   {"rope_freqs.weight", {64}, Type::F32},
                                   {"blk.0.attn_norm.weight", {4096}, Type::F32},
                                   {"blk.0.attn_q.weight", {4096, 4096}, Type::Q8_0},
                                   {"blk.0.attn_k.weight", {4096, 1024}, Type::Q8_0},
                                   {"blk.0.attn_v.weight", {4096, 1024}, Type::Q8_0},
                                   {"blk.0.attn_output.weight", {4096, 4096}, Type::Q8_0},
                                   {"blk.0.ffn_norm.weight", {4096}, Type::F32},
                                   {"blk.0.ffn_gate.weight", {4096, 14336}, Type::Q8_0},
                                   {"blk.0.ffn_up.weight", {4096, 14336}, Type::Q8_0},
                                   {"blk.0.ffn_down.weight", {14336, 4096}, Type::Q8_0},
                               });
}

TEST(Presets, Qwen3MoeTensors) {
  expect_rows("qwen3moe-30b-a3b-q8_0",
              {
                  {"token_embd.weight", {2048, 151936}, Type::Q8_0},
                  {"output_norm.weight", {2048}, Type::F32},
                  {"output.weight", {2048, 151936}, Type::Q8_0},
                  {"blk.0.attn_norm.weight", {2048}, Type::F32},
                  {"blk.0.attn_q.weight", {2048, 4096}, Type::Q8_0},
                  {"blk.0.attn_k.weight", {2048, 512}, Type::Q8_0},
                  {"blk.0.attn_v.weight", {2048, 512}, Type::Q8_0},
                  {"blk.0.attn_output.weight", {4096, 2048}, Type::Q8_0},
                  {"blk.0.attn_q_norm.weight", {128}, Type::F32},
                  {"blk.0.attn_k_norm.weight", {128}, Type::F32},
                  {"blk.0.ffn_norm.weight", {2048}, Type::F32},
                  {"blk.0.ffn_gate_inp.weight", {2048, 128}, Type::F32},
                  {"blk.0.ffn_gate_exps.weight", {2048, 768, 128}, Type::Q8_0},
                  {"blk.0.ffn_up_exps.weight", {2048, 768, 128}, Type::Q8_0},
                  {"blk.0.ffn_down_exps.weight", {768, 2048, 128}, Type::Q8_0},
              });
}

TEST(Presets, Gemma3Tensors) {
  expect_rows("gemma3-4b-q8_0", {
                                    {"token_embd.weight", {2560, 262144}, Type::Q8_0},
                                    {"output_norm.weight", {2560}, Type::F32},
                                    {"blk.0.attn_norm.weight", {2560}, Type::F32},
                                    {"blk.0.attn_q.weight", {2560, 2048}, Type::Q8_0},
                                    {"blk.0.attn_k.weight", {2560, 1024}, Type::Q8_0},
                                    {"blk.0.attn_v.weight", {2560, 1024}, Type::Q8_0},
                                    {"blk.0.attn_output.weight", {2048, 2560}, Type::Q8_0},
                                    {"blk.0.attn_q_norm.weight", {256}, Type::F32},
                                    {"blk.0.attn_k_norm.weight", {256}, Type::F32},
                                    {"blk.0.post_attention_norm.weight", {2560}, Type::F32},
                                    {"blk.0.ffn_norm.weight", {2560}, Type::F32},
                                    {"blk.0.ffn_gate.weight", {2560, 10240}, Type::Q8_0},
                                    {"blk.0.ffn_up.weight", {2560, 10240}, Type::Q8_0},
                                    {"blk.0.ffn_down.weight", {10240, 2560}, Type::Q8_0},
                                    {"blk.0.post_ffw_norm.weight", {2560}, Type::F32},
                                });
}

TEST(Presets, GptOssTensors) {
  expect_rows("gpt-oss-20b-mxfp4",
              {
                  {"token_embd.weight", {2880, 201088}, Type::Q8_0},
                  {"output_norm.weight", {2880}, Type::F32},
                  {"output.weight", {2880, 201088}, Type::Q8_0},
                  {"blk.0.attn_norm.weight", {2880}, Type::F32},
                  {"blk.0.post_attention_norm.weight", {2880}, Type::F32},
                  {"blk.0.attn_q.weight", {2880, 4096}, Type::Q8_0},
                  {"blk.0.attn_k.weight", {2880, 512}, Type::Q8_0},
                  {"blk.0.attn_v.weight", {2880, 512}, Type::Q8_0},
                  {"blk.0.attn_q.bias", {4096}, Type::F32},
                  {"blk.0.attn_k.bias", {512}, Type::F32},
                  {"blk.0.attn_v.bias", {512}, Type::F32},
                  {"blk.0.attn_output.weight", {4096, 2880}, Type::Q8_0},
                  {"blk.0.attn_output.bias", {2880}, Type::F32},
                  {"blk.0.attn_sinks.weight", {64}, Type::F32},
                  {"blk.0.ffn_gate_inp.weight", {2880, 32}, Type::F32},
                  {"blk.0.ffn_gate_inp.bias", {32}, Type::F32},
                  {"blk.0.ffn_gate_exps.weight", {2880, 2880, 32}, Type::MXFP4},
                  {"blk.0.ffn_gate_exps.bias", {2880, 32}, Type::F32},
                  {"blk.0.ffn_up_exps.weight", {2880, 2880, 32}, Type::MXFP4},
                  {"blk.0.ffn_up_exps.bias", {2880, 32}, Type::F32},
                  {"blk.0.ffn_down_exps.weight", {2880, 2880, 32}, Type::MXFP4},
                  {"blk.0.ffn_down_exps.bias", {2880, 32}, Type::F32},
              });
}

TEST(Presets, Qwen2TensorsHaveBiasesAndTiedOutput) {
  const std::vector<Row> rows = first_block_rows("qwen2-1.5b-q8_0");
  std::map<std::string, Row> by_name;
  for (const Row& r : rows) by_name.emplace(r.name, r);
  EXPECT_EQ(by_name.count("output.weight"), 0u);
  EXPECT_EQ(by_name.at("blk.0.attn_k.weight").shape, (std::vector<int64_t>{1536, 256}));
  EXPECT_EQ(by_name.at("blk.0.attn_q.bias").shape, (std::vector<int64_t>{1536}));
  EXPECT_EQ(by_name.at("blk.0.attn_v.bias").type, Type::F32);
  EXPECT_EQ(rows.size(), 2u + 12u);
}

TEST(Presets, EveryBlockIsWritten) {
  for (const Preset& p : presets()) {
    const std::vector<SynthTensor> tensors = synthetic_tensors(p, {});
    size_t per_block = 0, global = 0;
    for (const SynthTensor& t : tensors) {
      if (t.slot.layer < 0) ++global;
      if (t.slot.layer == 0) ++per_block;
    }
    EXPECT_EQ(tensors.size(), global + per_block * size_t(p.hp.n_layers)) << p.name;
    EXPECT_EQ(tensors.back().slot.layer, p.hp.n_layers - 1) << p.name;
  }
}

std::vector<std::string> keys_of(const std::string& preset) {
  std::vector<std::string> keys;
  for (const gguf::KeyValue& kv : synthetic_metadata(find_preset(preset), {})) keys.push_back(kv.key);
  return keys;
}

std::vector<std::string> with_arch(const std::string& arch, std::vector<std::string> suffixes) {
  std::vector<std::string> keys = {"general.architecture", "general.type", "general.file_type",
                                   "general.quantization_version", "general.alignment"};
  for (const std::string& s : suffixes) keys.push_back(arch + "." + s);
  keys.push_back("tokenizer.ggml.model");
  return keys;
}

TEST(Presets, ExactKeysPerArch) {
  const std::vector<std::string> common = {
      "vocab_size",        "context_length",          "embedding_length",
      "block_count",       "feed_forward_length",     "attention.head_count",
      "attention.head_count_kv", "attention.layer_norm_rms_epsilon", "rope.freq_base"};
  auto plus = [&](std::vector<std::string> extra) {
    std::vector<std::string> all = common;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  EXPECT_EQ(keys_of("llama-8b-q8_0"), with_arch("llama", plus({"rope.dimension_count"})));
  for (const char* p : {"qwen2-1.5b-q8_0", "qwen2-3b-q8_0", "qwen2-7b-q8_0"})
    EXPECT_EQ(keys_of(p), with_arch("qwen2", common)) << p;
  EXPECT_EQ(keys_of("qwen3-4b-q8_0"),
            with_arch("qwen3", plus({"attention.key_length", "attention.value_length"})));
  EXPECT_EQ(keys_of("qwen3moe-30b-a3b-q8_0"),
            with_arch("qwen3moe", plus({"attention.key_length", "attention.value_length",
                                        "expert_count", "expert_used_count",
                                        "expert_feed_forward_length"})));
  for (const char* p : {"gemma3-4b-q8_0", "gemma3-12b-q8_0"})
    EXPECT_EQ(keys_of(p), with_arch("gemma3", plus({"attention.key_length", "attention.value_length",
                                                    "attention.sliding_window", "rope.freq_base_swa",
                                                    "rope.scaling.type", "rope.scaling.factor"})))
        << p;
  for (const char* p : {"gpt-oss-20b-mxfp4", "gpt-oss-120b-mxfp4"})
    EXPECT_EQ(keys_of(p),
              with_arch("gpt-oss", plus({"attention.key_length", "attention.value_length",
                                         "expert_count", "expert_used_count",
                                         "expert_feed_forward_length", "attention.sliding_window",
                                         "rope.scaling.type", "rope.scaling.factor",
                                         "rope.scaling.original_context_length"})))
        << p;
}

TEST(Presets, KeyValuesAndTypes) {
  const auto kvs = synthetic_metadata(find_preset("gpt-oss-20b-mxfp4"), {});
  std::map<std::string, gguf::Value> v;
  for (const auto& kv : kvs) v.emplace(kv.key, kv.value);
  EXPECT_EQ(v.at("general.file_type"), gguf::Value::u32(38));
  EXPECT_EQ(v.at("general.quantization_version"), gguf::Value::u32(2));
  EXPECT_EQ(v.at("general.alignment"), gguf::Value::u32(32));
  EXPECT_EQ(v.at("general.type"), gguf::Value::str("model"));
  EXPECT_EQ(v.at("tokenizer.ggml.model"), gguf::Value::str("none"));
  EXPECT_EQ(v.at("gpt-oss.rope.scaling.type"), gguf::Value::str("yarn"));
  EXPECT_EQ(v.at("gpt-oss.rope.scaling.factor"), gguf::Value::f32(32.f));
  EXPECT_EQ(v.at("gpt-oss.rope.scaling.original_context_length"), gguf::Value::u32(4096));
  EXPECT_EQ(v.at("gpt-oss.attention.sliding_window"), gguf::Value::u32(128));
  EXPECT_EQ(v.at("gpt-oss.rope.freq_base"), gguf::Value::f32(150000.f));
  EXPECT_EQ(v.at("gpt-oss.expert_count"), gguf::Value::u32(32));
  EXPECT_EQ(v.at("gpt-oss.expert_used_count"), gguf::Value::u32(4));
  EXPECT_EQ(v.at("gpt-oss.attention.layer_norm_rms_epsilon"), gguf::Value::f32(1e-5f));

  std::map<std::string, gguf::Value> g;
  for (const auto& kv : synthetic_metadata(find_preset("gemma3-12b-q8_0"), {})) g.emplace(kv.key, kv.value);
  EXPECT_EQ(g.at("general.file_type"), gguf::Value::u32(7));
  EXPECT_EQ(g.at("gemma3.rope.freq_base_swa"), gguf::Value::f32(10000.f));
  EXPECT_EQ(g.at("gemma3.rope.scaling.type"), gguf::Value::str("linear"));
  EXPECT_EQ(g.at("gemma3.rope.scaling.factor"), gguf::Value::f32(8.f));
  EXPECT_EQ(g.at("gemma3.block_count"), gguf::Value::u32(48));
  EXPECT_EQ(g.at("gemma3.vocab_size"), gguf::Value::u32(262144));
}

// The file-size column of presets.md, in GiB to two decimals.
TEST(Presets, FileSizesMatchTheTable) {
  const std::map<std::string, double> gib = {
      {"llama-8b-q8_0", 7.95},      {"qwen2-1.5b-q8_0", 1.53},    {"qwen2-3b-q8_0", 3.05},
      {"qwen2-7b-q8_0", 7.54},      {"qwen3-4b-q8_0", 3.98},      {"qwen3moe-30b-a3b-q8_0", 30.25},
      {"gemma3-4b-q8_0", 3.84},     {"gemma3-12b-q8_0", 11.64},   {"gpt-oss-20b-mxfp4", 11.27},
      {"gpt-oss-120b-mxfp4", 59.02}};
  for (const auto& [name, expected] : gib) {
    const double actual = double(synthetic_file_bytes(find_preset(name), {})) / double(1ull << 30);
    EXPECT_NEAR(actual, expected, 0.005) << name;
  }
}

TEST(Presets, SeedTableHParams) {
  const HParams& llama = find_preset("llama-8b-q8_0").hp;
  EXPECT_EQ(llama.rope_scaling, RopeScaling::llama3);
  EXPECT_EQ(llama.rope_base, 500000.f);
  EXPECT_EQ(llama.n_kv_heads, 8);
  const Preset& oss = find_preset("gpt-oss-120b-mxfp4");
  EXPECT_EQ(oss.hp.n_experts, 128);
  EXPECT_EQ(oss.hp.n_experts_used, 4);
  EXPECT_EQ(oss.hp.rope_scaling, RopeScaling::yarn);
  EXPECT_EQ(oss.hp.rope_factor, 32.f);
  EXPECT_EQ(oss.hp.rope_orig_ctx, 4096);
  EXPECT_EQ(oss.hp.rope_base_swa, 150000.f);
  EXPECT_EQ(oss.ffn_type, Type::MXFP4);
  EXPECT_EQ(oss.file_type, 38u);
  const HParams& gemma = find_preset("gemma3-4b-q8_0").hp;
  EXPECT_EQ(gemma.sliding_window, 1024);
  EXPECT_EQ(gemma.rope_base_swa, 10000.f);
  EXPECT_EQ(gemma.rope_scaling, RopeScaling::linear);
  EXPECT_FLOAT_EQ(gemma.attn_scale, 1.f / 16.f);
  EXPECT_TRUE(find_preset("qwen2-3b-q8_0").tied_output);
  EXPECT_FALSE(find_preset("qwen2-7b-q8_0").tied_output);
}

TEST(Presets, TinyPresetsKeepTheArchShapes) {
  const std::map<std::string, int> head_dim = {{"llama", 128}, {"qwen2", 128},  {"qwen3", 128},
                                               {"qwen3moe", 128}, {"gemma3", 256}, {"gpt-oss", 64}};
  int tiny = 0;
  for (const Preset& p : presets()) {
    if (!p.tiny) continue;
    ++tiny;
    const HParams& hp = p.hp;
    EXPECT_EQ(hp.head_dim, head_dim.at(p.arch)) << p.name;
    EXPECT_GT(hp.n_heads / hp.n_kv_heads, 1) << p.name;
    EXPECT_EQ(hp.n_embd % 256, 0) << p.name;
    EXPECT_LE(hp.n_vocab, 4096) << p.name;
    EXPECT_LE(synthetic_file_bytes(p, {}), uint64_t(64) << 20) << p.name;
  }
  EXPECT_EQ(tiny, 6);
  EXPECT_GE(find_preset("gemma3-tiny").hp.n_layers, 7);
  EXPECT_LE(find_preset("gemma3-tiny").hp.sliding_window, 32);
  EXPECT_GE(find_preset("gpt-oss-tiny").hp.n_layers, 2);
  EXPECT_LE(find_preset("gpt-oss-tiny").hp.sliding_window, 16);
  EXPECT_EQ(find_preset("qwen3moe-tiny").hp.n_experts, 8);
  EXPECT_EQ(find_preset("qwen3moe-tiny").hp.n_experts_used, 2);
  EXPECT_EQ(find_preset("gpt-oss-tiny").hp.n_experts, 4);
  EXPECT_EQ(find_preset("gpt-oss-tiny").hp.n_experts_used, 2);
  EXPECT_TRUE(find_preset("llama-tiny").llama3.has_value());
}

TEST(Presets, OptionsShrinkAndCheck) {
  const Preset& p = find_preset("qwen3-4b-q8_0");
  SynthOptions o;
  o.layers = 2;
  o.vocab = 300;
  const HParams hp = synthetic_hparams(p, o);
  EXPECT_EQ(hp.n_layers, 2);
  EXPECT_EQ(hp.n_vocab, 300);
  EXPECT_EQ(hp.n_embd, 2560);
  o.layers = -3;
  EXPECT_EQ(error_of([&] { synthetic_hparams(p, o); }),
            "synth qwen3-4b-q8_0: --layers -3 must be 1 to 4096");
}

}  // namespace
}  // namespace kiln::model
