#pragma once
// Quantized matrix products over q8r weights (engine/q8_0_repack.h): out[m][n] (op)= A[m][:] · W[n][:]
// with A f16 [m][k]. Picks the kernel and its tiles for a shape and a token count, and launches:
//   m <= 8: matvec_q8r_stream (decode; weights streamed once through a shared-memory ring by TMA,
//           one CTA per SM, tensor-core dot products), or matvec_q8r (one block per 16 rows,
//           loads straight to registers) where the stream kernel cannot run the shape or target,
//   m >  8: gemm_q8_0 (prefill; wgmma warp-specialized on sm_90, mma.sync elsewhere).
// Keys are chosen per token-count bucket (the smallest of kMatmulBuckets >= m, capped at the
// last), so a plan enumerates every kernel it can need up front with matmul_keys().
// The key builders are inline (header-only) so that tests/jit can enumerate keys without the
// engine library; launching lives in matmul.cpp.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>
#include <vector>

#include "jit/kernel.h"
#include "jit/key.h"
#include "kernels/gemm_q8_0_params.h"
#include "kernels/matvec_q8r_params.h"
#include "util/error.h"

namespace kiln::engine {

enum class MatmulOut {
  f16 = kMatmulOutF16,             // out f16 = A·Wᵀ (+ bias)
  f32 = kMatmulOutF32,             // out f32 = A·Wᵀ (+ bias)
  add_f32 = kMatmulOutAddF32,      // out f32 += A·Wᵀ (+ bias): residual stream
  gated_f16 = kMatmulOutGatedF16,  // out f16 = act(A·W_gateᵀ (+ bias)) * (A·W_upᵀ (+ bias_up))
};
enum class MatmulAct { none = kMatmulActNone, silu = kMatmulActSilu, gelu_tanh = kMatmulActGeluTanh };

// What a plan knows about one weight product: the shape constants of its keys.
struct MatmulShape {
  int n = 0;  // output features: rows of W (gated: rows of each of W_gate and W_up)
  int k = 0;  // input features, a multiple of 32
  MatmulOut out = MatmulOut::f16;
  MatmulAct act = MatmulAct::none;  // gated only
  bool has_bias = false;
  // add_f32 on the mat-vec only (m <= 8): the product's last block also writes the RMS norm of
  // the rows it completed, f16, the next product's input (MatmulArgs' norm fields).
  bool norm = false;
  // matvec_q8r_stream only (matvec_takes_norm): A is f32 rows of the residual stream, which the
  // product RMS-normalizes itself (MatmulArgs' in_norm fields) instead of reading an f16 input
  // that an rmsnorm kernel or the previous product's norm epilogue wrote.
  bool in_norm = false;
};

// The GPU the keys are for (keys must not depend on the machine that precompiles them).
struct MatmulTarget {
  int sm_count = 132;  // H100 SXM
  int cc_major = 9;    // >= 9: the wgmma GEMM (needs sm_90a)
};

// Tuning overrides (benchmarks, tests): 0 / -1 = the heuristic's choice.
struct MatmulTuning {
  int tile_m = 0;    // GEMM tokens per CTA
  int stages = 0;    // GEMM pipeline depth
  int wgmma = -1;    // GEMM path: 1 wgmma (sm_90a), 0 mma.sync
  int noinc = -1;    // wgmma GEMM: 1 copies publish their stage themselves, 0 the producer does
  int tma = -1;      // wgmma GEMM: 1 activations by TMA, 0 by cp.async
  int cluster = 0;   // wgmma GEMM with TMA: CTAs per cluster sharing the activation tile (1, 2, 4)
  int warps = 0;     // matvec warps per block
  int unroll = 0;    // matvec groups in flight per warp
  int min_blocks = 0;  // matvec blocks per SM its registers must allow
  int prefetch_kib = -1;  // matvec: weights asked of L2 before waiting for the previous kernel
  int stream = -1;        // mat-vec kernel: matvec_q8r_stream where the shape allows (default), 0 matvec_q8r
  int chunk = 0;          // matvec_q8r_stream: weights of K per ring stage
  int stream_stages = 0;  // matvec_q8r_stream: ring stages
  bool force_gemm = false;  // use gemm_q8_0 even for m <= 8
};

// q8r weights in device memory.
struct MatmulWeights {
  const void* qs = nullptr;  // int8 [n][k_padded]
  const void* d = nullptr;   // f16 [n][k_padded / 32]
};

// One launch's data (device pointers). a: f16 [m][lda]; out: [m][ldo] f16 or f32.
struct MatmulArgs {
  const void* a = nullptr;
  int lda = 0;
  MatmulWeights w;     // W (gated: W_gate)
  MatmulWeights w_up;  // gated only
  const float* bias = nullptr;     // [n] when has_bias
  const float* bias_up = nullptr;  // gated with bias
  void* out = nullptr;
  int ldo = 0;
  int m = 0;
  // Shapes with norm: out rows -> norm_out f16 [m][n] = rmsnorm(row) * norm_weight.
  const float* norm_weight = nullptr;  // f32 [n]
  void* norm_out = nullptr;
  int* norm_counter = nullptr;  // device int, 0 between launches (the kernel leaves it so)
  float norm_eps = 0.f;
  // Shapes with in_norm: a is f32 [m][lda] (lda a multiple of 4), normalized with these weights.
  const float* in_norm_weight = nullptr;  // f32 [k]
  float in_norm_eps = 0.f;
};

// Token-count buckets; m > 512 uses the 512 bucket's kernels (any m is correct).
inline const std::vector<int>& matmul_buckets() {
  static const std::vector<int> buckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  return buckets;
}
inline int matmul_bucket(int m) {
  for (int b : matmul_buckets())
    if (m <= b) return b;
  return matmul_buckets().back();
}
constexpr int kMatvecMaxTokens = 8;
// Whether the wgmma GEMM loads activations with TMA unless told otherwise (see notes/matmul.md).
constexpr int kMatmulDefaultTma = 1;
// CTAs per cluster of the TMA GEMM unless told otherwise (2 and 4 share the activation tile by
// multicast; measured slower so far on H100, see notes/matmul.md).
constexpr int kMatmulDefaultCluster = 1;

namespace matmul_detail {

inline bool gated(const MatmulShape& s) { return s.out == MatmulOut::gated_f16; }

inline void check_shape(const MatmulShape& s) {
  KILN_CHECK(s.n >= 1 && s.k >= 32 && s.k % 32 == 0, "matmul: need n >= 1 and k a positive multiple of 32, got n=",
             s.n, " k=", s.k);
  KILN_CHECK(gated(s) || s.act == MatmulAct::none, "matmul: an activation needs the gated output (n=", s.n,
             " k=", s.k, ")");
  KILN_CHECK(!s.norm || s.out == MatmulOut::add_f32, "matmul: the norm epilogue needs the add_f32 output (n=", s.n,
             " k=", s.k, ")");
}

// Refuses an in_norm shape in a kernel other than matvec_q8r_stream.
inline void check_no_in_norm(const MatmulShape& s, const char* kernel) {
  KILN_CHECK(!s.in_norm, kernel, ": no input norm (matvec_q8r_stream's only; n=", s.n, " k=", s.k, ")");
}

// Weight tiles of TILE_N rows over the output features.
inline int weight_tiles(const MatmulShape& s, int tile_n) {
  const int features_per_tile = gated(s) ? tile_n / 2 : tile_n;
  return (s.n + features_per_tile - 1) / features_per_tile;
}

// GEMM tokens per CTA: the candidate that minimizes waves x (tile_m + 256), i.e. the time of the
// last wave when a CTA costs its tokens plus a fixed part. The fixed part was measured on H100
// (notes/matmul.md): a 128-token CTA takes ~0.75 of a 256-token one at every llama-8b shape, so
// the per-stage latency is worth ~256 tokens of work. Ties go to the larger tile.
inline int choose_tile_m(const MatmulShape& s, int bucket, int tile_n, int sm_count, bool wgmma) {
  const std::vector<int> candidates = wgmma ? std::vector<int>{16, 32, 64, 128, 256} : std::vector<int>{16, 32, 64, 128};
  const int n_tiles = weight_tiles(s, tile_n);
  int best = candidates.front();
  double best_cost = 1e30;
  for (int tile_m : candidates) {
    if (tile_m > 16 && tile_m / 2 >= bucket) break;  // a tile at least twice the tokens wastes the tensor cores
    const int ctas = (bucket + tile_m - 1) / tile_m * n_tiles;
    const int waves = (ctas + sm_count - 1) / sm_count;
    const double cost = waves * (tile_m + 256.0);
    if (cost <= best_cost) {
      best_cost = cost;
      best = tile_m;
    }
  }
  return best;
}

// Pipeline depth: as many stages as fit in 227 KB of shared memory, at most 8.
inline int choose_stages(int tile_n, int tile_m, bool wgmma) {
  int stages = 2;
  for (int s = 3; s <= 8; ++s)
    if (gemm_q8_0_smem_bytes(tile_n, tile_m, s, wgmma) <= 227 * 1024) stages = s;
  return stages;
}

inline jit::Constant shape_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::shape}; }
inline jit::Constant tuning_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::tuning}; }
inline jit::Constant variant_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::variant}; }

// The constants both mat-vecs' keys start with: the shape, the epilogue and the token bucket.
inline std::vector<jit::Constant> matvec_constants(const MatmulShape& s, int max_tokens) {
  return {shape_const("k", s.k),
          shape_const("n", s.n),
          variant_const("out_kind", static_cast<int>(s.out)),
          variant_const("act", static_cast<int>(s.act)),
          variant_const("has_bias", s.has_bias),
          variant_const("norm", s.norm),
          tuning_const("max_tokens", max_tokens)};
}

}  // namespace matmul_detail

// Weights the mat-vec prefetches into L2 while the kernel before it drains: about what DRAM
// delivers in the microsecond or two of a kernel's tail, far under L2's 50 MB. 4 MiB measured
// best on H100 (8 and 16 MiB slower, notes/decode.md).
constexpr int kMatvecPrefetchKib = 4 * 1024;

// Blocks per SM a mat-vec's registers must allow (__launch_bounds__' second argument), by its
// unroll. Left to itself ptxas picked 54 registers on some shapes (qwen2-7b's, decoding 6%
// slower) and 72-74 on others: a budget makes it keep the main loop's loads in flight. Measured
// on H100 (notes/decode.md):
// - unroll <= 2: a budget of 2 blocks (128 registers): ptxas then takes 64-80 on every
//   specialized shape, still 3 blocks of 8 warps per SM, and decode runs 0.2-2% faster than under
//   the 3-block budget on all five dense presets. (The generic build keeps 3: kernels/matvec_q8r.cuh.)
// - unroll 3 (a warp's 3 groups in one trip, qwen2-1.5b's k = 1536): 3 blocks (85 registers).
inline int matvec_min_blocks(int unroll) { return unroll <= 2 ? 2 : 3; }

// matvec_q8r<k, n, out_kind, act, has_bias, norm, max_tokens, warps, unroll, min_blocks, prefetch_kib>
inline jit::KernelKey matvec_q8r_blocks_key(const MatmulShape& s, int max_tokens, const MatmulTuning& tuning = {}) {
  using namespace matmul_detail;
  check_shape(s);
  check_no_in_norm(s, "matvec_q8r");
  KILN_CHECK(max_tokens >= 1 && max_tokens <= kMatvecMaxTokens, "matvec_q8r: max_tokens must be 1..8, got ",
             max_tokens);
  // Warps split K by 64-weight groups; each lane keeps `unroll` groups (2 x 16 B of weights and
  // 8 words of x each) in flight per loop trip. Measured on H100 (notes/matmul.md, decode.md):
  // 8 warps x 2 groups streams best (2.9 TB/s on the LM head); deeper unrolling costs
  // occupancy, except where a warp has 3 groups: all of them in one trip (qwen2-1.5b's
  // k = 1536). 4 in one trip (qwen2-3b's k = 2048) spilled under any budget that keeps 3 blocks
  // per SM and decoded 2.7% slower than two trips of 2.
  const int groups = (s.k + 63) / 64;
  const int warps = tuning.warps ? tuning.warps : 8;
  const int per_warp = (groups + warps - 1) / warps;
  const int unroll = tuning.unroll ? tuning.unroll : per_warp <= 3 ? per_warp : 2;
  jit::KernelKey key;
  key.kernel = "matvec_q8r";
  key.file = "matvec_q8r.cuh";
  key.constants = matvec_constants(s, max_tokens);
  const int min_blocks = tuning.min_blocks ? tuning.min_blocks : matvec_min_blocks(unroll);
  const int prefetch_kib = tuning.prefetch_kib >= 0 ? tuning.prefetch_kib : kMatvecPrefetchKib;
  key.constants.insert(key.constants.end(), {tuning_const("warps", warps), tuning_const("unroll", unroll),
                                             tuning_const("min_blocks", min_blocks),
                                             tuning_const("prefetch_kib", prefetch_kib)});
  return key;
}

// Whether matvec_q8r_stream can run a shape: K in whole 256-weight units (its chunks and scale
// rows are whole 16-byte copies) and whole 16-row tiles.
inline bool matvec_stream_fits(const MatmulShape& s) {
  return s.k % 256 == 0 && s.n % (s.out == MatmulOut::gated_f16 ? 8 : 16) == 0;
}

// matvec_q8r_stream's defaults (kernels/matvec_q8r_stream.cuh), measured on H100 (notes/decode.md):
// 8 consumer warps; chunks of 2048 weights in 3 stages, 123 KB of shared memory at one token, so
// that two of these CTAs never share an SM (2048 x 2 and 1024 x 4, which let the next product's
// CTA in beside this one, decoded 8-15% slower end to end). Deeper rings at one CTA per SM (4-6
// stages, up to 220 KB: EngineOptions::stream_stages) are written but not yet measured.
constexpr int kMatvecStreamConsumers = 8;
constexpr int kMatvecStreamChunk = 2048;
constexpr int kMatvecStreamStages = 3;

// matvec_q8r_stream's shared memory for a shape at a tuning (kernels/matvec_q8r_params.h).
inline int matvec_stream_smem(const MatmulShape& s, int max_tokens, const MatmulTuning& tuning = {}) {
  return matvec_stream_smem_bytes(tuning.chunk ? tuning.chunk : kMatvecStreamChunk,
                                  tuning.stream_stages ? tuning.stream_stages : kMatvecStreamStages,
                                  kMatvecStreamConsumers, max_tokens, s.in_norm ? s.k : 0);
}

// matvec_q8r_stream<k, n, out_kind, act, has_bias, norm, max_tokens, consumers, chunk, stages, in_norm>
inline jit::KernelKey matvec_q8r_stream_key(const MatmulShape& s, int max_tokens, const MatmulTuning& tuning = {}) {
  using namespace matmul_detail;
  check_shape(s);
  KILN_CHECK(matvec_stream_fits(s), "matvec_q8r_stream: needs k % 256 == 0 and whole tiles, got n=", s.n, " k=", s.k);
  KILN_CHECK(max_tokens >= 1 && max_tokens <= kMatvecMaxTokens, "matvec_q8r_stream: max_tokens must be 1..8, got ",
             max_tokens);
  const int consumers = kMatvecStreamConsumers;
  const int chunk = tuning.chunk ? tuning.chunk : kMatvecStreamChunk;
  const int stages = tuning.stream_stages ? tuning.stream_stages : kMatvecStreamStages;
  KILN_CHECK(chunk % 256 == 0 && stages >= 2 && matvec_stream_smem(s, max_tokens, tuning) <= 227 * 1024,
             "matvec_q8r_stream: bad tuning chunk=", chunk, " stages=", stages, " (max_tokens ", max_tokens,
             s.in_norm ? ", in_norm" : "", ")");
  jit::KernelKey key;
  key.kernel = "matvec_q8r_stream";
  key.file = "matvec_q8r_stream.cuh";
  key.constants = matvec_constants(s, max_tokens);
  key.constants.insert(key.constants.end(), {tuning_const("consumers", consumers), tuning_const("chunk", chunk),
                                             tuning_const("stages", stages), variant_const("in_norm", s.in_norm)});
  key.dynamic_smem_bytes = matvec_stream_smem(s, max_tokens, tuning);
  return key;
}

// matvec_q8r_stream's tiles for `s` (16 weight rows; gated: 8 of each matrix) and its grid: one
// CTA per SM, at most one per tile.
inline int matvec_stream_tiles(const MatmulShape& s) {
  return s.n / (s.out == MatmulOut::gated_f16 ? kMatvecQ8rRowsPerBlock / 2 : kMatvecQ8rRowsPerBlock);
}
inline int matvec_stream_ctas(const MatmulShape& s, int sm_count) {
  return std::max(1, std::min(matvec_stream_tiles(s), sm_count));
}

// Chunks of K the busiest CTA of matvec_q8r_stream streams for `s`: its tiles times the chunks
// of a tile, at the default chunk.
inline int matvec_stream_chunks_per_cta(const MatmulShape& s, int sm_count) {
  const int tiles = matvec_stream_tiles(s), ctas = matvec_stream_ctas(s, sm_count);
  return (tiles + ctas - 1) / ctas * ((s.k + kMatvecStreamChunk - 1) / kMatvecStreamChunk);
}

// The deepest ring of at most `most` stages (>= 2) that fits matvec_q8r_stream's shared memory for
// `s` at max_tokens (2 when none does: the key then refuses the shape).
inline int matvec_stream_stages_up_to(const MatmulShape& s, int max_tokens, int most) {
  int stages = 2;
  for (int n = 3; n <= most; ++n)
    if (matvec_stream_smem(s, max_tokens, {.stream_stages = n}) <= 227 * 1024) stages = n;
  return stages;
}

// Whether the decode mat-vec of `s` (s.in_norm aside) at max_tokens can normalize its own input
// (in_norm) on the target: where matvec_q8r_stream runs it at the default tuning and the
// normalized rows fit in shared memory beside the ring.
inline bool matvec_takes_norm(MatmulShape s, int max_tokens, const MatmulTarget& target) {
  s.in_norm = true;
  return target.cc_major >= 9 && matvec_stream_fits(s) && matvec_stream_smem(s, max_tokens) <= 227 * 1024;
}

// The decode mat-vec's key: matvec_q8r_stream where it runs the shape on the target (TMA: sm_90)
// and tuning.stream is not 0, else matvec_q8r.
inline jit::KernelKey matvec_q8r_key(const MatmulShape& s, int max_tokens, const MatmulTuning& tuning = {},
                                     const MatmulTarget& target = {}) {
  if (s.in_norm || (tuning.stream != 0 && target.cc_major >= 9 && matvec_stream_fits(s))) {
    KILN_CHECK(!s.in_norm || (tuning.stream != 0 && matvec_takes_norm(s, max_tokens, target)),
               "matmul: an input norm needs matvec_q8r_stream (matvec_takes_norm), n=", s.n, " k=", s.k);
    return matvec_q8r_stream_key(s, max_tokens, tuning);
  }
  return matvec_q8r_blocks_key(s, max_tokens, tuning);
}

// gemm_q8_0<k, n, out_kind, act, has_bias, tile_n, tile_m, warps_m, stages, wgmma, noinc, tma, cluster>
inline jit::KernelKey gemm_q8_0_key(const MatmulShape& s, int bucket, const MatmulTarget& target,
                                    const MatmulTuning& tuning = {}) {
  using namespace matmul_detail;
  check_shape(s);
  check_no_in_norm(s, "gemm_q8_0");
  KILN_CHECK(!s.norm, "gemm_q8_0: no norm epilogue (the mat-vec's only; n=", s.n, " k=", s.k, ")");
  const bool wgmma = tuning.wgmma >= 0 ? tuning.wgmma == 1 : target.cc_major >= 9;
  KILN_CHECK(!wgmma || target.cc_major >= 9, "gemm_q8_0: the wgmma path needs sm_90 (target cc ", target.cc_major,
             ")");
  const int tile_n = 128;
  const int tile_m = tuning.tile_m ? tuning.tile_m : choose_tile_m(s, bucket, tile_n, target.sm_count, wgmma);
  // mma.sync path: 8 warps; along tokens as many as keep a warp >= 16 tokens wide (max 4).
  const int warps_m = wgmma ? 0 : std::max(1, std::min(4, tile_m / 16));
  const int stages = tuning.stages ? tuning.stages : choose_stages(tile_n, tile_m, wgmma);
  const int tma = wgmma ? (tuning.tma >= 0 ? tuning.tma : kMatmulDefaultTma) : 0;
  // A cluster shares the token tile, each CTA loading tile_m / cluster rows (>= 8: a swizzle atom).
  int cluster = 1;
  if (tma) {
    cluster = tuning.cluster ? tuning.cluster : kMatmulDefaultCluster;
    while (cluster > 1 && tile_m / cluster < 8) cluster /= 2;
  }
  KILN_CHECK(cluster == 1 || cluster == 2 || cluster == 4, "gemm_q8_0: cluster must be 1, 2 or 4, got ", cluster);
  KILN_CHECK(tuning.cluster <= 1 || cluster == tuning.cluster, "gemm_q8_0: cluster ", tuning.cluster,
             " needs the TMA path and tile_m >= 8 * cluster (tile_m ", tile_m, ")");
  jit::KernelKey key;
  key.kernel = "gemm_q8_0";
  key.file = "gemm_q8_0.cuh";
  key.constants = {shape_const("k", s.k),
                   shape_const("n", s.n),
                   variant_const("out_kind", static_cast<int>(s.out)),
                   variant_const("act", static_cast<int>(s.act)),
                   variant_const("has_bias", s.has_bias),
                   tuning_const("tile_n", tile_n),
                   tuning_const("tile_m", tile_m),
                   tuning_const("warps_m", warps_m),
                   tuning_const("stages", stages),
                   tuning_const("wgmma", wgmma),
                   tuning_const("noinc", wgmma ? (tuning.noinc >= 0 ? tuning.noinc : 1) : 0),
                   tuning_const("tma", tma),
                   tuning_const("cluster", cluster)};
  key.dynamic_smem_bytes = gemm_q8_0_smem_bytes(tile_n, tile_m, stages, wgmma);
  return key;
}

// Whether a product of m tokens runs on matvec_q8r (else gemm_q8_0).
inline bool matmul_is_matvec(int m, const MatmulTuning& tuning = {}) {
  return matmul_bucket(m) <= kMatvecMaxTokens && !tuning.force_gemm;
}

// The key a product of m tokens uses.
inline jit::KernelKey matmul_key(const MatmulShape& s, int m, const MatmulTarget& target = {},
                                 const MatmulTuning& tuning = {}) {
  const int bucket = matmul_bucket(m);
  if (matmul_is_matvec(m, tuning)) return matvec_q8r_key(s, bucket, tuning, target);
  return gemm_q8_0_key(s, bucket, target, tuning);
}

// Every key a product needs for token counts 1..max_tokens (deduplicated, bucket order).
inline std::vector<jit::KernelKey> matmul_keys(const MatmulShape& s, int max_tokens, const MatmulTarget& target = {}) {
  std::vector<jit::KernelKey> keys;
  for (int b : matmul_buckets()) {
    jit::KernelKey key = matmul_key(s, b, target);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    if (b >= max_tokens) break;
  }
  return keys;
}

// Grid, block and shared memory of a launch of `key` (from matmul_key) for m tokens.
jit::LaunchDims matmul_dims(const jit::KernelKey& key, const MatmulShape& s, int m);

// Checks the arguments against the shape and launches `kernel` (loaded from matmul_key(s, m)).
// Throws kiln::Error naming the key on a mismatch or a launch failure.
void matmul_launch(const jit::Kernel& kernel, const MatmulShape& s, const MatmulArgs& args, cudaStream_t stream);

// For the kernels that launch products of their own (engine/matvec_chain.h): the argument checks
// every product passes (pointers, biases, strides, the input norm's weight; errors name `key`),
// the params with everything but the tensor maps, and the stream kernel's weight maps at a chunk
// (which checks the 16-byte alignment of the weights and of a).
void check_matmul_args(const jit::KernelKey& key, const MatmulShape& s, const MatmulArgs& args);
Q8MatmulParams matmul_params(const MatmulShape& s, const MatmulArgs& args);
void set_weight_maps(Q8MatmulParams& p, const jit::KernelKey& key, const MatmulShape& s, const MatmulArgs& args,
                     int chunk);

// Flops and bytes of one product (for rooflines): 2 m n k (x2 gated); weights + A + out.
double matmul_flops(const MatmulShape& s, int m);
double matmul_bytes(const MatmulShape& s, int m);

}  // namespace kiln::engine
