#pragma once
// Token sampling on the host: the reference of the GPU sampler (kernels/sample.cuh), same
// algorithm and the same thresholds, so a test can compare them token for token.
//   1. repeat penalty on the recent tokens (logit / p if > 0, else * p);
//   2. temperature <= 0: argmax (lowest id on ties);
//   3. else keep tokens whose logit passes min-p, top-k and top-p thresholds (each a cut on the
//      logit, found by bisection), weight exp((l - max) / T), and draw by `uniform` in id order.
#include <cstdint>
#include <span>

namespace kiln::cpu {

struct SamplerSettings {
  float temperature = 0.f;  // <= 0: greedy
  int top_k = 0;            // <= 0: off
  float top_p = 1.f;        // >= 1: off
  float min_p = 0.f;        // <= 0: off
  float repeat_penalty = 1.f;
};

// `logits` is modified by the repeat penalty. `recent` holds distinct token ids.
int sample_token(std::span<float> logits, const SamplerSettings& settings, float uniform,
                 std::span<const int32_t> recent = {});

}  // namespace kiln::cpu
