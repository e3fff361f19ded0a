#include "engine/kernel_set.h"

#include <algorithm>

#include "engine/engine.h"
#include "engine/forward.h"
#include "plan/kernel_plan.h"

namespace kiln::engine {

std::vector<jit::KernelKey> engine_kernel_set(const model::Model& model, const KernelSetOptions& options) {
  const std::string arch_problem = Engine::unsupported_arch(model);
  KILN_CHECK(arch_problem.empty(), "the GPU engine ", arch_problem);
  ForwardConfig config;
  config.n_ctx = options.n_ctx;
  config.n_ubatch = options.n_ubatch;
  config.target = options.target;
  config.kv_types = options.kv_types;
  config.fused_write_splits = options.fused_write_splits;
  config.stream_stages = options.stream_stages;
  config.o_whole_ring = options.o_whole_ring;
  config.matvec_chain = options.matvec_chain;
  Forward planner(model, nullptr, config, nullptr);
  std::vector<jit::KernelKey> keys;
  auto add = [&](const jit::KernelKey& key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  };
  for (int bucket : planner.buckets())
    for (bool all_logits : {false, true}) {
      if (all_logits && !options.all_logits) continue;
      plan::KernelPlan plan;
      planner.run(plan, bucket, all_logits);
      for (const auto& key : plan.keys()) add(key);
    }
  add(planner.sample_key());
  return keys;
}

}  // namespace kiln::engine
