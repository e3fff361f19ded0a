#include "cpu/sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/error.h"

namespace kiln::cpu {

namespace {

// The same 40-step bisections as the GPU sampler, so both cut at the same logit.
template <class Keep>
float bisect(float a, float b, Keep keeps_enough) {
  for (int it = 0; it < 40; ++it) {
    float mid = 0.5f * (a + b);
    if (keeps_enough(mid)) a = mid;
    else b = mid;
  }
  return a;
}

}  // namespace

int sample_token(std::span<float> logits, const SamplerSettings& s, float uniform,
                 std::span<const int32_t> recent) {
  const int n = static_cast<int>(logits.size());
  KILN_CHECK(n > 0, "sampling from an empty vocabulary");
  if (s.repeat_penalty != 1.f)
    for (int32_t t : recent) {
      KILN_CHECK(t >= 0 && t < n, "recent token ", t, " is outside the vocabulary (", n, ")");
      logits[t] = logits[t] > 0 ? logits[t] / s.repeat_penalty : logits[t] * s.repeat_penalty;
    }
  int argmax = 0;
  for (int i = 1; i < n; ++i)
    if (logits[i] > logits[argmax]) argmax = i;
  if (s.temperature <= 0.f) return argmax;

  const float max_logit = logits[argmax], inv_t = 1.f / s.temperature;
  auto weight = [&](float l) { return std::exp((l - max_logit) * inv_t); };
  float lo = -INFINITY;
  if (s.min_p > 0.f) lo = max_logit + std::log(s.min_p) * s.temperature;
  if (s.top_k > 0 && s.top_k < n) {
    float cut = bisect(-1e30f, max_logit, [&](float t) {
      int count = 0;
      for (float l : logits) count += l >= t;
      return count >= s.top_k;
    });
    lo = std::max(lo, cut);
  }
  if (s.top_p < 1.f) {
    double total = 0;
    for (float l : logits)
      if (l >= lo) total += weight(l);
    float cut = bisect(lo < -1e30f ? -1e30f : lo, max_logit, [&](float t) {
      double mass = 0;
      for (float l : logits)
        if (l >= t) mass += weight(l);
      return mass >= s.top_p * total;
    });
    lo = std::max(lo, cut);
  }
  double mass = 0;
  for (float l : logits)
    if (l >= lo) mass += weight(l);
  const double target = uniform * mass;
  double running = 0;
  for (int i = 0; i < n; ++i) {
    if (logits[i] < lo) continue;
    running += weight(logits[i]);
    if (target < running) return i;
  }
  return argmax;  // rounding left the target at the very end of the mass
}

}  // namespace kiln::cpu
