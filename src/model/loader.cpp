// load_model: general.architecture -> ArchSpec, keys -> HParams, tensors bound by name with
// their shapes checked against the arch's schema, then the per-layer attention pattern.
#include <string_view>
#include <unordered_map>

#include "model/hparams.h"
#include "model/tensor_schema.h"
#include "util/error.h"

namespace kiln::model {
namespace {

bool layer_is_local(const ArchTraits& arch, int il) {
  switch (arch.sliding) {
    case SlidingPattern::none: return false;
    case SlidingPattern::every_nth_global: return (il + 1) % arch.swa_period != 0;
    case SlidingPattern::alternate: return il % 2 == 0;
  }
  return false;
}

// Per-layer window, RoPE base and position scale (llama.cpp: a sliding-window layer uses the
// swa base and, for linear scaling, no scaling; yarn scales every layer).
void set_layer_pattern(const ArchTraits& arch, const HParams& hp, Layer& layer) {
  layer.is_local = layer_is_local(arch, layer.index);
  layer.window = layer.is_local ? hp.sliding_window : 0;
  layer.rope_base = layer.is_local ? hp.rope_base_swa : hp.rope_base;
  switch (hp.rope_scaling) {
    case RopeScaling::linear: layer.rope_freq_scale = layer.is_local ? 1.f : 1.f / hp.rope_factor; break;
    case RopeScaling::yarn: layer.rope_freq_scale = 1.f / hp.rope_factor; break;
    case RopeScaling::none:
    case RopeScaling::llama3: layer.rope_freq_scale = 1.f; break;
  }
}

}  // namespace

Model shape_only_model(const ArchTraits& arch, const HParams& hp) {
  Model model;
  model.arch = arch;
  model.hp = hp;
  for (int il = 0; il < hp.n_layers; ++il) {
    Layer layer;
    layer.index = il;
    set_layer_pattern(arch, hp, layer);
    model.layers.push_back(layer);
  }
  return model;
}

Model load_model(const gguf::File& file) {
  const std::string& path = file.path();
  const std::string arch_name = file.get_str("general.architecture");
  const ArchSpec* spec = nullptr;
  try {
    spec = &arch_spec(arch_name);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }

  Model model;
  model.file = &file;
  model.arch = spec->traits;
  HParams& hp = model.hp;
  hp = read_hparams(file, *spec);

  std::unordered_map<std::string_view, const gguf::Tensor*> by_name;
  for (const gguf::Tensor& t : file.tensors()) by_name.emplace(t.name, &t);
  auto find = [&](std::string_view name) -> const gguf::Tensor* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };

  const std::string vocab_key = arch_name + ".vocab_size";
  if (file.find(vocab_key)) {
    uint64_t vocab = file.get_u64(vocab_key);
    KILN_CHECK(vocab >= 1 && vocab <= uint64_t(HParamLimits::max_vocab), path, ": key ", vocab_key,
               " is ", vocab, " (must be 1 to ", HParamLimits::max_vocab, ")");
    hp.n_vocab = int(vocab);
  } else {
    const gguf::Tensor* embd = find("token_embd.weight");
    KILN_CHECK(embd, path, ": missing tensor token_embd.weight");
    KILN_CHECK(embd->shape.size() == 2 && embd->shape[1] <= HParamLimits::max_vocab, path,
               ": tensor token_embd.weight has shape ", embd->shape_string(), ", expected ",
               hp.n_embd, "xVOCAB with VOCAB at most ", HParamLimits::max_vocab);
    hp.n_vocab = int(embd->shape[1]);
  }

  SchemaOptions options;
  options.output = find("output.weight") != nullptr;
  options.rope_freqs = find("rope_freqs.weight") != nullptr;
  if (options.rope_freqs) {
    // llama3 scaling is carried by this tensor alone; a second scaling on top is not a model.
    KILN_CHECK(hp.rope_scaling == RopeScaling::none, path, ": tensor rope_freqs.weight (llama3 "
               "scaling) and key ", arch_name, ".rope.scaling.type ", rope_scaling_name(hp.rope_scaling),
               " both scale RoPE");
    hp.rope_scaling = RopeScaling::llama3;
  }

  model.layers.resize(size_t(hp.n_layers));
  for (int il = 0; il < hp.n_layers; ++il) {
    model.layers[size_t(il)].index = il;
    set_layer_pattern(model.arch, hp, model.layers[size_t(il)]);
  }

  const std::vector<TensorSlot> slots = tensor_schema(model.arch, hp, options);
  for (const TensorSlot& slot : slots) {
    const gguf::Tensor* t = find(slot.name);
    KILN_CHECK(t, path, ": missing tensor ", slot.name, " (", arch_name, " expects shape ",
               shape_string(slot.shape), ")");
    KILN_CHECK(t->shape == slot.shape, path, ": tensor ", slot.name, " has shape ",
               t->shape_string(), ", expected ", shape_string(slot.shape));
    if (slot.model_field) model.*slot.model_field = t;
    else model.layers[size_t(slot.layer)].*slot.layer_field = t;
  }
  if (!options.output) model.output = model.token_embd;

  if (slots.size() != file.tensors().size()) {
    std::unordered_map<std::string_view, bool> expected;
    for (const TensorSlot& slot : slots) expected.emplace(slot.name, true);
    for (const gguf::Tensor& t : file.tensors()) {
      KILN_CHECK(expected.count(t.name), path, ": unexpected tensor ", t.name, " (", arch_name,
                 " with ", hp.n_layers, " blocks has ", slots.size(), " tensors, the file ",
                 file.tensors().size(), ")");
    }
  }
  return model;
}

}  // namespace kiln::model
