#pragma once
// What a GGUF file describes, in the engine's terms: the architecture's traits (declarative,
// one small file per arch in src/model/arch_*.cpp), the hyper-parameters read from the keys,
// and every layer's tensors bound by name with their shapes checked.
// Data flows one way: gguf::File -> model::Model -> (cpu forward | plan -> engine).
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace kiln::model {

enum class RopeKind {
  none,
  normal,  // rotates adjacent pairs (x[2i], x[2i+1]) - llama (its q/k rows are permuted by the converter)
  neox,    // rotates (x[i], x[i + rope_dim/2]) - qwen2/qwen3/qwen3moe/gemma3/gpt-oss
};

enum class RopeScaling {
  none,
  linear,  // positions divided by the factor
  yarn,    // YaRN (gpt-oss): ramp between interpolation and extrapolation + attention factor
  llama3,  // per-frequency factors from the rope_freqs.weight tensor
};

enum class FfnActivation {
  silu_gated,       // down(silu(gate x) * up x)
  gelu_tanh_gated,  // down(gelu_tanh(gate x) * up x) - gemma3
  swiglu_oai,       // gpt-oss: g = min(gate, limit); u = clamp(up, -limit, limit);
                    // down(g * sigmoid(alpha * g) * (u + 1)), alpha 1.702, limit 7
};

enum class MoeRouting {
  none,
  softmax_topk,  // qwen3moe: softmax over all experts, top-k, weights renormalized to sum 1
  topk_softmax,  // gpt-oss: top-k of the router logits (+bias), softmax over those k
};

enum class SlidingPattern {
  none,
  every_nth_global,  // gemma3: layer il is global iff (il + 1) % swa_period == 0, else local
  alternate,         // gpt-oss: even layers local (window), odd layers global
};

// The traits of an architecture: everything the block builder needs that is not a number
// read from the file. One constant of this per arch (src/model/arch_<name>.cpp).
struct ArchTraits {
  std::string name;  // general.architecture value: "llama", "qwen2", ...
  RopeKind rope = RopeKind::neox;
  FfnActivation activation = FfnActivation::silu_gated;
  MoeRouting routing = MoeRouting::none;
  SlidingPattern sliding = SlidingPattern::none;
  int swa_period = 0;                 // every_nth_global only
  bool qkv_bias = false;              // attn_q/k/v.bias
  bool output_bias = false;           // attn_output.bias
  bool qk_norm = false;               // RMSNorm over each head of q and k (attn_q_norm, attn_k_norm)
  bool post_attn_norm = false;        // RMSNorm on the attention output before the residual add
  bool post_ffn_norm = false;         // RMSNorm on the FFN output before the residual add
  bool ffn_norm_is_post_attention = false;  // gpt-oss names its pre-FFN norm post_attention_norm
  bool attn_sinks = false;            // per-head learned logit in the softmax denominator
  bool scale_embeddings = false;      // gemma3: token embeddings * sqrt(n_embd)
  bool expert_bias = false;           // gpt-oss: biases on the router and each expert matrix
};

struct HParams {
  int n_layers = 0;
  int n_embd = 0;
  int n_ff = 0;            // dense FFN width (0 for MoE-only models where not given)
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;        // key length
  int head_dim_v = 0;      // value length
  int n_vocab = 0;
  int n_ctx_train = 0;
  float rms_eps = 1e-6f;
  float attn_scale = 0.f;  // softmax scale applied to q.k; 1/sqrt(head_dim) unless the arch says
  // RoPE
  int rope_dim = 0;                 // rotated dims per head (== head_dim for all six archs)
  float rope_base = 10000.f;        // global layers
  float rope_base_swa = 10000.f;    // sliding-window layers (gemma3: 10000)
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_factor = 1.f;          // linear / yarn factor
  int rope_orig_ctx = 0;            // yarn: original context length
  float yarn_beta_fast = 32.f;
  float yarn_beta_slow = 1.f;
  // Sliding window
  int sliding_window = 0;           // tokens a local layer attends to (0: none)
  // MoE
  int n_experts = 0;
  int n_experts_used = 0;
  int n_ff_expert = 0;

  bool operator==(const HParams&) const = default;
};

// A tensor of the model: points into the mmap'd file (never copied).
using TensorRef = const gguf::Tensor*;

struct Layer {
  int index = 0;
  bool is_local = false;      // sliding-window layer
  int window = 0;             // is_local ? hp.sliding_window : 0
  float rope_base = 0.f;      // base for this layer (global vs swa)
  float rope_freq_scale = 1.f;  // position scale: 1/factor on linear-scaled (gemma3: global only)
                                // and yarn layers, else 1

  TensorRef attn_norm = nullptr;
  TensorRef wq = nullptr, wk = nullptr, wv = nullptr, wo = nullptr;  // [n_embd -> ...] row-major
  TensorRef bq = nullptr, bk = nullptr, bv = nullptr, bo = nullptr;
  TensorRef q_norm = nullptr, k_norm = nullptr;  // [head_dim]
  TensorRef post_attn_norm = nullptr;
  TensorRef sinks = nullptr;                     // [n_heads]
  TensorRef ffn_norm = nullptr;  // the pre-FFN norm (gpt-oss: the file's blk.N.post_attention_norm)
  TensorRef post_ffn_norm = nullptr;
  // Dense FFN
  TensorRef ffn_gate = nullptr, ffn_up = nullptr, ffn_down = nullptr;
  // MoE
  TensorRef router = nullptr, router_bias = nullptr;             // ffn_gate_inp
  TensorRef gate_exps = nullptr, up_exps = nullptr, down_exps = nullptr;  // [.., .., n_experts]
  TensorRef gate_exps_bias = nullptr, up_exps_bias = nullptr, down_exps_bias = nullptr;

  bool is_moe() const { return router != nullptr; }
};

struct Model {
  const gguf::File* file = nullptr;  // the caller keeps the file alive
  ArchTraits arch;
  HParams hp;
  TensorRef token_embd = nullptr;   // [n_embd, n_vocab]
  TensorRef output_norm = nullptr;
  TensorRef output = nullptr;       // == token_embd when tied
  TensorRef rope_freqs = nullptr;   // llama3 scaling: [rope_dim/2] frequency divisors
  std::vector<Layer> layers;

  bool tied_output() const { return output == token_embd; }
  std::string describe() const;     // multi-line, for `kiln info`
};

// The traits of a known architecture; throws kiln::Error listing the known ones otherwise.
const ArchTraits& arch_traits(const std::string& name);
std::vector<std::string> known_archs();

// A model with no file and no tensors: the arch, the hparams and each layer's pattern (window,
// RoPE base and scale). Enough to plan the kernels a model needs without its weights.
Model shape_only_model(const ArchTraits& arch, const HParams& hp);

// Reads hparams from the file's keys and binds every tensor; throws kiln::Error naming the
// missing or misshapen key/tensor ("FILE: tensor blk.3.attn_k.weight has shape 4096x512,
// expected 4096x1024").
Model load_model(const gguf::File& file);

}  // namespace kiln::model
