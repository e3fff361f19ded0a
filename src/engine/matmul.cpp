#include "engine/matmul.h"

#include <cuda.h>

#include <cstring>
#include <mutex>

#include "jit/cuda_check.h"
#include "jit/device.h"

namespace kiln::engine {

namespace {

bool is_gemm(const jit::KernelKey& key) { return key.kernel == "gemm_q8_0"; }
bool is_stream(const jit::KernelKey& key) { return key.kernel == "matvec_q8r_stream"; }

// cuTensorMapEncodeTiled from the driver, found through the runtime (kiln links no libcuda).
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
EncodeTiled encode_tiled() {
  static EncodeTiled fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult status{};
    KILN_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &status),
                    "matmul: looking up cuTensorMapEncodeTiled");
    KILN_CHECK(ptr && status == cudaDriverEntryPointSuccess, "matmul: the driver has no cuTensorMapEncodeTiled");
    return reinterpret_cast<EncodeTiled>(ptr);
  }();
  return fn;
}

// The activations as gemm_q8_0's TMA sees them (gemm_q8_0_params.h): f16 [m][k], row stride
// lda, box 64 x box_rows (tile_m / cluster: each CTA of a cluster loads its part), 128-byte
// swizzle, zeros outside.
Q8TensorMap activation_map(const jit::KernelKey& key, const MatmulArgs& args, int k, int box_rows) {
  static_assert(sizeof(Q8TensorMap) == sizeof(CUtensorMap), "Q8TensorMap must mirror CUtensorMap");
  CUtensorMap map;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(k), static_cast<cuuint64_t>(args.m)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(args.lda) * 2};
  const cuuint32_t box[2] = {64, static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult r = encode_tiled()(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, const_cast<void*>(args.a), dims, strides,
                                    box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  KILN_CHECK(r == CUDA_SUCCESS, key.str(), ": cuTensorMapEncodeTiled failed (error ", static_cast<int>(r), ") for m=",
             args.m, " k=", k, " lda=", args.lda, " a=", args.a);
  Q8TensorMap out;
  std::memcpy(&out, &map, sizeof(out));
  return out;
}

// One weight matrix's quants or scales as matvec_q8r_stream's TMA sees them (gemm_q8_0_params.h):
// bytes as a 3-D tensor {inner, row, unit} with rows row_bytes apart and units `inner` bytes apart,
// so that a box of {inner, 8 rows, depth units} is a chunk of 8 rows in one copy.
Q8TensorMap weight_map(const jit::KernelKey& key, const void* base, int n, int64_t row_bytes, int inner, int depth) {
  CUtensorMap map;
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(inner), static_cast<cuuint64_t>(n),
                              static_cast<cuuint64_t>(row_bytes / inner)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(row_bytes), static_cast<cuuint64_t>(inner)};
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(inner), 8, static_cast<cuuint32_t>(depth)};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult r = encode_tiled()(&map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 3, const_cast<void*>(base), dims, strides, box,
                                    element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                    CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  KILN_CHECK(r == CUDA_SUCCESS, key.str(), ": cuTensorMapEncodeTiled failed (error ", static_cast<int>(r),
             ") for weights at ", base, " n=", n, " row bytes ", row_bytes);
  Q8TensorMap out;
  std::memcpy(&out, &map, sizeof(out));
  return out;
}

}  // namespace

void check_matmul_args(const jit::KernelKey& key, const MatmulShape& s, const MatmulArgs& args) {
  const bool gated = s.out == MatmulOut::gated_f16;
  KILN_CHECK(args.m >= 1, key.str(), ": m must be >= 1, got ", args.m);
  KILN_CHECK(args.a && args.w.qs && args.w.d && args.out, key.str(), ": null a, weights or out");
  KILN_CHECK(!gated || (args.w_up.qs && args.w_up.d), key.str(), ": gated product without W_up");
  KILN_CHECK(!s.has_bias || (args.bias && (!gated || args.bias_up)), key.str(), ": has_bias but no bias given");
  const int row_align = s.in_norm ? 4 : 8;  // f32 or f16 elements in 16 bytes
  KILN_CHECK(args.lda >= s.k && args.lda % row_align == 0, key.str(), ": lda ", args.lda, " must be >= k (", s.k,
             ") and a multiple of ", row_align, " (16-byte rows)");
  KILN_CHECK(!s.in_norm || (args.in_norm_weight && reinterpret_cast<uintptr_t>(args.in_norm_weight) % 16 == 0),
             key.str(), ": the input norm needs its weight, 16-byte aligned");
  KILN_CHECK(args.ldo >= s.n, key.str(), ": ldo ", args.ldo, " < n ", s.n);
}

Q8MatmulParams matmul_params(const MatmulShape& s, const MatmulArgs& args) {
  Q8MatmulParams p{};
  p.a = args.a;
  p.w_qs = args.w.qs;
  p.w_d = args.w.d;
  p.w2_qs = args.w_up.qs;
  p.w2_d = args.w_up.d;
  p.bias = args.bias;
  p.bias2 = args.bias_up;
  p.out = args.out;
  p.m = args.m;
  p.n = s.n;
  p.k = s.k;
  p.lda = args.lda;
  p.ldo = args.ldo;
  p.norm_weight = args.norm_weight;
  p.norm_out = args.norm_out;
  p.norm_counter = args.norm_counter;
  p.norm_eps = args.norm_eps;
  p.in_norm_weight = args.in_norm_weight;
  p.in_norm_eps = args.in_norm_eps;
  return p;
}

void set_weight_maps(Q8MatmulParams& p, const jit::KernelKey& key, const MatmulShape& s, const MatmulArgs& args,
                     int chunk) {
  const MatmulWeights* matrices[2] = {&args.w, s.out == MatmulOut::gated_f16 ? &args.w_up : nullptr};
  const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  for (int j = 0; j < 2 && matrices[j]; ++j)
    KILN_CHECK(aligned(matrices[j]->qs) && aligned(matrices[j]->d), key.str(),
               ": weights must be 16-byte aligned (TMA)");
  KILN_CHECK(aligned(args.a), key.str(), ": a must be 16-byte aligned (bulk copies, vector loads)");
  for (int j = 0; j < 2 && matrices[j]; ++j) {
    p.w_maps[2 * j] = weight_map(key, matrices[j]->qs, s.n, s.k, kQ8rGroup, chunk / kQ8rGroup);
    p.w_maps[2 * j + 1] = weight_map(key, matrices[j]->d, s.n, s.k / 16, 16, chunk / 256);
  }
}

jit::LaunchDims matmul_dims(const jit::KernelKey& key, const MatmulShape& s, int m) {
  jit::LaunchDims dims;
  const bool gated = s.out == MatmulOut::gated_f16;
  if (is_gemm(key)) {
    const int tile_n = static_cast<int>(key.get("tile_n")), tile_m = static_cast<int>(key.get("tile_m"));
    const int stages = static_cast<int>(key.get("stages"));
    const bool wgmma = key.get("wgmma") != 0;
    const int cluster = static_cast<int>(key.get("cluster"));
    const int n_tiles = (matmul_detail::weight_tiles(s, tile_n) + cluster - 1) / cluster * cluster;
    const long long ctas = static_cast<long long>((m + tile_m - 1) / tile_m) * n_tiles;
    dims.grid = dim3(static_cast<unsigned>(ctas));
    dims.block = dim3(wgmma ? 384 : 256);
    dims.smem_bytes = static_cast<size_t>(gemm_q8_0_smem_bytes(tile_n, tile_m, stages, wgmma));
  } else if (is_stream(key)) {
    const int consumers = static_cast<int>(key.get("consumers"));
    dims.grid = dim3(static_cast<unsigned>(matvec_stream_ctas(s, jit::Device::current().sm_count)));
    dims.block = dim3(static_cast<unsigned>(32 * (consumers + 1)));
    dims.smem_bytes = static_cast<size_t>(
        matvec_stream_smem_bytes(static_cast<int>(key.get("chunk")), static_cast<int>(key.get("stages")), consumers,
                                 static_cast<int>(key.get("max_tokens")), key.get("in_norm") ? s.k : 0));
  } else {
    const int features_per_block = gated ? kMatvecQ8rRowsPerBlock / 2 : kMatvecQ8rRowsPerBlock;
    dims.grid = dim3(static_cast<unsigned>((s.n + features_per_block - 1) / features_per_block));
    dims.block = dim3(static_cast<unsigned>(32 * key.get("warps")));
    dims.smem_bytes = 0;
  }
  return dims;
}

void matmul_launch(const jit::Kernel& kernel, const MatmulShape& s, const MatmulArgs& args, cudaStream_t stream) {
  const jit::KernelKey& key = kernel.key();
  const bool gated = s.out == MatmulOut::gated_f16;
  const bool in_norm = is_stream(key) && key.get("in_norm");
  KILN_CHECK(in_norm == s.in_norm, key.str(), ": launched for a shape with", s.in_norm ? "" : "out", " an input norm");
  check_matmul_args(key, s, args);
  const int64_t key_k = key.get("k"), key_n = key.get("n");
  KILN_CHECK((key_k == 0 || key_k == s.k) && (key_n == 0 || key_n == s.n), key.str(), ": launched for n=", s.n,
             " k=", s.k);
  if (!is_gemm(key)) {
    KILN_CHECK(args.m <= key.get("max_tokens"), key.str(), ": m=", args.m, " exceeds max_tokens");
    const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    KILN_CHECK(aligned(args.w.qs) && aligned(args.w.d) && (!gated || (aligned(args.w_up.qs) && aligned(args.w_up.d))),
               key.str(), ": weights must be 16-byte aligned (L2 prefetch, TMA)");
    KILN_CHECK(!is_stream(key) || matvec_stream_fits(s), key.str(), ": launched for a shape it cannot run");
    KILN_CHECK(!key.get("norm") || (args.norm_weight && args.norm_out && args.norm_counter), key.str(),
               ": the norm epilogue needs its weight, output and counter");
  }

  Q8MatmulParams p = matmul_params(s, args);
  if (is_gemm(key) && key.get("tma") != 0) {
    KILN_CHECK(reinterpret_cast<uintptr_t>(args.a) % 16 == 0, key.str(), ": a must be 16-byte aligned for TMA");
    p.a_map = activation_map(key, args, s.k, static_cast<int>(key.get("tile_m") / key.get("cluster")));
  }
  if (is_stream(key)) set_weight_maps(p, key, s, args, static_cast<int>(key.get("chunk")));
  kernel.launch(matmul_dims(key, s, args.m), stream, p);
}

double matmul_flops(const MatmulShape& s, int m) {
  return 2.0 * m * s.n * static_cast<double>(s.k) * (s.out == MatmulOut::gated_f16 ? 2 : 1);
}

double matmul_bytes(const MatmulShape& s, int m) {
  const double k_padded = (s.k + 63) / 64 * 64.0;
  const double matrices = s.out == MatmulOut::gated_f16 ? 2 : 1;
  const double weights = matrices * s.n * k_padded * (1.0 + 2.0 / 32);
  const double out_bytes = s.out == MatmulOut::f32 ? 4 : s.out == MatmulOut::add_f32 ? 8 : 2;
  return weights + 2.0 * m * s.k + out_bytes * m * s.n;
}

}  // namespace kiln::engine
