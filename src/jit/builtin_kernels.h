#pragma once
// Host side of the kernels in src/kernels/: for each, a named config (what the caller knows),
// the key builder (config -> template constants, with the tuning heuristic) and the launch
// geometry. Params structs come from the kernels' own *_params.h.
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

// rope.cuh
struct RopeConfig {
  int head_dim = 0;
  int n_rot = 0;  // 0: head_dim
  double freq_base = 10000.0;
  bool neox = false;
  bool f16 = false;
  int threads = 0;  // 0: 128
};
KernelKey rope_key(const RopeConfig& config);
// n_rot as the kernel sees it (the generic build reads it from its params).
LaunchDims rope_launch(const KernelKey& key, int n_tokens, int n_heads, int n_kv_heads, int n_rot);

// matvec_q8_0.cuh
struct MatvecQ8_0Config {
  int n_rows = 0;
  int n_cols = 0;  // a multiple of 32
  bool x_f16 = false;
  int rows_per_block = 0;  // 0: chosen from the shape and sm_count
  int threads = 0;         // 0: chosen from n_cols
  int stages = 0;          // cp.async pipeline depth per warp; 0: 3
  int sm_count = 132;      // the device's (H100 SXM: 132); keys must not depend on the machine
                           // that precompiles, so callers pass the target's
};
KernelKey matvec_q8_0_key(const MatvecQ8_0Config& config);
// n_cols is unused (shared memory depends on the tuning only); kept so callers pass the shape.
LaunchDims matvec_q8_0_launch(const KernelKey& key, int n_rows, int n_cols);

}  // namespace kiln::jit
