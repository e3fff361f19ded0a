// The known architectures, looked up by their general.architecture value.
#include <array>

#include "model/arch.h"
#include "util/error.h"

namespace kiln::model {
namespace {

using SpecFn = const ArchSpec& (*)();
constexpr std::array<SpecFn, 6> kArchs = {arch_llama,    arch_qwen2,   arch_qwen3,
                                          arch_qwen3moe, arch_gemma3, arch_gpt_oss};

}  // namespace

std::vector<std::string> known_archs() {
  std::vector<std::string> names;
  for (SpecFn spec : kArchs) names.push_back(spec().traits.name);
  return names;
}

const ArchSpec& arch_spec(const std::string& name) {
  for (SpecFn spec : kArchs) {
    if (spec().traits.name == name) return spec();
  }
  std::string known;
  for (const std::string& n : known_archs()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown architecture '", name, "' (kiln runs: ", known, ")");
}

const ArchTraits& arch_traits(const std::string& name) { return arch_spec(name).traits; }

const char* rope_kind_name(RopeKind kind) {
  switch (kind) {
    case RopeKind::none: return "none";
    case RopeKind::normal: return "normal";
    case RopeKind::neox: return "neox";
  }
  return "?";
}

const char* rope_scaling_name(RopeScaling scaling) {
  switch (scaling) {
    case RopeScaling::none: return "none";
    case RopeScaling::linear: return "linear";
    case RopeScaling::yarn: return "yarn";
    case RopeScaling::llama3: return "llama3";
  }
  return "?";
}

const char* activation_name(FfnActivation activation) {
  switch (activation) {
    case FfnActivation::silu_gated: return "silu_gated";
    case FfnActivation::gelu_tanh_gated: return "gelu_tanh_gated";
    case FfnActivation::swiglu_oai: return "swiglu_oai";
  }
  return "?";
}

const char* routing_name(MoeRouting routing) {
  switch (routing) {
    case MoeRouting::none: return "none";
    case MoeRouting::softmax_topk: return "softmax_topk";
    case MoeRouting::topk_softmax: return "topk_softmax";
  }
  return "?";
}

}  // namespace kiln::model
