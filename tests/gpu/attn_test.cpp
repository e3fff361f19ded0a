// attn_prefill and attn_decode (+ reduce) on the GPU vs a float64 CPU reference computed from the
// same f16 inputs, both JIT modes, over a sweep: query counts 1..512 over depths 0..4097 (one
// varlen batch and single sequences), GQA 1..8, head dims 64/128/256, sliding windows and sinks,
// decode to 32k with every split bucket. The cache's pages are shuffled, the slots no token
// owns hold NaN (masking and the zero fill past kv_len must keep them out), and the output is
// poisoned with NaN before each launch (every element must be written).
//
// Tolerance, per output element (derivation): the scores are f32 sums of exact f16 products
// (relative error ~D 2^-24, negligible after the exponent); P = 2^(s - m) is rounded to f16 for
// the P.V product: relative error <= 2^-11 for P >= 2^-14, absolute <= 2^-25 below; the
// denominator uses the unrounded P. So |O - O_ref| <= 2^-11 max|V| (normal P) + n_keys 2^-25
// max|V| (subnormal P) + n_keys 2^-24 max|V| (f32 accumulation) + 2^-11 |O| (f16 output). The
// check allows twice the first and last terms: 2^-10 (max|V| + |O_ref|) + n_keys 2^-24 max|V|.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

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

struct Seq {
  int n_q;    // new tokens
  int depth;  // tokens already cached; kv_len = depth + n_q
};

struct Case {
  AttnShape shape;
  std::vector<Seq> seqs;
  bool decode = false;  // attn_decode (every n_q is 1) instead of attn_prefill
  int splits = 0;       // decode splits, prefill key splits: 0 = the heuristic's
  int wgmma = -1;       // prefill: -1 = the heuristic's, 0 mma.sync, 1 wgmma, 2 wgmma (v3 schedule),
                        // 3 warp-specialized (8 warps)
  float q_range = 3.f;  // q in [-q_range, q_range], k and v in [-1, 1]: softmax neither flat nor one-hot
};

std::string describe(const Case& c, Mode mode) {
  std::string s = std::string(jit::mode_name(mode)) + (c.decode ? " decode" : " prefill") +
                  " head_dim=" + std::to_string(c.shape.head_dim) + " heads=" + std::to_string(c.shape.n_heads) + "/" +
                  std::to_string(c.shape.n_kv_heads) + " window=" + std::to_string(c.shape.window) +
                  " sinks=" + std::to_string(c.shape.sinks) + " splits=" + std::to_string(c.splits) +
                  (c.decode ? "" : " wgmma=" + std::to_string(c.wgmma)) + " seqs=";
  for (const Seq& q : c.seqs) s += std::to_string(q.n_q) + "@" + std::to_string(q.depth) + " ";
  return s;
}

// Runs `fn(i)` for i in [0, n) on all cores.
template <class Fn>
void parallel_for(int n, Fn fn) {
  const int threads = std::max(1u, std::min(32u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  std::atomic<int> next{0};
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  for (auto& th : pool) th.join();
}

struct Result {
  int bad = 0;
  double worst_ratio = 0;  // max |err| / tolerance
  std::string first_bad;
};

Result run_case(const Case& c, Mode mode, uint64_t seed) {
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

  // K/V: logical [seq][pos][kv head][D] as f16 bits, placed into NaN-filled pools.
  const size_t pool_elems = size_t(n_pages) * HK * P * D;
  std::vector<uint16_t> k_pool(pool_elems, 0x7e00), v_pool(pool_elems, 0x7e00);  // NaN
  std::vector<std::vector<uint16_t>> k_seq(n_seqs), v_seq(n_seqs);
  for (int si = 0; si < n_seqs; ++si) {
    k_seq[si].resize(size_t(kv_len[si]) * HK * D);
    v_seq[si].resize(size_t(kv_len[si]) * HK * D);
    for (auto& x : k_seq[si]) x = f32_to_f16(unit(rng));
    for (auto& x : v_seq[si]) x = f32_to_f16(unit(rng));
    for (int pos = 0; pos < kv_len[si]; ++pos)
      for (int h = 0; h < HK; ++h) {
        const size_t dst = ((size_t(table[size_t(si) * max_pages + pos / P]) * HK + h) * P + pos % P) * D;
        const size_t src = (size_t(pos) * HK + h) * D;
        std::copy_n(k_seq[si].begin() + src, D, k_pool.begin() + dst);
        std::copy_n(v_seq[si].begin() + src, D, v_pool.begin() + dst);
      }
  }
  // The same values as floats for the reference.
  std::vector<std::vector<float>> k_ref(n_seqs), v_ref(n_seqs);
  for (int si = 0; si < n_seqs; ++si) {
    for (uint16_t x : k_seq[si]) k_ref[si].push_back(f16_to_f32(x));
    for (uint16_t x : v_seq[si]) v_ref[si].push_back(f16_to_f32(x));
  }
  std::vector<uint16_t> q(size_t(n_tokens) * H * D);
  for (auto& x : q) x = f32_to_f16(unit(rng) * c.q_range);
  std::vector<float> sinks(H);
  for (auto& x : sinks) x = 2.f * unit(rng);
  const float scale = 2.f / std::sqrt(float(D));

  // Device.
  DeviceBytes d_q(q.size() * 2), d_out(q.size() * 2), d_k(pool_elems * 2), d_v(pool_elems * 2);
  DeviceBytes d_q_start(q_start.size() * 4), d_kv_len(kv_len.size() * 4), d_table(table.size() * 4), d_sinks(H * 4);
  d_q.upload(q);
  d_k.upload(k_pool);
  d_v.upload(v_pool);
  d_q_start.upload(q_start);
  d_kv_len.upload(kv_len);
  d_table.upload(table);
  d_sinks.upload(sinks);
  d_out.poison();
  int max_q = 0;
  for (const Seq& sq : c.seqs) max_q = std::max(max_q, sq.n_q);
  const uint64_t ws_bytes = testing::attn_test_workspace_bytes(s, n_seqs, max_q);
  DeviceBytes d_ws(ws_bytes);
  d_ws.poison();

  AttnArgs a;
  a.q = d_q.get();
  a.k_pool = d_k.get();
  a.v_pool = d_v.get();
  a.out = d_out.get();
  a.sinks = s.sinks ? d_sinks.get<float>() : nullptr;
  a.scale = scale;
  a.batch.q_start = d_q_start.get<int32_t>();
  a.batch.kv_len = d_kv_len.get<int32_t>();
  a.batch.page_table = d_table.get<int32_t>();
  a.batch.max_pages = max_pages;
  a.batch.n_seqs = n_seqs;
  a.batch.n_tokens = n_tokens;
  a.batch.max_q = 0;
  for (const Seq& sq : c.seqs) a.batch.max_q = std::max(a.batch.max_q, sq.n_q);
  a.workspace = d_ws.get<float>();
  a.workspace_bytes = ws_bytes;

  jit::Library& lib = library_for(mode);
  if (c.decode) {
    testing::launch_decode(lib, lib.get(attn_decode_key(s)), s, a, kv_len, c.splits);
  } else {
    const AttnTuning tuning{.prefill_warps = c.wgmma == 3 ? 8 : 0, .prefill_wgmma = c.wgmma};
    testing::launch_prefill(lib, attn_prefill_key(s, n_tokens, n_seqs, {}, tuning), s, a, kv_len, c.splits);
  }
  jit::testing::sync_and_check(describe(c, mode));
  const std::vector<uint16_t> out = d_out.download<uint16_t>(q.size());

  // Reference, per (token, head), in float64 from the same f16 values.
  struct Row {
    int seq, token;
  };
  std::vector<Row> rows;
  for (int si = 0; si < n_seqs; ++si)
    for (int i = 0; i < c.seqs[si].n_q; ++i) rows.push_back({si, q_start[si] + i});
  std::vector<Result> per_row(rows.size() * H);
  parallel_for(int(rows.size()) * H, [&](int idx) {
    const Row r = rows[idx / H];
    const int h = idx % H, hk = h / gqa;
    const int pos = kv_len[r.seq] - c.seqs[r.seq].n_q + (r.token - q_start[r.seq]);
    const int lo = s.window > 0 ? std::max(0, pos - s.window + 1) : 0;
    std::vector<double> qd(D), score(pos + 1 - lo);
    for (int d = 0; d < D; ++d) qd[d] = f16_to_f32(q[(size_t(r.token) * H + h) * D + d]);
    double mx = s.sinks ? double(sinks[h]) : -INFINITY;
    for (int k = lo; k <= pos; ++k) {
      const float* kr = &k_ref[r.seq][(size_t(k) * HK + hk) * D];
      double dot = 0;
      for (int d = 0; d < D; ++d) dot += qd[d] * kr[d];
      score[k - lo] = dot * scale;
      mx = std::max(mx, score[k - lo]);
    }
    double den = s.sinks ? std::exp(double(sinks[h]) - mx) : 0.0;
    for (double& x : score) den += (x = std::exp(x - mx));
    std::vector<double> acc(D, 0.0);
    for (int k = lo; k <= pos; ++k) {
      const float* vr = &v_ref[r.seq][(size_t(k) * HK + hk) * D];
      for (int d = 0; d < D; ++d) acc[d] += score[k - lo] * vr[d];
    }
    Result& res = per_row[idx];
    const double tol_v = std::ldexp(1.0, -10) + double(pos + 1 - lo) * std::ldexp(1.0, -24);  // max|V| = 1
    for (int d = 0; d < D; ++d) {
      const double ref = acc[d] / den;
      const double got = f16_to_f32(out[(size_t(r.token) * H + h) * D + d]);
      const double tol = tol_v + std::ldexp(std::abs(ref), -10);
      const double err = std::abs(got - ref);
      const double ratio = std::isfinite(got) ? err / tol : INFINITY;
      res.worst_ratio = std::max(res.worst_ratio, ratio);
      if (!(ratio <= 1.0) && res.bad++ == 0)
        res.first_bad = "seq " + std::to_string(r.seq) + " token " + std::to_string(r.token) + " (pos " +
                        std::to_string(pos) + ") head " + std::to_string(h) + " dim " + std::to_string(d) + ": got " +
                        std::to_string(got) + ", want " + std::to_string(ref) + " (tolerance " + std::to_string(tol) +
                        ")";
    }
  });
  Result total;
  for (const Result& r : per_row) {
    if (r.bad && !total.bad) total.first_bad = r.first_bad;
    total.bad += r.bad;
    total.worst_ratio = std::max(total.worst_ratio, r.worst_ratio);
  }
  return total;
}

void check(const Case& c, uint64_t seed = 1) {
  for (Mode mode : {Mode::specialized, Mode::generic}) {
    const Result r = run_case(c, mode, seed);
    EXPECT_EQ(r.bad, 0) << describe(c, mode) << ": " << r.bad << " bad elements, first: " << r.first_bad;
    std::printf("[ attn ] %-110s worst err/tol %.3f\n", describe(c, mode).substr(0, 110).c_str(), r.worst_ratio);
  }
}

const std::vector<int>& sweep_n_q() {
  static const std::vector<int> v = {1, 17, 64, 129, 512};
  return v;
}
const std::vector<int>& sweep_depth() {
  static const std::vector<int> v = {0, 1, 63, 64, 65, 1000, 4097};
  return v;
}

TEST(AttnGpu, PrefillSweepInOneVarlenBatch) {
  KILN_REQUIRE_GPU();
  Case c{.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2}, .seqs = {}};
  for (int n_q : sweep_n_q())
    for (int depth : sweep_depth()) c.seqs.push_back({n_q, depth});
  c.seqs.push_back({0, 100});  // a sequence with nothing new
  check(c);
}

// The mma.sync path (the fallback off sm_90, and the default for head_dim 64 and 256) on the
// shapes the wgmma path takes by default, the default wgmma path (128 keys per iteration) with
// a window and sinks, the v3 wgmma schedule (wgmma=2) at head_dim 128, and wgmma forced for
// head_dim 256 (not its default).
TEST(AttnGpu, PrefillOtherTensorCorePath) {
  KILN_REQUIRE_GPU();
  for (int d : {64, 128})
    check({.shape = {.head_dim = d, .n_heads = 8, .n_kv_heads = 2, .window = 100, .sinks = true},
           .seqs = {{129, 1000}, {17, 0}, {512, 65}}, .wgmma = 0});
  check({.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2, .window = 100, .sinks = true},
         .seqs = {{129, 1000}, {17, 0}, {512, 65}}, .wgmma = 1});
  check({.shape = {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8}, .seqs = {{512, 4097}}, .wgmma = 0});
  check({.shape = {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8}, .seqs = {{512, 4097}, {64, 0}}, .wgmma = 2});
  check({.shape = {.head_dim = 256, .n_heads = 4, .n_kv_heads = 2}, .seqs = {{129, 1000}, {64, 0}}, .wgmma = 1});
}

// The warp-specialized kernel (wgmma 3, attn_prefill_ws.cuh): the varlen sweep (partial and
// empty tiles, sequences with nothing new), llama's shape at depth, windows and sinks, gqa 1-8,
// key splits.
TEST(AttnGpu, PrefillWarpSpecialized) {
  KILN_REQUIRE_GPU();
  if (jit::Device::current().cc_major < 9) GTEST_SKIP() << "wgmma needs sm_90";
  Case sweep{.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2}, .seqs = {}, .wgmma = 3};
  for (int n_q : sweep_n_q())
    for (int depth : sweep_depth()) sweep.seqs.push_back({n_q, depth});
  check(sweep);
  check({.shape = {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8}, .seqs = {{512, 4097}, {64, 0}}, .wgmma = 3});
  check({.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2, .window = 100, .sinks = true},
         .seqs = {{129, 1000}, {17, 0}, {512, 65}}, .wgmma = 3});
  for (int gqa : {1, 7, 8})
    check({.shape = {.head_dim = 128, .n_heads = 2 * gqa, .n_kv_heads = 2}, .seqs = {{17, 65}, {129, 1000}, {64, 0}},
           .wgmma = 3});
  for (int splits : {1, 2})
    check({.shape = {.head_dim = 128, .n_heads = 12, .n_kv_heads = 2, .window = 300, .sinks = true},
           .seqs = {{512, 4097}, {129, 65}, {17, 0}, {1, 1000}}, .splits = splits, .wgmma = 3});
}

TEST(AttnGpu, PrefillSingleSequences) {
  KILN_REQUIRE_GPU();
  for (int n_q : {17, 129, 512})
    for (int depth : {0, 65, 4097}) check({.shape = {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8}, .seqs = {{n_q, depth}}});
}

TEST(AttnGpu, PrefillGqa1To8) {
  KILN_REQUIRE_GPU();
  for (int gqa = 1; gqa <= 8; ++gqa)
    check({.shape = {.head_dim = 128, .n_heads = 2 * gqa, .n_kv_heads = 2}, .seqs = {{17, 65}, {129, 1000}, {64, 0}}});
}

TEST(AttnGpu, PrefillHeadDims64And256) {
  KILN_REQUIRE_GPU();
  for (int d : {64, 256})
    for (int gqa : {2, 8})
      check({.shape = {.head_dim = d, .n_heads = 2 * gqa, .n_kv_heads = 2}, .seqs = {{129, 1000}, {512, 63}, {1, 4097}}});
}

TEST(AttnGpu, PrefillWindowAndSinks) {
  KILN_REQUIRE_GPU();
  // gpt-oss: head 64, gqa 8, window 128, sinks.
  check({.shape = {.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .window = 128, .sinks = true},
         .seqs = {{512, 4097}, {129, 65}, {17, 0}, {1, 1000}, {200, 100}}});
  // gemma3 local layers: head 256, gqa 2, window 1024.
  check({.shape = {.head_dim = 256, .n_heads = 4, .n_kv_heads = 2, .window = 1024},
         .seqs = {{129, 1500}, {512, 700}, {64, 2000}}});
  // Sinks without a window, window without sinks, odd window.
  check({.shape = {.head_dim = 128, .n_heads = 12, .n_kv_heads = 2, .sinks = true}, .seqs = {{129, 1000}, {17, 0}}});
  check({.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2, .window = 77}, .seqs = {{129, 1000}, {64, 10}}});
}

// Key splits forced on and off (attn_prefill_splits picks 2 only where CTAs are few): the varlen
// sweep (rows without a key in one split: early tokens, a split with no iterations), both tensor
// core paths, gqa 6 with sinks and a window, head_dim 64 and 256.
TEST(AttnGpu, PrefillKeySplits) {
  KILN_REQUIRE_GPU();
  for (int splits : {1, 2}) {
    Case sweep{.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2}, .seqs = {}, .splits = splits};
    for (int n_q : sweep_n_q())
      for (int depth : sweep_depth()) sweep.seqs.push_back({n_q, depth});
    check(sweep);
    check({.shape = {.head_dim = 128, .n_heads = 12, .n_kv_heads = 2, .window = 300, .sinks = true},
           .seqs = {{512, 4097}, {129, 65}, {17, 0}, {1, 1000}}, .splits = splits});
    check({.shape = {.head_dim = 128, .n_heads = 12, .n_kv_heads = 2, .sinks = true},
           .seqs = {{512, 4097}, {64, 0}}, .splits = splits, .wgmma = 0});
    check({.shape = {.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .window = 128, .sinks = true},
           .seqs = {{512, 1000}, {17, 0}}, .splits = splits});
    check({.shape = {.head_dim = 256, .n_heads = 4, .n_kv_heads = 2}, .seqs = {{129, 1000}, {64, 0}}, .splits = splits});
  }
}

TEST(AttnGpu, DecodeDepthSweep) {
  KILN_REQUIRE_GPU();
  Case c{.shape = {.head_dim = 128, .n_heads = 8, .n_kv_heads = 2}, .seqs = {}, .decode = true};
  for (int depth : {0, 1, 63, 64, 65, 1000, 4097, 32767}) c.seqs.push_back({1, depth});
  check(c);  // the heuristic's splits for the longest
  for (int splits : {1, 2, 8, 64}) {
    c.splits = splits;
    check(c);
  }
}

TEST(AttnGpu, DecodeSingleSequencesAtDepth) {
  KILN_REQUIRE_GPU();
  for (int depth : {0, 1000, 32767})
    check({.shape = {.head_dim = 128, .n_heads = 32, .n_kv_heads = 8}, .seqs = {{1, depth}}, .decode = true});
}

TEST(AttnGpu, DecodeGqaHeadDimsWindowSinks) {
  KILN_REQUIRE_GPU();
  const std::vector<Seq> seqs = {{1, 0}, {1, 130}, {1, 1500}, {1, 5000}};
  for (int gqa = 1; gqa <= 8; ++gqa)
    check({.shape = {.head_dim = 128, .n_heads = 2 * gqa, .n_kv_heads = 2}, .seqs = seqs, .decode = true});
  for (int d : {64, 256}) check({.shape = {.head_dim = d, .n_heads = 8, .n_kv_heads = 2}, .seqs = seqs, .decode = true});
  check({.shape = {.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .window = 128, .sinks = true}, .seqs = seqs,
         .decode = true, .splits = 4});
  check({.shape = {.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .window = 128, .sinks = true}, .seqs = seqs,
         .decode = true, .splits = 1});
  check({.shape = {.head_dim = 256, .n_heads = 4, .n_kv_heads = 2, .window = 1024}, .seqs = seqs, .decode = true});
}

}  // namespace
}  // namespace kiln::engine
