#pragma once
// An architecture as data: its traits (what the block builder does) plus the few facts about
// its GGUF keys that differ per arch - loader defaults for keys a converter may leave out, and
// which optional keys llama.cpp's converter writes (so `kiln synth` writes exactly those).
// One constant of this per arch, in src/model/arch_<name>.cpp.
#include <string>

#include "model/model.h"

namespace kiln::model {

// Defaults the loader uses when a key is absent.
struct ArchKeyDefaults {
  float rope_base_swa = 0.f;  // sliding-window layers' RoPE base; 0: the global rope.freq_base
  float yarn_beta_fast = 32.f;
  float yarn_beta_slow = 1.f;
};

// Optional keys llama.cpp's converter writes for this arch (the required ones are written for
// every arch; sliding window, scaling and expert keys whenever the model has them).
struct ArchWrittenKeys {
  bool rope_dimension_count = false;  // <arch>.rope.dimension_count
  bool head_dims = false;             // <arch>.attention.key_length / value_length
  bool rope_base_swa = false;         // <arch>.rope.freq_base_swa
};

struct ArchSpec {
  ArchTraits traits;
  ArchKeyDefaults defaults;
  ArchWrittenKeys written;
};

// The spec of a known arch; throws kiln::Error listing the known ones otherwise.
const ArchSpec& arch_spec(const std::string& name);

// One per file arch_<name>.cpp; the registry (arch_registry.cpp) lists them.
const ArchSpec& arch_llama();
const ArchSpec& arch_qwen2();
const ArchSpec& arch_qwen3();
const ArchSpec& arch_qwen3moe();
const ArchSpec& arch_gemma3();
const ArchSpec& arch_gpt_oss();

// Short names for `kiln info`: "neox", "softmax_topk", ...
const char* rope_kind_name(RopeKind kind);
const char* rope_scaling_name(RopeScaling scaling);
const char* activation_name(FfnActivation activation);
const char* routing_name(MoeRouting routing);

}  // namespace kiln::model
