#pragma once
// The ops of the reference forward pass, in plain float32 (dot products accumulate in double):
// slow and obvious on purpose. Each is the oracle its GPU kernel is tested against.
// Semantics follow llama.cpp / ggml at commit 3f545becc where kiln must agree with it; each
// such fact is noted where it is used.
#include <cstdint>
#include <span>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"

namespace kiln::cpu {

// ---- normalization ----------------------------------------------------------------------------

// out[i] = x[i] * weight[i] / sqrt(mean(x^2) + eps); weight may be empty (plain RMS norm).
// out may alias x.
void rmsnorm(std::span<const float> x, std::span<const float> weight, float eps,
             std::span<float> out);

// ---- rotary position embedding ---------------------------------------------------------------

// Everything that decides the rotation angles of one layer.
struct RopeParams {
  model::RopeKind kind = model::RopeKind::neox;
  int rope_dim = 0;          // rotated dims per head (even); dims past it pass through
  float base = 10000.f;      // theta_i = pos * base^(-2i/rope_dim)
  float freq_scale = 1.f;    // interpolation: theta *= freq_scale (1/linear or 1/yarn factor)
  std::span<const float> freq_factors;  // llama3: theta_i /= freq_factors[i] (rope_dim/2 values)
  // YaRN (ext_factor != 0): ramp between interpolated and extrapolated theta per pair, and a
  // magnitude factor on cos/sin.
  float ext_factor = 0.f;
  int orig_ctx = 0;
  float beta_fast = 32.f;
  float beta_slow = 1.f;
  float attn_factor = 1.f;   // extra multiplier on cos/sin (before the YaRN magnitude factor)
};

// The YaRN correction range [low, high] in pair-index units (ggml_rope_yarn_corr_dims).
void yarn_corr_dims(int rope_dim, int orig_ctx, float base, float beta_fast, float beta_slow,
                    float dims[2]);

// cos/sin of every rotated pair at one position (already multiplied by the magnitude factor).
struct RopeAngles {
  std::vector<float> cos, sin;  // rope_dim/2 each
};
RopeAngles rope_angles(int64_t pos, const RopeParams& params);

// Rotates one head vector in place: normal = adjacent pairs (x[2i], x[2i+1]),
// neox = (x[i], x[i + rope_dim/2]).
void apply_rope(std::span<float> head, const RopeAngles& angles, model::RopeKind kind);

// ---- softmax and attention -------------------------------------------------------------------

// In-place softmax over x. With a sink logit, the denominator also holds exp(sink) (the sink's
// column is dropped): out_i = exp(x_i) / (sum_j exp(x_j) + exp(sink)).
void softmax(std::span<float> x);
void softmax_with_sink(std::span<float> x, float sink);

// True when a query at q_pos must not see a key at k_pos: causal (k after q) or outside a
// sliding window of `window` tokens (0: no window).
bool attention_masked(int64_t q_pos, int64_t k_pos, int window);

struct AttnShape {
  int n_heads = 0;
  int n_kv_heads = 0;   // GQA: query head h reads kv head h / (n_heads / n_kv_heads)
  int head_dim = 0;     // q/k length
  int head_dim_v = 0;   // v length
  int window = 0;       // sliding window (0: none)
  float scale = 1.f;    // applied to q.k before the softmax (sinks are not scaled)
};

// One query position against the cache. q: n_heads x head_dim. k_cache: kv_len x n_kv_heads x
// head_dim, v_cache: kv_len x n_kv_heads x head_dim_v (position-major; row p holds position p).
// sinks: empty or n_heads logits. out: n_heads x head_dim_v.
void attention(std::span<const float> q, std::span<const float> k_cache,
               std::span<const float> v_cache, int64_t q_pos, int64_t kv_len,
               const AttnShape& shape, std::span<const float> sinks, std::span<float> out);

// ---- activations ------------------------------------------------------------------------------

float silu(float x);
float gelu_tanh(float x);
// gpt-oss: g = min(gate, limit), u = clamp(up, -limit, limit), g * sigmoid(alpha g) * (u + 1).
struct SwigluOai {
  static constexpr float alpha = 1.702f;
  static constexpr float limit = 7.f;
};
float swiglu_oai(float gate, float up);
// gate[i] = act(gate[i], up[i]) for the three gated FFN activations (in place on gate).
void gated_activation(model::FfnActivation act, std::span<float> gate, std::span<const float> up);

// ---- weights ----------------------------------------------------------------------------------

// The whole tensor as floats (for small tensors: norms, biases, sinks, rope_freqs).
std::vector<float> to_floats(const gguf::Tensor& tensor);
// One row (shape[0] values) of a tensor, dequantized into out.
void dequantize_row(const gguf::Tensor& tensor, int64_t row, std::span<float> out);

// y[t][r] = sum_k W[first_row + r][k] * x[t][k] for t < n_tokens, r < n_rows, where W is the
// tensor viewed as rows of shape[0] values (an expert's matrix of a 3-d tensor is the row range
// [e * rows_per_expert, (e + 1) * rows_per_expert)). x: n_tokens x shape[0], y: n_tokens x n_rows.
// Each weight row is dequantized once (gguf::dequantize) and dotted with every token; rows are
// split over `threads` threads.
void matmul(const gguf::Tensor& w, int64_t first_row, int64_t n_rows, std::span<const float> x,
            int64_t n_tokens, std::span<float> y, int threads);

}  // namespace kiln::cpu
