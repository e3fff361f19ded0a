// attn_decode_write (decode attention doing kv_write's work for its step) against what it
// replaces, kv_write then attn_decode, on the same inputs, both JIT builds: the output and both
// pools after the step, whole (slots no token owns are NaN, so a stray write shows). Shapes:
// llama's and qwen3's RoPE and q/k norm, f16 input rows, no RoPE, partial rotation and YaRN's
// magnitude factor, f16 and q8_0 caches, head dims 64/128/256, windows and sinks, several
// sequences, the new key at every place a tile and the ring can put it (first and last row of a
// tile and a page, a tile past the prologue's stages) and one split or several.
//
// The cache history is written by kv_write from random QKV rows (the engine's own prefill path).
// Both paths run the same kv_rope.cuh arithmetic, so their cache rows and outputs are expected to
// be bit-identical; the check allows what a different contraction of the same arithmetic could
// change (an f16 rounding of a rotated value, so one q8_0 step, and 2^-9 of an output) and
// prints how many elements matched exactly.
#include <algorithm>
#include <cmath>
#include <cstring>
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

struct WriteCase {
  const char* name;
  AttnShape shape;
  int n_rot = 0;  // 0: head_dim
  int rope = kRopeNeox;
  bool qk_norm = false, in_f16 = false;
  float mscale = 1.f;
  std::vector<int> depths;  // one decode token per sequence after `depth` cached ones
  int splits = 0;           // 0: the heuristic's
};

// Decoded values of a whole pool (kv_types.h), NaN where a slot holds NaN.
std::vector<float> pool_values(const std::vector<uint8_t>& bytes, int type, int head_dim, int page_size) {
  std::vector<float> out;
  const size_t row = kv_row_bytes(type, head_dim), block = size_t(page_size) * row;
  for (size_t b = 0; b < bytes.size() / block; ++b) {
    const uint8_t* blk = bytes.data() + b * block;
    for (int slot = 0; slot < page_size; ++slot)
      for (int d = 0; d < head_dim; ++d) {
        if (type == kKvF16) {
          out.push_back(f16_to_f32(reinterpret_cast<const uint16_t*>(blk)[size_t(slot) * head_dim + d]));
        } else {
          const int8_t q = int8_t(blk[size_t(slot) * head_dim + d]);
          const uint16_t s = reinterpret_cast<const uint16_t*>(blk + size_t(page_size) * head_dim)
              [size_t(slot) * (head_dim / kKvQ8Block) + d / kKvQ8Block];
          out.push_back(float(q) * f16_to_f32(s));
        }
      }
  }
  return out;
}

struct Diff {
  int bad = 0, exact = 0, total = 0;
  std::string first;
};

// got vs want elementwise: equal NaN-ness, |got - want| <= tol(want) elsewhere.
template <class Tol>
Diff compare(const std::vector<float>& got, const std::vector<float>& want, Tol tol, const char* what) {
  Diff d;
  for (size_t i = 0; i < want.size(); ++i) {
    ++d.total;
    const bool nan_g = std::isnan(got[i]), nan_w = std::isnan(want[i]);
    if (nan_g && nan_w) {
      ++d.exact;
      continue;
    }
    if (got[i] == want[i]) ++d.exact;
    if (nan_g != nan_w || !(std::abs(got[i] - want[i]) <= tol(want[i])))
      if (d.bad++ == 0)
        d.first = std::string(what) + "[" + std::to_string(i) + "]: got " + std::to_string(got[i]) + ", want " +
                  std::to_string(want[i]);
  }
  return d;
}

void run(const WriteCase& c, Mode mode) {
  SCOPED_TRACE(std::string(c.name) + " " + std::string(jit::mode_name(mode)));
  const AttnShape& s = c.shape;
  const int D = s.head_dim, H = s.n_heads, HK = s.n_kv_heads, P = s.page_size;
  const int n_seqs = int(c.depths.size()), row = (H + 2 * HK) * D;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> unit(-1.f, 1.f), weight(0.5f, 1.5f);

  std::vector<std::pair<int, int>> seqs;  // (n_q, depth)
  for (int depth : c.depths) seqs.push_back({1, depth});
  const testing::PagedBatch batch = testing::make_paged_batch(seqs, P, rng);

  // Every cached token and then the step's tokens (one per sequence): positions, page-table rows.
  std::vector<int32_t> hist_pos, hist_seq, step_pos, step_seq;
  for (int si = 0; si < n_seqs; ++si) {
    for (int t = 0; t < c.depths[si]; ++t) {
      hist_pos.push_back(t);
      hist_seq.push_back(si);
    }
    step_pos.push_back(c.depths[si]);  // = kv_len - 1
    step_seq.push_back(si);
  }
  const int n_hist = int(hist_pos.size());
  auto random_rows = [&](int n) {
    std::vector<float> x(size_t(std::max(n, 1)) * row);
    for (auto& v : x) v = c.in_f16 ? f16_to_f32(f32_to_f16(unit(rng))) : unit(rng);
    return x;
  };
  const std::vector<float> hist_qkv = random_rows(n_hist), step_qkv = random_rows(n_seqs);
  auto upload_rows = [&](DeviceBytes& dst, const std::vector<float>& x) {
    if (!c.in_f16) return dst.upload(x);
    std::vector<uint16_t> h(x.size());
    for (size_t i = 0; i < x.size(); ++i) h[i] = f32_to_f16(x[i]);
    dst.upload(h);
  };
  std::vector<float> q_norm(D), k_norm(D);
  for (auto& v : q_norm) v = weight(rng);
  for (auto& v : k_norm) v = weight(rng);
  const int n_rot = c.n_rot ? c.n_rot : D;
  std::vector<double> inv_freq(n_rot / 2);
  for (int i = 0; i < n_rot / 2; ++i) inv_freq[i] = std::pow(10000.0, -2.0 * i / n_rot);

  DeviceBytes d_hist_qkv(hist_qkv.size() * 4), d_step_qkv(step_qkv.size() * 4);
  DeviceBytes d_hist_pos(std::max(n_hist, 1) * 4), d_hist_seq(std::max(n_hist, 1) * 4);
  DeviceBytes d_step_pos(n_seqs * 4), d_step_seq(n_seqs * 4), d_qn(D * 4), d_kn(D * 4), d_freq(inv_freq.size() * 8);
  DeviceBytes d_q_start(batch.q_start.size() * 4), d_kv_len(batch.kv_len.size() * 4), d_table(batch.table.size() * 4);
  upload_rows(d_hist_qkv, hist_qkv);
  upload_rows(d_step_qkv, step_qkv);
  if (n_hist) {
    d_hist_pos.upload(hist_pos);
    d_hist_seq.upload(hist_seq);
  }
  d_step_pos.upload(step_pos);
  d_step_seq.upload(step_seq);
  d_qn.upload(q_norm);
  d_kn.upload(k_norm);
  d_freq.upload(inv_freq);
  d_q_start.upload(batch.q_start);
  d_kv_len.upload(batch.kv_len);
  d_table.upload(batch.table);

  const size_t k_bytes = size_t(batch.n_pages) * HK * P * kv_row_bytes(s.k_type, D);
  const size_t v_bytes = size_t(batch.n_pages) * HK * P * kv_row_bytes(s.v_type, D);
  DeviceBytes d_k(k_bytes), d_v(v_bytes), d_k2(k_bytes), d_v2(v_bytes);
  DeviceBytes d_q(size_t(std::max(n_hist, n_seqs)) * H * D * 2);
  const size_t out_elems = size_t(n_seqs) * H * D;
  DeviceBytes d_out(out_elems * 2), d_out2(out_elems * 2);
  const uint64_t ws_bytes = testing::attn_test_workspace_bytes(s, n_seqs, 1);
  DeviceBytes d_ws(ws_bytes);
  d_k.poison();
  d_v.poison();
  d_out.poison();
  d_out2.poison();

  const KvWriteShape write{.head_dim = D, .n_heads = H, .n_kv_heads = HK, .n_rot = c.n_rot, .page_size = P,
                           .rope = c.rope, .qk_norm = c.qk_norm, .in_f16 = c.in_f16, .k_type = s.k_type,
                           .v_type = s.v_type};
  auto write_params = [&](const DeviceBytes& qkv, const DeviceBytes& pos, const DeviceBytes& seq, int n_tokens,
                          const DeviceBytes& k, const DeviceBytes& v) {
    KvWriteParams p{};
    p.qkv = qkv.get();
    p.qkv_stride = row;
    p.positions = pos.get<int32_t>();
    p.token_seq = seq.get<int32_t>();
    p.page_table = d_table.get<int32_t>();
    p.max_pages = batch.max_pages;
    p.q_norm = c.qk_norm ? d_qn.get<float>() : nullptr;
    p.k_norm = c.qk_norm ? d_kn.get<float>() : nullptr;
    p.norm_eps = 1e-6f;
    p.inv_freq = d_freq.get<double>();
    p.rope_mscale = c.mscale;
    p.q_out = d_q.get();
    p.k_pool = k.get();
    p.v_pool = v.get();
    p.n_tokens = n_tokens;
    return p;
  };
  jit::Library& lib = library_for(mode);
  const jit::Kernel& kv_write = lib.get(kv_write_key(write));
  // The history, then a copy of the pools for the fused path.
  if (n_hist)
    kv_write_launch(kv_write, write, write_params(d_hist_qkv, d_hist_pos, d_hist_seq, n_hist, d_k, d_v), nullptr);
  jit::testing::sync_and_check(std::string(c.name) + ": history");
  KILN_CUDA_CHECK(cudaMemcpy(d_k2.get(), d_k.get(), k_bytes, cudaMemcpyDeviceToDevice));
  KILN_CUDA_CHECK(cudaMemcpy(d_v2.get(), d_v.get(), v_bytes, cudaMemcpyDeviceToDevice));

  AttnArgs a;
  a.q = d_q.get();
  a.k_pool = d_k.get();
  a.v_pool = d_v.get();
  a.out = d_out.get();
  a.scale = 1.f / std::sqrt(float(D));
  a.batch.q_start = d_q_start.get<int32_t>();
  a.batch.kv_len = d_kv_len.get<int32_t>();
  a.batch.page_table = d_table.get<int32_t>();
  a.batch.max_pages = batch.max_pages;
  a.batch.n_seqs = n_seqs;
  a.batch.n_tokens = n_seqs;
  a.batch.max_q = 1;
  a.workspace = d_ws.get<float>();
  a.workspace_bytes = ws_bytes;
  std::vector<float> sinks(H);
  for (auto& v : sinks) v = unit(rng);
  DeviceBytes d_sinks(H * 4);
  d_sinks.upload(sinks);
  if (s.sinks) a.sinks = d_sinks.get<float>();

  // Separate: kv_write of the step, then attn_decode.
  kv_write_launch(kv_write, write, write_params(d_step_qkv, d_step_pos, d_step_seq, n_seqs, d_k, d_v), nullptr);
  testing::launch_decode(lib, lib.get(attn_decode_key(s)), s, a, batch.kv_len, c.splits);
  jit::testing::sync_and_check(std::string(c.name) + ": kv_write + attn_decode");

  // Fused, on the copied pools.
  const KvWriteParams fused =
      kv_write_params(write, write_params(d_step_qkv, d_step_pos, d_step_seq, n_seqs, d_k2, d_v2));
  AttnArgs b = a;
  b.q = nullptr;
  b.k_pool = d_k2.get();
  b.v_pool = d_v2.get();
  b.out = d_out2.get();
  b.write = &fused;
  testing::launch_decode(lib, lib.get(attn_decode_write_key(s, write)), s, b, batch.kv_len, c.splits);
  jit::testing::sync_and_check(std::string(c.name) + ": attn_decode_write");

  auto f16_values = [](const std::vector<uint16_t>& h) {
    std::vector<float> out(h.size());
    for (size_t i = 0; i < h.size(); ++i) out[i] = f16_to_f32(h[i]);
    return out;
  };
  const std::vector<float> out = f16_values(d_out.download<uint16_t>(out_elems));
  const std::vector<float> out2 = f16_values(d_out2.download<uint16_t>(out_elems));
  const Diff d_o = compare(out2, out, [](float w) { return std::ldexp(std::abs(w) + 1.f, -9); }, "out");
  // A value of a cache row: one f16 rounding (2^-10 relative, as slack), or a q8_0 step of a
  // block (its largest value / 127; normed and rotated keys reach ~4): 1/32 of max(1, |value|).
  auto pool_tol = [](int type) {
    return [type](float w) {
      return type == kKvF16 ? std::ldexp(std::abs(w), -10) + 1e-7f : std::max(1.f, std::abs(w)) / 32;
    };
  };
  const Diff d_k_pool = compare(pool_values(d_k2.download<uint8_t>(k_bytes), s.k_type, D, P),
                                pool_values(d_k.download<uint8_t>(k_bytes), s.k_type, D, P), pool_tol(s.k_type), "k");
  const Diff d_v_pool = compare(pool_values(d_v2.download<uint8_t>(v_bytes), s.v_type, D, P),
                                pool_values(d_v.download<uint8_t>(v_bytes), s.v_type, D, P), pool_tol(s.v_type), "v");
  for (const Diff* d : {&d_o, &d_k_pool, &d_v_pool}) EXPECT_EQ(d->bad, 0) << d->bad << " bad, first: " << d->first;
  std::printf("[ decode write ] %-34s %-11s exact: out %d/%d, k %d/%d, v %d/%d\n", c.name,
              std::string(jit::mode_name(mode)).c_str(), d_o.exact, d_o.total, d_k_pool.exact, d_k_pool.total,
              d_v_pool.exact, d_v_pool.total);
}

TEST(AttnDecodeWriteGpu, MatchesKvWriteThenAttnDecode) {
  KILN_REQUIRE_GPU();
  const AttnShape llama{.head_dim = 128, .n_heads = 32, .n_kv_heads = 8};
  const AttnShape qwen3{.head_dim = 128, .n_heads = 16, .n_kv_heads = 2};
  AttnShape q8 = qwen3, k_q8 = qwen3, v_q8 = llama;
  q8.k_type = q8.v_type = k_q8.k_type = v_q8.v_type = kKvQ8_0;
  const std::vector<WriteCase> cases = {
      // The first step (kv_len 1), a key at a tile's last row and at the next page's first.
      {"llama normal rope, kv_len 1", llama, 0, kRopeNormal, false, false, 1.f, {0}},
      {"qwen3 qk-norm f16 rows, 2 seqs", qwen3, 0, kRopeNeox, true, true, 1.f, {63, 64}},
      // One split over several tiles: the key's tile is past the prologue's stages.
      {"one split, key in tile 7", llama, 0, kRopeNormal, false, false, 1.f, {460}, 1},
      {"4 splits, 3 seqs", qwen3, 0, kRopeNeox, true, false, 1.f, {1000, 4095, 129}, 4},
      {"heuristic splits at depth 5000", llama, 0, kRopeNeox, false, false, 1.f, {5000}},
      {"no rope", qwen3, 0, kRopeNone, false, false, 1.f, {77}},
      {"partial rotation, yarn mscale", qwen3, 64, kRopeNeox, false, false, 1.25f, {300}},
      {"q8_0 K and V", q8, 0, kRopeNeox, true, false, 1.f, {0, 127, 200}},
      {"q8_0 K, f16 V, splits", k_q8, 0, kRopeNeox, false, false, 1.f, {2047}, 8},
      {"f16 K, q8_0 V", v_q8, 0, kRopeNormal, false, true, 1.f, {31}},
      {"head_dim 64 q8_0, window, sinks", {.head_dim = 64, .n_heads = 16, .n_kv_heads = 2, .window = 128,
       .sinks = true, .k_type = kKvQ8_0, .v_type = kKvQ8_0}, 0, kRopeNeox, false, false, 1.f, {300, 5}},
      {"head_dim 256 qk-norm, window", {.head_dim = 256, .n_heads = 4, .n_kv_heads = 2, .window = 1024}, 0,
       kRopeNeox, true, false, 1.f, {2000}, 2},
  };
  for (Mode mode : {Mode::specialized, Mode::generic})
    for (const auto& c : cases) run(c, mode);
}

}  // namespace
}  // namespace kiln::engine
