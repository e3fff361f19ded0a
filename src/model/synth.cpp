// write_synthetic: a preset's keys (in the order and with the value types llama.cpp's
// converter writes), its tensors from the arch's schema, values from fill_synthetic, streamed
// to disk by gguf::Writer on several threads.
#include <memory>

#include "model/arch.h"
#include "model/hparams.h"
#include "model/synth.h"
#include "util/error.h"

namespace kiln::model {
namespace {

constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kTokenTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
// llama.cpp's converter pads a short token list with unused tokens of this type and score.
constexpr int32_t kUnusedTokenType = 5;
constexpr float kPadScore = -1000.f;
constexpr uint32_t kQuantizationVersion = 2;
constexpr uint64_t kAlignment = 32;

const gguf::KeyValue* find_key(const std::vector<gguf::KeyValue>& kvs, const std::string& key) {
  for (const gguf::KeyValue& kv : kvs) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

size_t tokenizer_tokens(const std::vector<gguf::KeyValue>& extra) {
  const gguf::KeyValue* tokens = find_key(extra, kTokensKey);
  return tokens ? tokens->value.as_array(kTokensKey).size() : 0;
}

// Pads the per-token arrays of a tokenizer's metadata up to n_vocab entries.
void pad_tokenizer(gguf::KeyValue& kv, size_t n_tokens, size_t n_vocab) {
  if (kv.value.type != gguf::ValueType::ARRAY) return;
  auto& items = std::get<std::vector<gguf::Value>>(kv.value.data);
  if (items.size() != n_tokens) return;
  for (size_t id = n_tokens; id < n_vocab; ++id) {
    if (kv.key == kTokensKey) items.push_back(gguf::Value::str("[PAD" + std::to_string(id) + "]"));
    else if (kv.key == kTokenTypesKey) items.push_back(gguf::Value::i32(kUnusedTokenType));
    else if (kv.key == kScoresKey) items.push_back(gguf::Value::f32(kPadScore));
    else return;
  }
}

gguf::Type tensor_type(const Preset& preset, const TensorSlot& slot) {
  switch (slot.role) {
    case TensorRole::embedding:
    case TensorRole::output: return preset.weight_type;
    case TensorRole::expert_matrix: return preset.ffn_type;
    case TensorRole::matrix: {
      const bool ffn = slot.layer_field == &Layer::ffn_gate || slot.layer_field == &Layer::ffn_up ||
                       slot.layer_field == &Layer::ffn_down;
      return ffn ? preset.ffn_type : preset.weight_type;
    }
    default: return gguf::Type::F32;  // norms, biases, router, sinks, rope_freqs
  }
}

}  // namespace

HParams synthetic_hparams(const Preset& preset, const SynthOptions& options) {
  HParams hp = preset.hp;
  if (options.layers != 0) {
    KILN_CHECK(options.layers > 0 && options.layers <= HParamLimits::max_layers, "synth ",
               preset.name, ": --layers ", options.layers, " must be 1 to ",
               HParamLimits::max_layers);
    hp.n_layers = options.layers;
  }
  const size_t tokens = tokenizer_tokens(options.extra_metadata);
  if (options.vocab != 0) {
    KILN_CHECK(options.vocab > 0 && options.vocab <= HParamLimits::max_vocab, "synth ",
               preset.name, ": vocabulary ", options.vocab, " must be 1 to ",
               HParamLimits::max_vocab);
    KILN_CHECK(tokens <= size_t(options.vocab), "synth ", preset.name, ": the tokenizer has ",
               tokens, " tokens, more than the vocabulary ", options.vocab);
    hp.n_vocab = options.vocab;
  } else if (tokens > size_t(hp.n_vocab)) {
    hp.n_vocab = int(tokens);
  }
  const ArchSpec& spec = arch_spec(preset.arch);
  KILN_CHECK(spec.written.head_dims || hp.n_embd == hp.n_heads * hp.head_dim, "synth ",
             preset.name, ": ", preset.arch, " files carry no head size, so head_dim ",
             hp.head_dim, " must be n_embd ", hp.n_embd, " / heads ", hp.n_heads);
  return hp;
}

std::vector<gguf::KeyValue> synthetic_metadata(const Preset& preset, const SynthOptions& options) {
  using gguf::Value;
  const HParams hp = synthetic_hparams(preset, options);
  const ArchSpec& spec = arch_spec(preset.arch);
  const std::string a = preset.arch + ".";
  std::vector<gguf::KeyValue> kv;
  auto set = [&](std::string key, Value value) {
    for (gguf::KeyValue& existing : kv) {
      if (existing.key == key) {
        existing.value = std::move(value);
        return;
      }
    }
    kv.push_back({std::move(key), std::move(value)});
  };
  auto u32 = [](int v) { return Value::u32(uint32_t(v)); };
  set("general.architecture", Value::str(preset.arch));
  set("general.type", Value::str("model"));
  set("general.file_type", Value::u32(preset.file_type));
  set("general.quantization_version", Value::u32(kQuantizationVersion));
  set("general.alignment", Value::u32(uint32_t(kAlignment)));
  set(a + "vocab_size", u32(hp.n_vocab));
  set(a + "context_length", u32(hp.n_ctx_train));
  set(a + "embedding_length", u32(hp.n_embd));
  set(a + "block_count", u32(hp.n_layers));
  set(a + "feed_forward_length", u32(hp.n_ff));
  set(a + "attention.head_count", u32(hp.n_heads));
  set(a + "attention.head_count_kv", u32(hp.n_kv_heads));
  set(a + "attention.layer_norm_rms_epsilon", Value::f32(hp.rms_eps));
  set(a + "rope.freq_base", Value::f32(hp.rope_base));
  if (spec.written.rope_dimension_count) set(a + "rope.dimension_count", u32(hp.rope_dim));
  if (spec.written.head_dims) {
    set(a + "attention.key_length", u32(hp.head_dim));
    set(a + "attention.value_length", u32(hp.head_dim_v));
  }
  if (hp.n_experts > 0) {
    set(a + "expert_count", u32(hp.n_experts));
    set(a + "expert_used_count", u32(hp.n_experts_used));
    set(a + "expert_feed_forward_length", u32(hp.n_ff_expert));
  }
  if (hp.sliding_window > 0) set(a + "attention.sliding_window", u32(hp.sliding_window));
  if (spec.written.rope_base_swa) set(a + "rope.freq_base_swa", Value::f32(hp.rope_base_swa));
  if (hp.rope_scaling == RopeScaling::linear || hp.rope_scaling == RopeScaling::yarn) {
    set(a + "rope.scaling.type", Value::str(rope_scaling_name(hp.rope_scaling)));
    set(a + "rope.scaling.factor", Value::f32(hp.rope_factor));
    if (hp.rope_scaling == RopeScaling::yarn)
      set(a + "rope.scaling.original_context_length", u32(hp.rope_orig_ctx));
  }
  set("tokenizer.ggml.model", Value::str("none"));

  const size_t tokens = tokenizer_tokens(options.extra_metadata);
  for (gguf::KeyValue extra : options.extra_metadata) {
    if (tokens > 0 && tokens < size_t(hp.n_vocab)) pad_tokenizer(extra, tokens, size_t(hp.n_vocab));
    set(std::move(extra.key), std::move(extra.value));
  }
  return kv;
}

std::vector<SynthTensor> synthetic_tensors(const Preset& preset, const SynthOptions& options) {
  const HParams hp = synthetic_hparams(preset, options);
  SchemaOptions schema;
  schema.output = !preset.tied_output;
  schema.rope_freqs = preset.llama3.has_value();
  std::vector<SynthTensor> out;
  for (TensorSlot& slot : tensor_schema(arch_traits(preset.arch), hp, schema)) {
    gguf::Type type = tensor_type(preset, slot);
    out.push_back(SynthTensor{std::move(slot), type});
  }
  return out;
}

gguf::Writer synthetic_writer(const Preset& preset, const SynthOptions& options) {
  gguf::Writer writer;
  for (gguf::KeyValue& kv : synthetic_metadata(preset, options))
    writer.set(std::move(kv.key), std::move(kv.value));
  writer.set_alignment(kAlignment);
  auto shared_preset = std::make_shared<const Preset>(preset);
  auto hp = std::make_shared<const HParams>(synthetic_hparams(preset, options));
  const uint64_t seed = options.seed;
  for (SynthTensor& t : synthetic_tensors(preset, options)) {
    auto tensor = std::make_shared<const SynthTensor>(std::move(t));
    writer.add_tensor_chunked(tensor->slot.name, tensor->type, tensor->slot.shape,
                              [tensor, shared_preset, hp, seed](uint8_t* dst, uint64_t offset,
                                                                uint64_t bytes) {
                                fill_synthetic(*tensor, *shared_preset, *hp, seed, dst, offset,
                                               bytes);
                              });
  }
  return writer;
}

void write_synthetic(const Preset& preset, const SynthOptions& options, const std::string& path) {
  synthetic_writer(preset, options).write(path, options.threads, options.progress);
}

uint64_t synthetic_file_bytes(const Preset& preset, const SynthOptions& options) {
  return synthetic_writer(preset, options).total_bytes();
}

uint64_t synthetic_params(const Preset& preset, const SynthOptions& options) {
  uint64_t params = 0;
  for (const SynthTensor& t : synthetic_tensors(preset, options)) {
    uint64_t n = 1;
    for (int64_t d : t.slot.shape) n *= uint64_t(d);
    params += n;
  }
  return params;
}

}  // namespace kiln::model
