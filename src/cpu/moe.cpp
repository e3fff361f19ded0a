#include "cpu/moe.h"

#include <algorithm>
#include <numeric>

#include "cpu/ops.h"
#include "util/error.h"

namespace kiln::cpu {

namespace {

// Indices of the k largest values, largest first; ties go to the lower index.
std::vector<int> top_k(std::span<const float> values, int k) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return values[a] > values[b]; });
  order.resize(size_t(k));
  return order;
}

}  // namespace

ExpertChoice route(std::span<const float> logits, int k, model::MoeRouting routing) {
  KILN_CHECK(k > 0 && size_t(k) <= logits.size(), "moe routing: ", k, " experts of ",
             logits.size());
  ExpertChoice choice;
  switch (routing) {
    case model::MoeRouting::softmax_topk: {
      // llama.cpp qwen3moe: gating SOFTMAX over all experts, top-k, norm_w = true (weights
      // divided by their sum).
      std::vector<float> probs(logits.begin(), logits.end());
      softmax(probs);
      choice.experts = top_k(probs, k);
      double sum = 0;
      for (int e : choice.experts) sum += probs[size_t(e)];
      for (int e : choice.experts) choice.weights.push_back(float(probs[size_t(e)] / sum));
      break;
    }
    case model::MoeRouting::topk_softmax: {
      // llama.cpp gpt-oss: gating SOFTMAX_WEIGHT: top-k of the raw logits (+ router bias),
      // then a softmax over the k chosen logits; no renormalization after.
      choice.experts = top_k(logits, k);
      for (int e : choice.experts) choice.weights.push_back(logits[size_t(e)]);
      softmax(choice.weights);
      break;
    }
    case model::MoeRouting::none:
      fail("moe routing: the architecture has no MoE routing");
  }
  return choice;
}

void moe_ffn(const model::Model& model, const model::Layer& layer, std::span<const float> x,
             int64_t n_tokens, std::span<float> out, int threads) {
  const auto& hp = model.hp;
  const int64_t n_embd = hp.n_embd, n_ff = hp.n_ff_expert, n_experts = hp.n_experts;
  const int k = hp.n_experts_used;
  KILN_CHECK(layer.router && layer.gate_exps && layer.up_exps && layer.down_exps,
             "layer ", layer.index, ": MoE tensors missing");
  KILN_CHECK(layer.gate_exps->rows() == n_ff * n_experts &&
                 layer.down_exps->rows() == n_embd * n_experts,
             "layer ", layer.index, ": expert tensors ", layer.gate_exps->shape_string(), " / ",
             layer.down_exps->shape_string(), " do not hold ", n_experts, " experts of ", n_ff);

  // Router logits for every token (+ bias: gpt-oss ffn_gate_inp.bias, added before top-k).
  std::vector<float> logits(size_t(n_tokens * n_experts));
  matmul(*layer.router, 0, n_experts, x, n_tokens, logits, threads);
  if (layer.router_bias) {
    const auto bias = to_floats(*layer.router_bias);
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t e = 0; e < n_experts; ++e) logits[size_t(t * n_experts + e)] += bias[size_t(e)];
  }

  // Group tokens by expert so each expert's weights are dequantized once per batch.
  std::vector<std::vector<std::pair<int64_t, float>>> users(static_cast<size_t>(n_experts));
  for (int64_t t = 0; t < n_tokens; ++t) {
    auto choice = route(std::span(logits).subspan(size_t(t * n_experts), size_t(n_experts)), k,
                        model.arch.routing);
    for (int i = 0; i < k; ++i)
      users[size_t(choice.experts[size_t(i)])].push_back({t, choice.weights[size_t(i)]});
  }

  std::fill(out.begin(), out.end(), 0.f);
  std::vector<float> xe, gate, up, down;
  for (int64_t e = 0; e < n_experts; ++e) {
    const auto& tokens = users[size_t(e)];
    if (tokens.empty()) continue;
    const int64_t n = int64_t(tokens.size());
    xe.resize(size_t(n * n_embd));
    for (int64_t i = 0; i < n; ++i)
      std::copy_n(x.begin() + tokens[size_t(i)].first * n_embd, n_embd, xe.begin() + i * n_embd);
    gate.resize(size_t(n * n_ff));
    up.resize(size_t(n * n_ff));
    down.resize(size_t(n * n_embd));
    matmul(*layer.gate_exps, e * n_ff, n_ff, xe, n, gate, threads);
    matmul(*layer.up_exps, e * n_ff, n_ff, xe, n, up, threads);
    // gpt-oss expert biases: ffn_{gate,up}_exps.bias is [n_ff, n_experts], added to the
    // projections before the activation; ffn_down_exps.bias [n_embd, n_experts] is added
    // before the routing weight multiplies the expert output (llama.cpp build_moe_ffn).
    auto add_bias = [&](model::TensorRef bias, std::vector<float>& values, int64_t width) {
      if (!bias) return;
      std::vector<float> row(static_cast<size_t>(width));
      dequantize_row(*bias, e, row);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < width; ++j) values[size_t(i * width + j)] += row[size_t(j)];
    };
    add_bias(layer.gate_exps_bias, gate, n_ff);
    add_bias(layer.up_exps_bias, up, n_ff);
    gated_activation(model.arch.activation, gate, up);
    matmul(*layer.down_exps, e * n_embd, n_embd, gate, n, down, threads);
    add_bias(layer.down_exps_bias, down, n_embd);
    for (int64_t i = 0; i < n; ++i) {
      const auto [t, weight] = tokens[size_t(i)];
      for (int64_t j = 0; j < n_embd; ++j)
        out[size_t(t * n_embd + j)] += weight * down[size_t(i * n_embd + j)];
    }
  }
}

}  // namespace kiln::cpu
