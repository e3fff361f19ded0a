#include <algorithm>

#include "jit/builtin_kernels.h"
#include "kernels/matvec_q8_0_params.h"
#include "util/error.h"

namespace kiln::jit {

namespace {

// Warps per block: each warp streams every WARPS-th tile of 256 columns; give each warp about
// four tiles so its cp.async pipeline has something to overlap, up to 4 warps.
int choose_threads(int n_cols) {
  const int n_tiles = (n_cols / kQ8_0BlockElems + kMatvecTileBlocks - 1) / kMatvecTileBlocks;
  return 32 * std::clamp(n_tiles / 4, 1, 4);
}

// Rows per block: more rows share each tile of x (fewer L1 reads per weight byte), but fewer
// blocks; keep at least two blocks per SM and the block's stages within 48 KB (no opt-in).
// H100 sweep (2026-11-24, rows 1/2/4/8 x threads 64/128/256 x stages 2/3/4): 4 or 8 rows with
// 128-256 threads led on every shape (4096x4096: 1.4-1.5 TB/s, 14336x4096: ~2.0 TB/s); stages
// 2-4 were within run-to-run noise, so 3 stays the default.
int choose_rows_per_block(int n_rows, int threads, int stages, bool x_f16, int sm_count) {
  int rows = 1;
  for (int candidate : {2, 4, 8})
    if ((n_rows + candidate - 1) / candidate >= 2 * sm_count &&
        matvec_q8_0_smem_bytes(candidate, threads, stages, x_f16) <= 48 * 1024)
      rows = candidate;
  return rows;
}

}  // namespace

KernelKey matvec_q8_0_key(const MatvecQ8_0Config& config) {
  KILN_CHECK(config.n_rows > 0 && config.n_cols > 0 && config.n_cols % kQ8_0BlockElems == 0,
             "matvec_q8_0: need n_rows > 0 and n_cols a positive multiple of 32, got ", config.n_rows, " x ",
             config.n_cols);
  const int threads = config.threads ? config.threads : choose_threads(config.n_cols);
  const int stages = config.stages ? config.stages : 3;
  const int rows = config.rows_per_block ? config.rows_per_block
                                         : choose_rows_per_block(config.n_rows, threads, stages, config.x_f16, config.sm_count);
  KILN_CHECK(threads % 32 == 0 && threads <= 1024 && rows >= 1 && rows <= threads && stages >= 1 && stages <= 8,
             "matvec_q8_0: bad tuning (rows_per_block ", rows, ", threads ", threads, ", stages ", stages, ")");
  KernelKey key;
  key.kernel = "matvec_q8_0";
  key.file = "matvec_q8_0.cuh";
  key.constants = {{"n_cols", config.n_cols, ConstKind::shape},
                   {"n_rows", config.n_rows, ConstKind::shape},
                   {"rows_per_block", rows, ConstKind::tuning},
                   {"threads", threads, ConstKind::tuning},
                   {"stages", stages, ConstKind::tuning},
                   {"x_f16", config.x_f16, ConstKind::variant}};
  key.dynamic_smem_bytes = matvec_q8_0_smem_bytes(rows, threads, stages, config.x_f16);
  return key;
}

LaunchDims matvec_q8_0_launch(const KernelKey& key, int n_rows, int n_cols) {
  const int rows = static_cast<int>(key.get("rows_per_block"));
  LaunchDims dims;
  dims.grid = dim3(static_cast<unsigned>((n_rows + rows - 1) / rows));
  dims.block = dim3(static_cast<unsigned>(key.get("threads")));
  dims.smem_bytes = static_cast<size_t>(matvec_q8_0_smem_bytes(rows, static_cast<int>(key.get("threads")),
                                                                static_cast<int>(key.get("stages")),
                                                                static_cast<int>(key.get("x_f16"))));
  return dims;
}

}  // namespace kiln::jit
