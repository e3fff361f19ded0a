#include <algorithm>

#include "jit/builtin_kernels.h"
#include "util/error.h"

namespace kiln::jit {

KernelKey rmsnorm_key(const RmsnormConfig& config) {
  KILN_CHECK(config.n_embd > 0, "rmsnorm: n_embd must be positive, got ", config.n_embd);
  int threads = config.threads;
  if (threads == 0) {
    // About 4 float4 loads per thread: enough in flight per thread, and a short reduction.
    const int per_thread = 16;
    threads = std::clamp((config.n_embd + per_thread - 1) / per_thread, 32, 1024);
    threads = (threads + 31) / 32 * 32;
  }
  KILN_CHECK(threads % 32 == 0 && threads >= 32 && threads <= 1024,
             "rmsnorm: threads must be a multiple of 32 in 32..1024, got ", threads);
  KernelKey key;
  key.kernel = "rmsnorm";
  key.file = "rmsnorm.cuh";
  key.constants = {{"n_embd", config.n_embd, ConstKind::shape},
                   {"fuse_residual", config.fuse_residual, ConstKind::variant},
                   {"out_f16", config.out_f16, ConstKind::variant},
                   {"threads", threads, ConstKind::tuning}};
  return key;
}

LaunchDims rmsnorm_launch(const KernelKey& key, int n_rows) {
  LaunchDims dims;
  dims.grid = dim3(static_cast<unsigned>(n_rows));
  dims.block = dim3(static_cast<unsigned>(key.get("threads")));
  return dims;
}

}  // namespace kiln::jit
