// The presets of `kiln synth`: the seed table's models (shapes from their published configs,
// keys and types as llama.cpp's converter and quantizer write them; shared/presets.md) and
// tiny models of each arch for tests (real head_dim, GQA > 1, windows short enough to cross).
#include <cmath>

#include "model/arch.h"
#include "model/synth.h"
#include "util/error.h"

namespace kiln::model {
namespace {

// The numbers a preset states; the rest of HParams is derived as the loader derives it.
struct PresetShape {
  int layers, embd, ff, heads, kv_heads, head_dim, vocab, ctx;
  float rms_eps, rope_base;
  int experts = 0, experts_used = 0, ff_expert = 0;
  int window = 0;
  RopeScaling scaling = RopeScaling::none;
  float factor = 1.f;
  int orig_ctx = 0;
};

HParams derive(const std::string& arch, const PresetShape& s) {
  const ArchSpec& spec = arch_spec(arch);
  HParams hp;
  hp.n_layers = s.layers;
  hp.n_embd = s.embd;
  hp.n_ff = s.ff;
  hp.n_heads = s.heads;
  hp.n_kv_heads = s.kv_heads;
  hp.head_dim = hp.head_dim_v = hp.rope_dim = s.head_dim;
  hp.n_vocab = s.vocab;
  hp.n_ctx_train = s.ctx;
  hp.rms_eps = s.rms_eps;
  hp.attn_scale = 1.f / std::sqrt(float(s.head_dim));
  hp.rope_base = s.rope_base;
  hp.rope_base_swa = spec.defaults.rope_base_swa > 0 ? spec.defaults.rope_base_swa : s.rope_base;
  hp.rope_scaling = s.scaling;
  hp.rope_factor = s.factor;
  hp.rope_orig_ctx = s.orig_ctx;
  hp.yarn_beta_fast = spec.defaults.yarn_beta_fast;
  hp.yarn_beta_slow = spec.defaults.yarn_beta_slow;
  hp.sliding_window = s.window;
  hp.n_experts = s.experts;
  hp.n_experts_used = s.experts_used;
  hp.n_ff_expert = s.ff_expert;
  return hp;
}

Preset make(std::string name, std::string arch, std::string description, const PresetShape& s,
            bool tied) {
  Preset p;
  p.hp = derive(arch, s);
  p.name = std::move(name);
  p.arch = std::move(arch);
  p.description = std::move(description);
  p.tied_output = tied;
  return p;
}

Preset llama3(Preset p) {
  p.llama3 = Llama3RopeScaling{};
  p.hp.rope_scaling = RopeScaling::llama3;
  return p;
}

Preset mxfp4_experts(Preset p) {
  p.ffn_type = gguf::Type::MXFP4;
  p.file_type = 38;  // LLAMA_FTYPE_MOSTLY_MXFP4_MOE
  return p;
}

Preset tiny(Preset p) {
  p.tiny = true;
  return p;
}

constexpr auto yarn = RopeScaling::yarn;
constexpr auto linear = RopeScaling::linear;

std::vector<Preset> build_presets() {
  // layers embd ff heads kv head_dim vocab ctx eps base | experts used ff_exp | window | scaling
  return {
      llama3(make("llama-8b-q8_0", "llama", "Llama 3.1 8B",
                  {32, 4096, 14336, 32, 8, 128, 128256, 131072, 1e-5f, 500000.f}, false)),
      make("qwen2-1.5b-q8_0", "qwen2", "Qwen2.5 1.5B",
           {28, 1536, 8960, 12, 2, 128, 151936, 32768, 1e-6f, 1e6f}, true),
      make("qwen2-3b-q8_0", "qwen2", "Qwen2.5 3B",
           {36, 2048, 11008, 16, 2, 128, 151936, 32768, 1e-6f, 1e6f}, true),
      make("qwen2-7b-q8_0", "qwen2", "Qwen2.5 7B",
           {28, 3584, 18944, 28, 4, 128, 152064, 32768, 1e-6f, 1e6f}, false),
      make("qwen3-4b-q8_0", "qwen3", "Qwen3 4B",
           {36, 2560, 9728, 32, 8, 128, 151936, 40960, 1e-6f, 1e6f}, true),
      make("qwen3moe-30b-a3b-q8_0", "qwen3moe", "Qwen3 30B-A3B (128 experts, 8 active)",
           {48, 2048, 6144, 32, 4, 128, 151936, 40960, 1e-6f, 1e6f, 128, 8, 768}, false),
      make("gemma3-4b-q8_0", "gemma3", "Gemma 3 4B (text)",
           {34, 2560, 10240, 8, 4, 256, 262144, 131072, 1e-6f, 1e6f, 0, 0, 0, 1024, linear, 8.f},
           true),
      make("gemma3-12b-q8_0", "gemma3", "Gemma 3 12B (text)",
           {48, 3840, 15360, 16, 8, 256, 262144, 131072, 1e-6f, 1e6f, 0, 0, 0, 1024, linear, 8.f},
           true),
      mxfp4_experts(make("gpt-oss-20b-mxfp4", "gpt-oss", "gpt-oss 20B (32 experts, 4 active)",
                         {24, 2880, 2880, 64, 8, 64, 201088, 131072, 1e-5f, 150000.f, 32, 4, 2880,
                          128, yarn, 32.f, 4096},
                         false)),
      mxfp4_experts(make("gpt-oss-120b-mxfp4", "gpt-oss", "gpt-oss 120B (128 experts, 4 active)",
                         {36, 2880, 2880, 64, 8, 64, 201088, 131072, 1e-5f, 150000.f, 128, 4, 2880,
                          128, yarn, 32.f, 4096},
                         false)),
      // Tiny models: the arch's real head_dim, GQA 2..4, widths multiples of 256.
      tiny(llama3(make("llama-tiny", "llama", "tiny llama (llama3 rope scaling)",
                       {3, 512, 1024, 4, 2, 128, 2048, 4096, 1e-5f, 500000.f}, false))),
      tiny(make("qwen2-tiny", "qwen2", "tiny qwen2 (tied output)",
                {3, 512, 1024, 4, 2, 128, 2048, 4096, 1e-6f, 1e6f}, true)),
      tiny(make("qwen3-tiny", "qwen3", "tiny qwen3 (q width 2x n_embd, tied output)",
                {3, 512, 1024, 8, 2, 128, 2048, 4096, 1e-6f, 1e6f}, true)),
      tiny(make("qwen3moe-tiny", "qwen3moe", "tiny qwen3moe (8 experts, 2 active)",
                {2, 512, 1024, 8, 2, 128, 2048, 4096, 1e-6f, 1e6f, 8, 2, 256}, false)),
      tiny(make("gemma3-tiny", "gemma3", "tiny gemma3 (layers 0-4 and 6 local, window 16)",
                {7, 512, 1024, 4, 2, 256, 2048, 4096, 1e-6f, 1e6f, 0, 0, 0, 16, linear, 8.f},
                true)),
      tiny(mxfp4_experts(make("gpt-oss-tiny", "gpt-oss",
                              "tiny gpt-oss (4 experts, 2 active, window 8)",
                              {4, 512, 256, 8, 2, 64, 2048, 4096, 1e-5f, 150000.f, 4, 2, 256, 8,
                               yarn, 32.f, 4096},
                              false))),
  };
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = build_presets();
  return all;
}

const Preset& find_preset(const std::string& name) {
  for (const Preset& p : presets()) {
    if (p.name == name) return p;
  }
  std::string names;
  for (const Preset& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
  fail("unknown preset '", name, "' (presets: ", names, ")");
}

}  // namespace kiln::model
