#pragma once
// Mixture-of-experts FFN of the reference forward pass: routing as each architecture defines it,
// then the chosen experts' gated FFNs, weighted and summed.
#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"

namespace kiln::cpu {

// The experts one token uses and their weights, highest router score first.
struct ExpertChoice {
  std::vector<int> experts;
  std::vector<float> weights;
};

// Picks k experts from one token's router logits (bias already added):
//   softmax_topk (qwen3moe): softmax over all experts, the k largest probabilities, weights
//                            renormalized to sum to 1;
//   topk_softmax (gpt-oss):  the k largest logits, softmax over those k.
// Ties go to the lower expert index.
ExpertChoice route(std::span<const float> logits, int k, model::MoeRouting routing);

// out (n_tokens x n_embd) = the MoE FFN of x (n_tokens x n_embd, already normed) for one layer.
void moe_ffn(const model::Model& model, const model::Layer& layer, std::span<const float> x,
             int64_t n_tokens, std::span<float> out, int threads);

}  // namespace kiln::cpu
