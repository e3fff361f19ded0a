#include "cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "util/error.h"
#include "util/thread_pool.h"

namespace kiln::cpu {

void rmsnorm(std::span<const float> x, std::span<const float> weight, float eps,
             std::span<float> out) {
  KILN_CHECK(out.size() == x.size() && (weight.empty() || weight.size() == x.size()),
             "rmsnorm: sizes x ", x.size(), ", weight ", weight.size(), ", out ", out.size());
  double sum_sq = 0;
  for (float v : x) sum_sq += double(v) * v;
  // ggml_rms_norm: scale = 1 / sqrt(mean(x^2) + eps); the weight is a separate multiply.
  const float scale = float(1.0 / std::sqrt(sum_sq / double(x.size()) + double(eps)));
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = x[i] * scale * (weight.empty() ? 1.f : weight[i]);
}

void yarn_corr_dims(int rope_dim, int orig_ctx, float base, float beta_fast, float beta_slow,
                    float dims[2]) {
  // The pair index whose wavelength completes `rotations` turns over the original context:
  // rope_dim * ln(orig_ctx / (rotations * 2 pi)) / (2 ln base) (ggml_rope_yarn_corr_dim).
  auto corr_dim = [&](float rotations) {
    const float turns = orig_ctx / (rotations * 2 * std::numbers::pi_v<float>);
    return rope_dim * std::log(turns) / (2 * std::log(base));
  };
  // ggml floors the start, ceils the end, and clamps to [0, rope_dim - 1].
  dims[0] = std::max(0.f, std::floor(corr_dim(beta_fast)));
  dims[1] = std::min(float(rope_dim - 1), std::ceil(corr_dim(beta_slow)));
}

RopeAngles rope_angles(int64_t pos, const RopeParams& p) {
  KILN_CHECK(p.rope_dim > 0 && p.rope_dim % 2 == 0, "rope: rope_dim ", p.rope_dim,
             " must be positive and even");
  const int n_pairs = p.rope_dim / 2;
  KILN_CHECK(p.freq_factors.empty() || int(p.freq_factors.size()) == n_pairs,
             "rope: ", p.freq_factors.size(), " frequency factors for ", n_pairs, " pairs");
  float corr[2] = {0, 0};
  if (p.ext_factor != 0.f)
    yarn_corr_dims(p.rope_dim, p.orig_ctx, p.base, p.beta_fast, p.beta_slow, corr);
  float mscale = p.attn_factor;
  // ggml rope_yarn: with YaRN on, cos/sin are also multiplied by 1 + 0.1 ln(1/freq_scale).
  if (p.ext_factor != 0.f) mscale *= 1.f + 0.1f * std::log(1.f / p.freq_scale);

  RopeAngles a;
  a.cos.resize(n_pairs);
  a.sin.resize(n_pairs);
  for (int i = 0; i < n_pairs; ++i) {
    double theta_extrap = double(pos) * std::pow(double(p.base), -2.0 * i / p.rope_dim);
    if (!p.freq_factors.empty()) theta_extrap /= p.freq_factors[i];  // llama3: divides theta
    double theta = p.freq_scale * theta_extrap;
    if (p.ext_factor != 0.f) {
      // ramp = 1 below the correction range (high-frequency pairs keep extrapolated angles),
      // 0 above it (fully interpolated), linear in between.
      double y = (i - corr[0]) / std::max(0.001f, corr[1] - corr[0]);
      double ramp = (1.0 - std::clamp(y, 0.0, 1.0)) * p.ext_factor;
      theta = theta * (1 - ramp) + theta_extrap * ramp;
    }
    a.cos[i] = float(std::cos(theta)) * mscale;
    a.sin[i] = float(std::sin(theta)) * mscale;
  }
  return a;
}

void apply_rope(std::span<float> head, const RopeAngles& angles, model::RopeKind kind) {
  const size_t n_pairs = angles.cos.size();
  KILN_CHECK(2 * n_pairs <= head.size(), "rope: ", 2 * n_pairs, " rotated dims for a head of ",
             head.size());
  if (kind == model::RopeKind::none) return;
  for (size_t i = 0; i < n_pairs; ++i) {
    const size_t i0 = kind == model::RopeKind::normal ? 2 * i : i;
    const size_t i1 = kind == model::RopeKind::normal ? 2 * i + 1 : i + n_pairs;
    const float x0 = head[i0], x1 = head[i1], c = angles.cos[i], s = angles.sin[i];
    head[i0] = x0 * c - x1 * s;
    head[i1] = x0 * s + x1 * c;
  }
}

namespace {

void softmax_impl(std::span<float> x, const float* sink) {
  float max = sink ? *sink : -std::numeric_limits<float>::infinity();
  for (float v : x) max = std::max(max, v);
  double sum = sink ? std::exp(double(*sink) - max) : 0.0;
  for (float& v : x) {
    v = float(std::exp(double(v) - max));
    sum += v;
  }
  for (float& v : x) v = float(v / sum);
}

}  // namespace

void softmax(std::span<float> x) { softmax_impl(x, nullptr); }
void softmax_with_sink(std::span<float> x, float sink) { softmax_impl(x, &sink); }

bool attention_masked(int64_t q_pos, int64_t k_pos, int window) {
  if (k_pos > q_pos) return true;
  // llama.cpp is_masked_swa (LLAMA_SWA_TYPE_STANDARD): masked when q_pos - k_pos >= window, so
  // a window of W keeps the last W positions including the query's own.
  return window > 0 && q_pos - k_pos >= window;
}

void attention(std::span<const float> q, std::span<const float> k_cache,
               std::span<const float> v_cache, int64_t q_pos, int64_t kv_len,
               const AttnShape& s, std::span<const float> sinks, std::span<float> out) {
  KILN_CHECK(s.n_heads > 0 && s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0,
             "attention: ", s.n_heads, " heads over ", s.n_kv_heads, " kv heads");
  KILN_CHECK(q.size() == size_t(s.n_heads) * s.head_dim &&
                 out.size() == size_t(s.n_heads) * s.head_dim_v &&
                 k_cache.size() >= size_t(kv_len) * s.n_kv_heads * s.head_dim &&
                 v_cache.size() >= size_t(kv_len) * s.n_kv_heads * s.head_dim_v &&
                 (sinks.empty() || sinks.size() == size_t(s.n_heads)),
             "attention: buffer sizes do not match ", s.n_heads, " heads x ", s.head_dim,
             " over ", kv_len, " positions");
  const int group = s.n_heads / s.n_kv_heads;
  std::vector<int64_t> visible;
  for (int64_t p = 0; p < kv_len; ++p)
    if (!attention_masked(q_pos, p, s.window)) visible.push_back(p);
  std::vector<float> probs(visible.size());
  for (int h = 0; h < s.n_heads; ++h) {
    const int kvh = h / group;  // ggml broadcasts kv head h / (n_heads / n_kv_heads)
    const float* qh = q.data() + size_t(h) * s.head_dim;
    for (size_t j = 0; j < visible.size(); ++j) {
      const float* kh = k_cache.data() + (size_t(visible[j]) * s.n_kv_heads + kvh) * s.head_dim;
      double dot = 0;
      for (int d = 0; d < s.head_dim; ++d) dot += double(qh[d]) * kh[d];
      probs[j] = float(dot) * s.scale;
    }
    // gpt-oss sinks: one extra logit per head in the denominator, not scaled by s.scale
    // (ggml soft_max with sinks compares the raw sink value with the scaled scores).
    if (sinks.empty()) softmax(probs);
    else softmax_with_sink(probs, sinks[h]);
    float* oh = out.data() + size_t(h) * s.head_dim_v;
    for (int d = 0; d < s.head_dim_v; ++d) {
      double acc = 0;
      for (size_t j = 0; j < visible.size(); ++j)
        acc += double(probs[j]) *
               v_cache[(size_t(visible[j]) * s.n_kv_heads + kvh) * s.head_dim_v + d];
      oh[d] = float(acc);
    }
  }
}

float silu(float x) { return x / (1.f + std::exp(-x)); }

float gelu_tanh(float x) {
  constexpr float sqrt_2_over_pi = 0.7978845608028654f, coef = 0.044715f;
  return 0.5f * x * (1.f + std::tanh(sqrt_2_over_pi * x * (1.f + coef * x * x)));
}

float swiglu_oai(float gate, float up) {
  // ggml swiglu_oai: the gate is clamped from above only, up on both sides, and up gets +1.
  const float g = std::min(gate, SwigluOai::limit);
  const float u = std::clamp(up, -SwigluOai::limit, SwigluOai::limit);
  return g / (1.f + std::exp(-SwigluOai::alpha * g)) * (u + 1.f);
}

void gated_activation(model::FfnActivation act, std::span<float> gate, std::span<const float> up) {
  KILN_CHECK(gate.size() == up.size(), "gated activation: gate has ", gate.size(),
             " values, up ", up.size());
  for (size_t i = 0; i < gate.size(); ++i) {
    switch (act) {
      case model::FfnActivation::silu_gated: gate[i] = silu(gate[i]) * up[i]; break;
      case model::FfnActivation::gelu_tanh_gated: gate[i] = gelu_tanh(gate[i]) * up[i]; break;
      case model::FfnActivation::swiglu_oai: gate[i] = swiglu_oai(gate[i], up[i]); break;
    }
  }
}

std::vector<float> to_floats(const gguf::Tensor& tensor) {
  std::vector<float> out(size_t(tensor.elements()));
  gguf::dequantize(tensor.type, tensor.data, out.data(), tensor.elements());
  return out;
}

void dequantize_row(const gguf::Tensor& tensor, int64_t row, std::span<float> out) {
  const int64_t row_len = tensor.shape.at(0);
  KILN_CHECK(row >= 0 && row < tensor.rows() && int64_t(out.size()) == row_len, "tensor ",
             tensor.name, ": row ", row, " of ", tensor.rows(), " (", row_len,
             " values) into a buffer of ", out.size());
  const uint64_t row_bytes = gguf::bytes_for(tensor.type, row_len);
  gguf::dequantize(tensor.type, tensor.data + uint64_t(row) * row_bytes, out.data(), row_len);
}

void matmul(const gguf::Tensor& w, int64_t first_row, int64_t n_rows, std::span<const float> x,
            int64_t n_tokens, std::span<float> y, int threads) {
  const int64_t n_in = w.shape.at(0);
  KILN_CHECK(first_row >= 0 && n_rows >= 0 && first_row + n_rows <= w.rows(), "matmul: rows [",
             first_row, ", ", first_row + n_rows, ") of tensor ", w.name, " with ", w.rows(),
             " rows");
  KILN_CHECK(int64_t(x.size()) == n_tokens * n_in && int64_t(y.size()) == n_tokens * n_rows,
             "matmul: tensor ", w.name, " (", w.shape_string(), ") got ", x.size(),
             " inputs and ", y.size(), " outputs for ", n_tokens, " tokens");
  parallel_for(n_rows, threads, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t r = begin; r < end; ++r) {
      dequantize_row(w, first_row + r, row);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x.data() + t * n_in;
        double acc = 0;
        for (int64_t k = 0; k < n_in; ++k) acc += double(row[size_t(k)]) * xt[k];
        y[size_t(t * n_rows + r)] = float(acc);
      }
    }
  });
}

}  // namespace kiln::cpu
