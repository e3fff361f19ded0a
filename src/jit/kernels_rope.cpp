#include <cmath>

#include "jit/builtin_kernels.h"
#include "util/error.h"

namespace kiln::jit {

KernelKey rope_key(const RopeConfig& config) {
  const int n_rot = config.n_rot ? config.n_rot : config.head_dim;
  KILN_CHECK(config.head_dim > 0 && config.head_dim % 2 == 0, "rope: head_dim must be even and positive, got ",
             config.head_dim);
  KILN_CHECK(n_rot > 0 && n_rot % 2 == 0 && n_rot <= config.head_dim, "rope: n_rot must be even and in 2..head_dim (",
             config.head_dim, "), got ", n_rot);
  KILN_CHECK(config.freq_base > 1.0, "rope: freq_base must be > 1, got ", config.freq_base);
  // The base is a template constant only when it is a whole number (they all are in practice);
  // otherwise the kernel reads it from its params, as the generic build does.
  const bool whole = config.freq_base == std::floor(config.freq_base) && config.freq_base < 2e9;
  const int threads = config.threads ? config.threads : 128;
  KILN_CHECK(threads % 32 == 0 && threads <= 1024, "rope: threads must be a multiple of 32 up to 1024, got ", threads);
  KernelKey key;
  key.kernel = "rope";
  key.file = "rope.cuh";
  key.constants = {{"head_dim", config.head_dim, ConstKind::shape},
                   {"n_rot", n_rot, ConstKind::shape},
                   {"freq_base", whole ? static_cast<int64_t>(config.freq_base) : 0, ConstKind::shape},
                   {"neox", config.neox, ConstKind::variant},
                   {"f16", config.f16, ConstKind::variant},
                   {"threads", threads, ConstKind::tuning}};
  return key;
}

LaunchDims rope_launch(const KernelKey& key, int n_tokens, int n_heads, int n_kv_heads, int n_rot) {
  const int threads = static_cast<int>(key.get("threads"));
  const long long pairs = static_cast<long long>(n_heads + n_kv_heads) * (n_rot / 2);
  LaunchDims dims;
  dims.grid = dim3(static_cast<unsigned>(n_tokens), static_cast<unsigned>((pairs + threads - 1) / threads));
  dims.block = dim3(static_cast<unsigned>(threads));
  return dims;
}

}  // namespace kiln::jit
