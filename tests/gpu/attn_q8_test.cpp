// The q8_0 KV cache on the GPU: kv_write's quantization, attn_decode reading q8_0 K and/or V
// natively, and prefill through kv_dequant's f16 view, against float64 references, both builds.
//
// The reference applies the same q8_0 rounding: the pools are quantized on the host (ggml's
// rule, kernels/kv_types.h) and the reference attends over the values the kernels compute from
// them, f16(q * d). With identical inputs the error sources are exactly those of the f16 cache
// (tests/gpu/attn_test.cpp derives them): P rounded to f16 for P.V, f32 accumulation and the f16
// output, so the same tolerance holds: 2^-10 (max|V| + |O_ref|) + n_keys 2^-24 max|V|, with
// max|V| <= 1.001 (|q d| <= 127 f16(amax / 127) exceeds amax = 1 by at most one f16 rounding).
// Unowned slots and pages hold random quants and NaN scales: the zero fill past kv_len must keep
// them out. The q8_0 values come from [-1, 1] like the f16 test's.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>

#include "attn_batch.h"
#include "engine/attention.h"
#include "jit_gpu_util.h"

namespace kiln::engine {
namespace {

using jit::Mode;
using jit::testing::DeviceBytes;
using jit::testing::f16_to_f32;
using jit::testing::f32_to_f16;
using jit::testing::library_for;

// ggml's q8_0 of one 32-value block, in the kernel's exact f32 operations.
void quantize_block(const float* x, int8_t* q, uint16_t* scale) {
  float amax = 0.f;
  for (int i = 0; i < kKvQ8Block; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.f;
  const float id = d != 0.f ? 1.f / d : 0.f;
  for (int i = 0; i < kKvQ8Block; ++i) q[i] = static_cast<int8_t>(static_cast<int>(std::round(x[i] * id)));
  *scale = f32_to_f16(d);
}

// The value the kernels use for quant q with scale bits s: f16(q * d), one rounding.
float q8_value(int8_t q, uint16_t s) { return f16_to_f32(f32_to_f16(float(q) * f16_to_f32(s))); }

// One pool of `type` holding rows of logical [seq][pos][kv head][D] values at shuffled pages.
struct HostPool {
  int type, D, HK, P;
  std::vector<uint8_t> bytes;
  size_t block_bytes() const { return size_t(P) * kv_row_bytes(type, D); }
  HostPool(int type_, int D_, int HK_, int P_, int n_pages, std::mt19937_64& rng) : type(type_), D(D_), HK(HK_), P(P_) {
    bytes.resize(block_bytes() * HK * n_pages);
    // Garbage everywhere: random quants / NaN f16 values, NaN scales.
    for (size_t b = 0; b < size_t(HK) * n_pages; ++b) {
      uint8_t* blk = bytes.data() + b * block_bytes();
      if (type == kKvF16) {
        for (size_t i = 0; i < block_bytes() / 2; ++i) reinterpret_cast<uint16_t*>(blk)[i] = 0x7e00;
      } else {
        for (size_t i = 0; i < size_t(P) * D; ++i) blk[i] = uint8_t(rng());
        for (size_t i = 0; i < size_t(P) * D / kKvQ8Block; ++i)
          reinterpret_cast<uint16_t*>(blk + size_t(P) * D)[i] = 0x7e00;
      }
    }
  }
  // Stores row `x` (D values) at (page, head, slot); returns the values the kernels will see.
  std::vector<float> put(int page, int head, int slot, const float* x) {
    uint8_t* blk = bytes.data() + (size_t(page) * HK + head) * block_bytes();
    std::vector<float> seen(D);
    if (type == kKvF16) {
      uint16_t* row = reinterpret_cast<uint16_t*>(blk) + size_t(slot) * D;
      for (int d = 0; d < D; ++d) seen[d] = f16_to_f32(row[d] = f32_to_f16(x[d]));
      return seen;
    }
    int8_t* quants = reinterpret_cast<int8_t*>(blk) + size_t(slot) * D;
    uint16_t* scales = reinterpret_cast<uint16_t*>(blk + size_t(P) * D) + size_t(slot) * (D / kKvQ8Block);
    for (int b = 0; b < D / kKvQ8Block; ++b) {
      quantize_block(x + b * kKvQ8Block, quants + b * kKvQ8Block, scales + b);
      for (int i = 0; i < kKvQ8Block; ++i) seen[b * kKvQ8Block + i] = q8_value(quants[b * kKvQ8Block + i], scales[b]);
    }
    return seen;
  }
};

struct Case {
  AttnShape shape;             // k_type / v_type select the pools
  std::vector<std::pair<int, int>> seqs;  // (n_q, depth)
  bool decode = true;
  int splits = 0;              // decode: 0 = the heuristic's
};

int choose_decode_stages_for_test(const AttnShape& s) {
  return static_cast<int>(attn_decode_key(s).get("stages"));
}

std::string describe(const Case& c, Mode mode) {
  std::string s = std::string(jit::mode_name(mode)) + (c.decode ? " decode" : " prefill") + " k_type=" +
                  std::to_string(c.shape.k_type) + " v_type=" + std::to_string(c.shape.v_type) +
                  " head_dim=" + std::to_string(c.shape.head_dim) + " heads=" + std::to_string(c.shape.n_heads) + "/" +
                  std::to_string(c.shape.n_kv_heads) + " window=" + std::to_string(c.shape.window) +
                  " splits=" + std::to_string(c.splits) + " seqs=";
  for (auto [n, d] : c.seqs) s += std::to_string(n) + "@" + std::to_string(d) + " ";
  return s;
}

double run_case(const Case& c, Mode mode, uint64_t seed) {
  const AttnShape& s = c.shape;
  const int D = s.head_dim, H = s.n_heads, HK = s.n_kv_heads, gqa = s.gqa(), P = s.page_size;
  const int n_seqs = int(c.seqs.size());
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(-1.f, 1.f);

  // Batch layout and page assignment (pages shuffled across sequences).
  const testing::PagedBatch batch = testing::make_paged_batch(c.seqs, P, rng);
  const std::vector<int32_t>& q_start = batch.q_start;
  const std::vector<int32_t>& kv_len = batch.kv_len;
  const std::vector<int32_t>& table = batch.table;
  const int max_pages = batch.max_pages, n_pages = batch.n_pages, n_tokens = batch.n_tokens;

  HostPool k_pool(s.k_type, D, HK, P, n_pages, rng), v_pool(s.v_type, D, HK, P, n_pages, rng);
  std::vector<std::vector<float>> k_ref(n_seqs), v_ref(n_seqs);  // [pos][kv head][D], as the kernels see them
  std::vector<float> x(D);
  for (int si = 0; si < n_seqs; ++si)
    for (int pos = 0; pos < kv_len[si]; ++pos)
      for (int h = 0; h < HK; ++h) {
        const int page = table[size_t(si) * max_pages + pos / P];
        for (float& v : x) v = unit(rng);
        auto kv = k_pool.put(page, h, pos % P, x.data());
        k_ref[si].insert(k_ref[si].end(), kv.begin(), kv.end());
        for (float& v : x) v = unit(rng);
        kv = v_pool.put(page, h, pos % P, x.data());
        v_ref[si].insert(v_ref[si].end(), kv.begin(), kv.end());
      }
  std::vector<uint16_t> q(size_t(n_tokens) * H * D);
  for (auto& v : q) v = f32_to_f16(unit(rng) * 3.f);
  const float scale = 2.f / std::sqrt(float(D));

  DeviceBytes d_q(q.size() * 2), d_out(q.size() * 2), d_k(k_pool.bytes.size()), d_v(v_pool.bytes.size());
  DeviceBytes d_q_start(q_start.size() * 4), d_kv_len(kv_len.size() * 4), d_table(table.size() * 4);
  d_q.upload(q);
  d_k.upload(k_pool.bytes);
  d_v.upload(v_pool.bytes);
  d_q_start.upload(q_start);
  d_kv_len.upload(kv_len);
  d_table.upload(table);
  d_out.poison();
  int max_q = 0;
  for (auto [n_q, depth] : c.seqs) max_q = std::max(max_q, n_q);
  const uint64_t ws_bytes = testing::attn_test_workspace_bytes(s, n_seqs, max_q);
  DeviceBytes d_ws(ws_bytes);

  AttnArgs a;
  a.q = d_q.get();
  a.k_pool = d_k.get();
  a.v_pool = d_v.get();
  a.out = d_out.get();
  a.scale = scale;
  a.batch.q_start = d_q_start.get<int32_t>();
  a.batch.kv_len = d_kv_len.get<int32_t>();
  a.batch.page_table = d_table.get<int32_t>();
  a.batch.max_pages = max_pages;
  a.batch.n_seqs = n_seqs;
  a.batch.n_tokens = n_tokens;
  for (auto [n_q, depth] : c.seqs) a.batch.max_q = std::max(a.batch.max_q, n_q);
  a.workspace = d_ws.get<float>();
  a.workspace_bytes = ws_bytes;

  jit::Library& lib = library_for(mode);
  const uint64_t view_pool = uint64_t(n_seqs) * max_pages * HK * P * D * 2;
  DeviceBytes d_view(2 * view_pool), d_identity(size_t(n_seqs) * max_pages * 4);
  if (c.decode) {
    testing::launch_decode(lib, lib.get(attn_decode_key(s)), s, a, kv_len, c.splits);
  } else {
    std::vector<int32_t> identity(size_t(n_seqs) * max_pages);
    std::iota(identity.begin(), identity.end(), 0);
    d_identity.upload(identity);
    d_view.poison();
    const AttnArgs view = kv_dequant_launch(lib.get(kv_dequant_key(s)), s, a, d_view.get(),
                                            d_view.get<char>(view_pool), view_pool, d_identity.get<int32_t>(), nullptr);
    testing::launch_prefill(lib, attn_prefill_key(s, n_tokens, n_seqs), s, view, kv_len);
  }
  jit::testing::sync_and_check(describe(c, mode));
  const std::vector<uint16_t> out = d_out.download<uint16_t>(q.size());

  double worst = 0;
  int bad = 0;
  std::string first_bad;
  for (int si = 0; si < n_seqs; ++si)
    for (int i = 0; i < c.seqs[si].first; ++i) {
      const int token = q_start[si] + i, pos = kv_len[si] - c.seqs[si].first + i;
      const int lo = s.window > 0 ? std::max(0, pos - s.window + 1) : 0;
      for (int h = 0; h < H; ++h) {
        const int hk = h / gqa;
        std::vector<double> score(pos + 1 - lo);
        double mx = -INFINITY;
        for (int k = lo; k <= pos; ++k) {
          double dot = 0;
          for (int d = 0; d < D; ++d)
            dot += double(f16_to_f32(q[(size_t(token) * H + h) * D + d])) * k_ref[si][(size_t(k) * HK + hk) * D + d];
          mx = std::max(mx, score[k - lo] = dot * scale);
        }
        double den = 0;
        for (double& v : score) den += (v = std::exp(v - mx));
        const double tol_v = 1.001 * (std::ldexp(1.0, -10) + double(pos + 1 - lo) * std::ldexp(1.0, -24));
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int k = lo; k <= pos; ++k) acc += score[k - lo] * v_ref[si][(size_t(k) * HK + hk) * D + d];
          const double ref = acc / den;
          const double got = f16_to_f32(out[(size_t(token) * H + h) * D + d]);
          const double tol = tol_v + std::ldexp(std::abs(ref), -10);
          const double ratio = std::isfinite(got) ? std::abs(got - ref) / tol : INFINITY;
          worst = std::max(worst, ratio);
          if (!(ratio <= 1.0) && bad++ == 0)
            first_bad = "seq " + std::to_string(si) + " pos " + std::to_string(pos) + " head " + std::to_string(h) +
                        " dim " + std::to_string(d) + ": got " + std::to_string(got) + ", want " + std::to_string(ref);
        }
      }
    }
  EXPECT_EQ(bad, 0) << describe(c, mode) << ": " << bad << " bad elements, first: " << first_bad;
  return worst;
}

void check(const Case& c) {
  for (Mode mode : {Mode::specialized, Mode::generic}) {
    const double worst = run_case(c, mode, 7);
    std::printf("[ attn q8 ] %-110s worst err/tol %.3f\n", describe(c, mode).substr(0, 110).c_str(), worst);
  }
}

TEST(AttnQ8Gpu, DecodeEveryTypePairAndSplits) {
  KILN_REQUIRE_GPU();
  const std::vector<std::pair<int, int>> seqs = {{1, 0}, {1, 1}, {1, 63}, {1, 64}, {1, 65}, {1, 1000}, {1, 4097}};
  for (auto [kt, vt] : {std::pair{kKvQ8_0, kKvQ8_0}, {kKvQ8_0, kKvF16}, {kKvF16, kKvQ8_0}})
    for (int splits : {0, 1, 8})
      check({.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2, .k_type = kt, .v_type = vt}, .seqs = seqs,
             .splits = splits});
}

TEST(AttnQ8Gpu, DecodeHeadDimsGqaWindow) {
  KILN_REQUIRE_GPU();
  const std::vector<std::pair<int, int>> seqs = {{1, 0}, {1, 130}, {1, 1500}};
  for (int d : {64, 256})
    check({.shape = {.head_dim = d, .n_heads = 8, .n_kv_heads = 2, .k_type = kKvQ8_0, .v_type = kKvQ8_0},
           .seqs = seqs});
  check({.shape = {.head_dim = 128, .n_heads = 16, .n_kv_heads = 2, .k_type = kKvQ8_0, .v_type = kKvQ8_0},
         .seqs = seqs});
  check({.shape = {.head_dim = 128, .n_heads = 4, .n_kv_heads = 4, .window = 100, .k_type = kKvQ8_0,
                   .v_type = kKvQ8_0},
         .seqs = seqs, .splits = 2});
  // llama-8b's shape at depth.
  check({.shape = {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .k_type = kKvQ8_0, .v_type = kKvQ8_0},
         .seqs = {{1, 32767}}});
}

TEST(AttnQ8Gpu, PrefillThroughTheF16View) {
  KILN_REQUIRE_GPU();
  for (auto [kt, vt] : {std::pair{kKvQ8_0, kKvQ8_0}, {kKvF16, kKvQ8_0}})
    check({.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2, .k_type = kt, .v_type = vt},
           .seqs = {{17, 0}, {129, 65}, {64, 1000}, {1, 63}}, .decode = false});
  check({.shape = {.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .k_type = kKvQ8_0, .v_type = kKvQ8_0},
         .seqs = {{129, 4097}, {33, 100}}, .decode = false});
}

// kv_write with q8_0 pools: V (no RoPE) quantizes bit-exactly as the host does from the same f32
// inputs; K (after RoPE, which the host cannot repeat bit for bit) dequantizes to within half a
// quantization step of the f16 cache's K of the same launch inputs (+ 127 2^-11 d <= d / 16 for
// d's rounding to f16, + 2^-10 |k| for the f16 K's own rounding), and each block's largest |q| is 127.
TEST(AttnQ8Gpu, KvWriteQuantizesLikeGgml) {
  KILN_REQUIRE_GPU();
  const int D = 128, H = 4, HK = 2, P = kKvPageSize, n_tokens = 70, row = (H + 2 * HK) * D;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> qkv(size_t(n_tokens) * row);
  for (float& v : qkv) v = normal(rng);
  std::vector<int32_t> positions(n_tokens), pages = {1, 0};
  std::iota(positions.begin(), positions.end(), 0);
  std::vector<double> inv_freq(D / 2);
  for (int i = 0; i < D / 2; ++i) inv_freq[i] = std::pow(10000.0, -2.0 * i / D);
  DeviceBytes d_qkv(qkv.size() * 4), d_pos(n_tokens * 4), d_pages(8), d_freq(inv_freq.size() * 8),
      d_q(size_t(n_tokens) * H * D * 2);
  d_qkv.upload(qkv);
  d_pos.upload(positions);
  d_pages.upload(pages);
  d_freq.upload(inv_freq);
  for (Mode mode : {Mode::specialized, Mode::generic}) {
    std::vector<std::vector<uint8_t>> k_bytes, v_bytes;
    for (int type : {kKvF16, kKvQ8_0}) {
      const size_t pool = size_t(2) * HK * P * kv_row_bytes(type, D);
      DeviceBytes d_k(pool), d_v(pool);
      d_k.poison();
      d_v.poison();
      KvWriteShape shape{.head_dim = D, .n_heads = H, .n_kv_heads = HK, .rope = kRopeNeox, .k_type = type,
                         .v_type = type};
      KvWriteParams p{};
      p.qkv = d_qkv.get();
      p.qkv_stride = row;
      p.positions = d_pos.get<int32_t>();
      p.page_table = d_pages.get<int32_t>();
      p.max_pages = 2;
      p.inv_freq = d_freq.get<double>();
      p.rope_mscale = 1.f;
      p.q_out = d_q.get();
      p.k_pool = d_k.get();
      p.v_pool = d_v.get();
      p.n_tokens = n_tokens;
      kv_write_launch(library_for(mode).get(kv_write_key(shape)), shape, p, nullptr);
      jit::testing::sync_and_check("kv_write q8_0");
      k_bytes.push_back(d_k.download<uint8_t>(pool));
      v_bytes.push_back(d_v.download<uint8_t>(pool));
    }
    int bad_v = 0, bad_k = 0, bad_max = 0;
    double worst_k = 0;
    const size_t q8_block = size_t(P) * kv_row_bytes(kKvQ8_0, D), f16_block = size_t(P) * D * 2;
    for (int t = 0; t < n_tokens; ++t)
      for (int h = 0; h < HK; ++h) {
        const size_t blk = size_t(pages[t / P]) * HK + h;
        const int slot = t % P;
        for (int b = 0; b < D / kKvQ8Block; ++b) {
          // V: bit-exact.
          int8_t q[kKvQ8Block];
          uint16_t sc;
          quantize_block(&qkv[size_t(t) * row + (H + HK + h) * D + b * kKvQ8Block], q, &sc);
          const uint8_t* vq = v_bytes[1].data() + blk * q8_block + size_t(slot) * D + b * kKvQ8Block;
          const uint16_t vs = *reinterpret_cast<const uint16_t*>(v_bytes[1].data() + blk * q8_block + size_t(P) * D +
                                                                 (size_t(slot) * (D / kKvQ8Block) + b) * 2);
          if (vs != sc || std::memcmp(vq, q, kKvQ8Block) != 0) ++bad_v;
          // K: within half a step of the f16 cache's K.
          const int8_t* kq =
              reinterpret_cast<const int8_t*>(k_bytes[1].data() + blk * q8_block + size_t(slot) * D + b * kKvQ8Block);
          const float d = f16_to_f32(*reinterpret_cast<const uint16_t*>(
              k_bytes[1].data() + blk * q8_block + size_t(P) * D + (size_t(slot) * (D / kKvQ8Block) + b) * 2));
          const uint16_t* k16 = reinterpret_cast<const uint16_t*>(k_bytes[0].data() + blk * f16_block) +
                                size_t(slot) * D + b * kKvQ8Block;
          int qmax = 0;
          for (int i = 0; i < kKvQ8Block; ++i) {
            qmax = std::max(qmax, std::abs(int(kq[i])));
            const double ref = f16_to_f32(k16[i]);
            const double tol = 0.5 * d + d / 15 + std::ldexp(std::abs(ref), -10);
            worst_k = std::max(worst_k, std::abs(kq[i] * double(d) - ref) / tol);
            if (!(std::abs(kq[i] * double(d) - ref) <= tol)) ++bad_k;
          }
          if (qmax != 127) ++bad_max;
        }
      }
    EXPECT_EQ(bad_v, 0) << jit::mode_name(mode) << ": V blocks that differ from the host's q8_0";
    EXPECT_EQ(bad_k, 0) << jit::mode_name(mode) << ": K values off the f16 cache's by more than half a step";
    EXPECT_EQ(bad_max, 0) << jit::mode_name(mode) << ": K blocks whose largest |q| is not 127";
    std::printf("[ kv_write q8 ] %s: K worst err/tol %.3f\n", std::string(jit::mode_name(mode)).c_str(), worst_k);
  }
}

// Decode timing at llama-8b's shape (32/8 heads of 128, one sequence) over stages x splits, f16
// and q8_0 caches, 8 layers' pools in turn (more than L2 holds). Only with KILN_ATTN_SWEEP=1: a
// measurement, not a check.
TEST(AttnQ8Gpu, DecodeTimingSweep) {
  KILN_REQUIRE_GPU();
  const char* env = std::getenv("KILN_ATTN_SWEEP");
  if (!env || std::string(env) != "1") GTEST_SKIP() << "a measurement: set KILN_ATTN_SWEEP=1 to run it";
  const int layers = 8;
  for (int depth : {8192, 32768})
    for (int type : {kKvF16, kKvQ8_0}) {
      AttnShape s{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8, .k_type = type, .v_type = type};
      const int kv_len = depth + 1, pages = kv_pages_for(kv_len);
      const size_t pool = size_t(pages) * s.n_kv_heads * kKvPageSize * kv_row_bytes(type, 128);
      DeviceBytes d_pools(pool * 2 * layers);
      // Valid values everywhere: f16 0x3c00 (1.0) pairs, q8_0 quants 1 with (later) scales 2^-7.
      KILN_CUDA_CHECK(cudaMemset(d_pools.get(), type == kKvF16 ? 0x3c : 0x01, d_pools.bytes()));
      if (type == kKvQ8_0) {
        std::vector<uint16_t> scales(size_t(kKvPageSize) * 4, f32_to_f16(1.f / 128));
        for (size_t blk = 0; blk < size_t(pages) * s.n_kv_heads * 2 * layers; ++blk)
          d_pools.upload(scales, blk * (pool / pages / s.n_kv_heads) + size_t(kKvPageSize) * 128);
      }
      std::vector<int32_t> table(pages), q_start{0, 1}, lens{kv_len};
      std::iota(table.begin(), table.end(), 0);
      DeviceBytes d_q(32 * 128 * 2), d_out(32 * 128 * 2), d_table(pages * 4), d_qs(8), d_len(4);
      KILN_CUDA_CHECK(cudaMemset(d_q.get(), 0, d_q.bytes()));
      d_table.upload(table);
      d_qs.upload(q_start);
      d_len.upload(lens);
      const uint64_t ws_bytes = attn_decode_workspace_bytes(s, 1, kAttnMaxSplits);
      DeviceBytes d_ws(ws_bytes);
      AttnArgs a;
      a.q = d_q.get();
      a.out = d_out.get();
      a.scale = 0.088f;
      a.batch = {.q_start = d_qs.get<int32_t>(), .kv_len = d_len.get<int32_t>(), .page_table = d_table.get<int32_t>(),
                 .max_pages = pages, .n_seqs = 1, .n_tokens = 1, .max_q = 1};
      a.workspace = d_ws.get<float>();
      a.workspace_bytes = ws_bytes;
      for (int stages : {2, 3, 4, 5, 6}) {
        if (attn_decode_smem_bytes(128, stages, type, type) > 227 * 1024) continue;
        const jit::Kernel& k = library_for(Mode::specialized).get(attn_decode_key(s, {.decode_stages = stages}));
        const jit::Kernel& combine = library_for(Mode::specialized).get(attn_decode_combine_key(s));
        for (int splits : {8, 16, 32, 64}) {
          auto launch_all = [&](int reps) {
            for (int r = 0; r < reps; ++r)
              for (int l = 0; l < layers; ++l) {
                a.k_pool = d_pools.get<char>(pool * 2 * l);
                a.v_pool = d_pools.get<char>(pool * (2 * l + 1));
                attn_decode_launch(k, &combine, s, a, splits, nullptr);  // no library lookup in the timed loop
              }
          };
          launch_all(2);
          cudaEvent_t t0, t1;
          cudaEventCreate(&t0);
          cudaEventCreate(&t1);
          cudaEventRecord(t0);
          launch_all(10);
          cudaEventRecord(t1);
          jit::testing::sync_and_check("decode sweep");
          float ms = 0;
          cudaEventElapsedTime(&ms, t0, t1);
          cudaEventDestroy(t0);
          cudaEventDestroy(t1);
          const double us = ms * 1000.0 / (10 * layers);
          std::printf("[ decode sweep ] %s d=%d stages=%d splits=%d%s: %.1f us/layer, %.0f GB/s\n",
                      type == kKvF16 ? "f16 " : "q8_0", depth, stages, splits,
                      stages == choose_decode_stages_for_test(s) && splits == attn_decode_splits(s, kv_len, 1)
                          ? " (default)" : "",
                      us, attn_bytes(s, 1, kv_len) / (us * 1e3));
        }
      }
    }
}

}  // namespace
}  // namespace kiln::engine
