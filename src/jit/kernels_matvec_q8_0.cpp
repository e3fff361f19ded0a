#include <algorithm>

#include "jit/builtin_kernels.h"
#include "kernels/matvec_q8_0_params.h"
#include "util/error.h"

namespace kiln::jit {

namespace {

// Rows per block: as many as keep the staged bytes within 32 KB (several blocks per SM stay
// resident, so loads of the next block overlap the math of this one) while still giving
// every SM at least two blocks; more rows per block means fewer reads of x.
int choose_rows_per_block(int n_rows, int n_cols, int sm_count) {
  const int row_bytes = n_cols / kQ8_0BlockElems * kQ8_0BlockBytes;
  int rows = 1;
  for (int candidate : {2, 4, 8})
    if (candidate * row_bytes <= 32 * 1024 && (n_rows + candidate - 1) / candidate >= 2 * sm_count) rows = candidate;
  return rows;
}

// Threads: one column block (32 weights) per thread and pass, up to 256.
int choose_threads(int n_cols) {
  const int blocks_per_row = n_cols / kQ8_0BlockElems;
  return blocks_per_row >= 256 ? 256 : blocks_per_row >= 96 ? 128 : 64;
}

}  // namespace

KernelKey matvec_q8_0_key(const MatvecQ8_0Config& config) {
  KILN_CHECK(config.n_rows > 0 && config.n_cols > 0 && config.n_cols % kQ8_0BlockElems == 0,
             "matvec_q8_0: need n_rows > 0 and n_cols a positive multiple of 32, got ", config.n_rows, " x ",
             config.n_cols);
  const int rows = config.rows_per_block ? config.rows_per_block : choose_rows_per_block(config.n_rows, config.n_cols, config.sm_count);
  const int threads = config.threads ? config.threads : choose_threads(config.n_cols);
  KILN_CHECK(threads % 32 == 0 && threads <= 1024 && rows >= 1 && rows <= threads,
             "matvec_q8_0: bad tuning (rows_per_block ", rows, ", threads ", threads, ")");
  KernelKey key;
  key.kernel = "matvec_q8_0";
  key.file = "matvec_q8_0.cuh";
  key.constants = {{"n_cols", config.n_cols, ConstKind::shape},
                   {"n_rows", config.n_rows, ConstKind::shape},
                   {"rows_per_block", rows, ConstKind::tuning},
                   {"threads", threads, ConstKind::tuning},
                   {"x_f16", config.x_f16, ConstKind::variant}};
  key.dynamic_smem_bytes = matvec_q8_0_smem_bytes(rows, config.n_cols);
  return key;
}

LaunchDims matvec_q8_0_launch(const KernelKey& key, int n_rows, int n_cols) {
  const int rows = static_cast<int>(key.get("rows_per_block"));
  LaunchDims dims;
  dims.grid = dim3(static_cast<unsigned>((n_rows + rows - 1) / rows));
  dims.block = dim3(static_cast<unsigned>(key.get("threads")));
  dims.smem_bytes = static_cast<size_t>(matvec_q8_0_smem_bytes(rows, n_cols));
  return dims;
}

}  // namespace kiln::jit
