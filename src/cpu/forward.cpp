#include "cpu/forward.h"

#include <algorithm>
#include <cmath>

#include "cpu/moe.h"
#include "cpu/ops.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kiln::cpu {

namespace {

std::vector<float> floats_or_empty(model::TensorRef tensor) {
  return tensor ? to_floats(*tensor) : std::vector<float>{};
}

// Row-wise RMS norm of n_tokens rows of x.
void rmsnorm_rows(std::span<const float> x, int64_t n_tokens, std::span<const float> weight,
                  float eps, std::span<float> out) {
  const size_t width = x.size() / size_t(n_tokens);
  for (int64_t t = 0; t < n_tokens; ++t)
    rmsnorm(x.subspan(size_t(t) * width, width), weight, eps,
            out.subspan(size_t(t) * width, width));
}

// Adds bias (one row of width values) to every row of values; no-op for an empty bias.
void add_bias_rows(std::span<float> values, std::span<const float> bias) {
  if (bias.empty()) return;
  for (size_t i = 0; i < values.size(); ++i) values[i] += bias[i % bias.size()];
}

void add_into(std::span<float> x, std::span<const float> delta) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += delta[i];
}

RopeParams rope_params(const model::Model& m, const model::Layer& layer,
                       std::span<const float> rope_freqs) {
  const auto& hp = m.hp;
  RopeParams p;
  p.kind = m.arch.rope;
  p.rope_dim = hp.rope_dim > 0 ? hp.rope_dim : hp.head_dim;
  // The loader decides the base per layer (gemma3 local layers: rope.freq_base_swa; gpt-oss has
  // no swa base, so llama.cpp uses the global base on every layer).
  p.base = layer.rope_base > 0 ? layer.rope_base : hp.rope_base;
  // llama3: llama.cpp passes rope_freqs.weight as ggml_rope_ext's freq_factors, which divide
  // theta per pair; the file carries no other scaling for it (freq_scale stays 1).
  p.freq_factors = rope_freqs;
  switch (hp.rope_scaling) {
    case model::RopeScaling::none:
    case model::RopeScaling::llama3:
      break;
    case model::RopeScaling::linear:
      // llama.cpp get_rope_freq_scale: sliding-window layers use rope_freq_scale_train_swa,
      // which gemma3 leaves at 1; only global layers are scaled by 1/factor.
      p.freq_scale = layer.is_local ? 1.f : 1.f / hp.rope_factor;
      break;
    case model::RopeScaling::yarn:
      // gpt-oss: every layer (local too: openai-moe copies freq_scale to the swa layers) uses
      // freq_scale 1/factor, ext_factor 1 (llama.cpp's default for YARN), the original context
      // length and beta_fast/slow. llama.cpp sets yarn_attn_factor = get_mscale(factor) times
      // 1/(1 + 0.1 ln factor) = 1, so the only magnitude factor on cos/sin is rope_yarn's own
      // 1 + 0.1 ln(factor) (1.3466 for factor 32).
      p.freq_scale = 1.f / hp.rope_factor;
      p.ext_factor = 1.f;
      p.orig_ctx = hp.rope_orig_ctx > 0 ? hp.rope_orig_ctx : hp.n_ctx_train;
      p.beta_fast = hp.yarn_beta_fast;
      p.beta_slow = hp.yarn_beta_slow;
      p.attn_factor = 1.f;
      break;
  }
  return p;
}

}  // namespace

CpuModel::CpuModel(const model::Model& model, int threads, int max_ctx)
    : model_(model), threads_(threads > 0 ? threads : default_threads()), max_ctx_(max_ctx) {
  const auto& hp = model.hp;
  KILN_CHECK(max_ctx > 0, "cpu model: max_ctx ", max_ctx, " must be positive");
  KILN_CHECK(model.token_embd && model.output && model.output_norm,
             "cpu model: token_embd, output or output_norm is not bound");
  KILN_CHECK(hp.n_heads > 0 && hp.n_kv_heads > 0 && hp.n_heads % hp.n_kv_heads == 0 &&
                 hp.head_dim > 0,
             "cpu model: ", hp.n_heads, " heads over ", hp.n_kv_heads, " kv heads of dim ",
             hp.head_dim);
  output_norm_ = to_floats(*model.output_norm);
  rope_freqs_ = floats_or_empty(model.rope_freqs);
  layers_.resize(model.layers.size());
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const auto& l = model.layers[i];
    auto& c = layers_[i];
    c.attn_norm = floats_or_empty(l.attn_norm);
    // gpt-oss stores its pre-FFN norm as blk.N.post_attention_norm (llama.cpp openai-moe
    // applies attn_post_norm to the residual stream before the MoE).
    model::TensorRef pre_ffn = l.ffn_norm;
    if (!pre_ffn && model.arch.ffn_norm_is_post_attention) pre_ffn = l.post_attn_norm;
    c.ffn_norm = floats_or_empty(pre_ffn);
    if (model.arch.post_attn_norm) c.post_attn_norm = floats_or_empty(l.post_attn_norm);
    if (model.arch.post_ffn_norm) c.post_ffn_norm = floats_or_empty(l.post_ffn_norm);
    c.q_norm = floats_or_empty(l.q_norm);
    c.k_norm = floats_or_empty(l.k_norm);
    c.bq = floats_or_empty(l.bq);
    c.bk = floats_or_empty(l.bk);
    c.bv = floats_or_empty(l.bv);
    c.bo = floats_or_empty(l.bo);
    c.sinks = floats_or_empty(l.sinks);
  }
}

void CpuModel::reset() {
  n_past_ = 0;
  for (auto& c : layers_) {
    c.k.clear();
    c.v.clear();
  }
}

void CpuModel::attention_block(int il, std::span<const float> x, int64_t n_tokens,
                               std::span<float> out) {
  const auto& hp = model_.hp;
  const auto& l = model_.layers[size_t(il)];
  auto& c = layers_[size_t(il)];
  const int64_t n_embd = hp.n_embd, head_dim = hp.head_dim;
  const int64_t head_dim_v = hp.head_dim_v > 0 ? hp.head_dim_v : hp.head_dim;
  const int64_t q_width = hp.n_heads * head_dim, k_width = hp.n_kv_heads * head_dim;
  const int64_t v_width = hp.n_kv_heads * head_dim_v;

  std::vector<float> h(size_t(n_tokens * n_embd));
  rmsnorm_rows(x, n_tokens, c.attn_norm, hp.rms_eps, h);
  std::vector<float> q(size_t(n_tokens * q_width)), k(size_t(n_tokens * k_width)),
      v(size_t(n_tokens * v_width));
  matmul(*l.wq, 0, q_width, h, n_tokens, q, threads_);
  matmul(*l.wk, 0, k_width, h, n_tokens, k, threads_);
  matmul(*l.wv, 0, v_width, h, n_tokens, v, threads_);
  add_bias_rows(q, c.bq);  // qwen2, gpt-oss
  add_bias_rows(k, c.bk);
  add_bias_rows(v, c.bv);

  // qwen3/qwen3moe/gemma3: RMS norm over each head of q and k (weight [head_dim], the model's
  // eps), before RoPE.
  auto norm_heads = [&](std::vector<float>& values, const std::vector<float>& weight) {
    if (weight.empty()) return;
    for (size_t off = 0; off < values.size(); off += size_t(head_dim)) {
      std::span<float> head(values.data() + off, size_t(head_dim));
      rmsnorm(head, weight, hp.rms_eps, head);
    }
  };
  norm_heads(q, c.q_norm);
  norm_heads(k, c.k_norm);

  const RopeParams rope = rope_params(model_, l, rope_freqs_);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const RopeAngles angles = rope_angles(n_past_ + t, rope);
    for (int h_i = 0; h_i < hp.n_heads; ++h_i)
      apply_rope({q.data() + t * q_width + h_i * head_dim, size_t(head_dim)}, angles, rope.kind);
    for (int h_i = 0; h_i < hp.n_kv_heads; ++h_i)
      apply_rope({k.data() + t * k_width + h_i * head_dim, size_t(head_dim)}, angles, rope.kind);
  }

  // Append to the cache (rows n_past .. n_past + n_tokens - 1).
  const int64_t kv_len = n_past_ + n_tokens;
  c.k.resize(size_t(kv_len * k_width));
  c.v.resize(size_t(kv_len * v_width));
  std::copy(k.begin(), k.end(), c.k.begin() + n_past_ * k_width);
  std::copy(v.begin(), v.end(), c.v.begin() + n_past_ * v_width);

  AttnShape shape;
  shape.n_heads = hp.n_heads;
  shape.n_kv_heads = hp.n_kv_heads;
  shape.head_dim = int(head_dim);
  shape.head_dim_v = int(head_dim_v);
  shape.window = l.is_local ? l.window : 0;
  // gemma3 (non-27B), gpt-oss and the others: 1/sqrt(head_dim); the loader may override.
  shape.scale = hp.attn_scale > 0 ? hp.attn_scale : 1.f / std::sqrt(float(head_dim));
  const int64_t o_width = hp.n_heads * head_dim_v;
  std::vector<float> attn(size_t(n_tokens * o_width));
  parallel_for(n_tokens, threads_, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      attention({q.data() + t * q_width, size_t(q_width)}, c.k, c.v, n_past_ + t, kv_len, shape,
                c.sinks, {attn.data() + t * o_width, size_t(o_width)});
  });

  matmul(*l.wo, 0, n_embd, attn, n_tokens, out, threads_);
  add_bias_rows(out, c.bo);  // gpt-oss attn_output.bias
  // gemma3: post_attention_norm on the attention output, before the residual add.
  if (!c.post_attn_norm.empty()) rmsnorm_rows(out, n_tokens, c.post_attn_norm, hp.rms_eps, out);
}

void CpuModel::ffn_block(int il, std::span<const float> x, int64_t n_tokens,
                         std::span<float> out) {
  const auto& hp = model_.hp;
  const auto& l = model_.layers[size_t(il)];
  const auto& c = layers_[size_t(il)];
  const int64_t n_embd = hp.n_embd;
  std::vector<float> h(size_t(n_tokens * n_embd));
  rmsnorm_rows(x, n_tokens, c.ffn_norm, hp.rms_eps, h);
  if (l.is_moe()) {
    moe_ffn(model_, l, h, n_tokens, out, threads_);
  } else {
    KILN_CHECK(l.ffn_gate && l.ffn_up && l.ffn_down, "layer ", il, ": dense FFN tensors missing");
    const int64_t n_ff = l.ffn_gate->rows();
    std::vector<float> gate(size_t(n_tokens * n_ff)), up(size_t(n_tokens * n_ff));
    matmul(*l.ffn_gate, 0, n_ff, h, n_tokens, gate, threads_);
    matmul(*l.ffn_up, 0, n_ff, h, n_tokens, up, threads_);
    gated_activation(model_.arch.activation, gate, up);
    matmul(*l.ffn_down, 0, n_embd, gate, n_tokens, out, threads_);
  }
  // gemma3: post_ffw_norm on the FFN output, before the residual add.
  if (!c.post_ffn_norm.empty()) rmsnorm_rows(out, n_tokens, c.post_ffn_norm, hp.rms_eps, out);
}

std::vector<float> CpuModel::forward(std::span<const int32_t> tokens) {
  const auto& hp = model_.hp;
  const int64_t n_tokens = int64_t(tokens.size()), n_embd = hp.n_embd, n_vocab = hp.n_vocab;
  KILN_CHECK(n_tokens > 0, "cpu forward: empty token list");
  KILN_CHECK(n_past_ + n_tokens <= max_ctx_, "cpu forward: ", n_tokens, " tokens after ", n_past_,
             " exceed the context of ", max_ctx_);
  for (int64_t t = 0; t < n_tokens; ++t)
    KILN_CHECK(tokens[size_t(t)] >= 0 && tokens[size_t(t)] < n_vocab, "cpu forward: token id ",
               tokens[size_t(t)], " at index ", t, " is outside the vocabulary [0, ", n_vocab,
               ")");

  std::vector<float> x(size_t(n_tokens * n_embd));
  for (int64_t t = 0; t < n_tokens; ++t)
    dequantize_row(*model_.token_embd, tokens[size_t(t)],
                   {x.data() + t * n_embd, size_t(n_embd)});
  // gemma3: the token embeddings are multiplied by sqrt(n_embd) (llama.cpp: sqrtf, in float).
  if (model_.arch.scale_embeddings) {
    const float scale = std::sqrt(float(n_embd));
    for (float& v : x) v *= scale;
  }

  std::vector<float> delta(x.size());
  for (int il = 0; il < int(model_.layers.size()); ++il) {
    attention_block(il, x, n_tokens, delta);
    add_into(x, delta);
    ffn_block(il, x, n_tokens, delta);
    add_into(x, delta);
  }

  rmsnorm_rows(x, n_tokens, output_norm_, hp.rms_eps, x);
  std::vector<float> logits(size_t(n_tokens * n_vocab));
  matmul(*model_.output, 0, n_vocab, x, n_tokens, logits, threads_);
  n_past_ += int(n_tokens);
  return logits;
}

}  // namespace kiln::cpu
