#pragma once
// Host side of the JIT layer's own kernel, rmsnorm.cuh (the engine's kernels keep theirs in
// src/engine/): a named config (what the caller knows), the key builder (config -> template
// constants, with the tuning heuristic) and the launch geometry. Params: rmsnorm_params.h.
#include "jit/kernel.h"
#include "jit/key.h"

namespace kiln::jit {

// rmsnorm.cuh
struct RmsnormConfig {
  int n_embd = 0;
  bool fuse_residual = false;
  bool out_f16 = false;
  int threads = 0;  // 0: about 4 float4 per thread, 32..1024
};
KernelKey rmsnorm_key(const RmsnormConfig& config);
LaunchDims rmsnorm_launch(const KernelKey& key, int n_rows);

}  // namespace kiln::jit
