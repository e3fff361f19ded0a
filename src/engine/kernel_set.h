#pragma once
// The kernels the engine launches for a model, without a GPU: the forward pass is recorded on
// a planner (engine/forward.h) for every token-count bucket, as the engine does before its
// first token. `kiln kernels precompile` and the CI compile test use it.
#include <vector>

#include "engine/engine.h"
#include "engine/kv_cache.h"
#include "engine/matmul.h"
#include "jit/key.h"
#include "model/model.h"

namespace kiln::engine {

struct KernelSetOptions {
  int n_ctx = 4096;
  int n_ubatch = 512;
  bool all_logits = false;  // also the kernels that compute every token's logits (kiln logits)
  MatmulTarget target;      // the GPU the keys are for (H100 by default)
  KvTypes kv_types;         // K and V cache element types the engine will run with
  int fused_write_splits = fused_write_splits_from_env();  // as EngineOptions'
  int stream_stages = stream_stages_from_env();           // as EngineOptions'
  bool o_whole_ring = o_whole_ring_from_env();            // as EngineOptions'
  bool matvec_chain = matvec_chain_from_env();            // as EngineOptions'
};

// Distinct keys, in first-use order, as specialized keys (apply KernelKey::for_mode for the
// generic build). Throws kiln::Error when the engine does not run this model.
std::vector<jit::KernelKey> engine_kernel_set(const model::Model& model, const KernelSetOptions& options = {});

}  // namespace kiln::engine
