// kv_write on the GPU vs the CPU reference ops (cpu::rmsnorm, cpu::rope_angles, cpu::apply_rope)
// with RoPE parameters set independently of engine::rope_table, both JIT modes: normal and NEOX
// pairing, partial rotation, llama3 frequency factors, linear and YaRN scaling, q/k norms, f32
// and f16 inputs, two sequences with their own pages. The pools are poisoned: every slot but the
// written ones must stay NaN.
// Tolerance: the output is f16 (half an ulp: 2^-11 |ref|); the angle is position * inv_freq in
// double, reduced to [-pi, pi] and turned by __sincosf (absolute error ~2^-21), so the rotated
// pair is off by ~1e-6 (|x0| + |x1|); the norm's float sums add ~1e-6 relative. Allowed:
// 2^-10 |ref| + 1e-5 (|x0| + |x1|) of the pre-rotation pair, with the inputs of order 1.
#include <cmath>
#include <numeric>
#include <random>

#include "cpu/ops.h"
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
  int head_dim, n_heads, n_kv_heads, n_rot;
  model::RopeKind rope;
  model::RopeScaling scaling;
  float base, factor;
  bool local;          // linear scaling skips local layers
  bool freq_factors;   // llama3
  bool qk_norm, in_f16;
  std::vector<std::pair<int, int>> seqs;  // (n_past, n_new)
};

void run(const WriteCase& c, Mode mode) {
  SCOPED_TRACE(std::string(c.name) + " " + std::string(jit::mode_name(mode)));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(-1.f, 1.f), ff(1.f, 8.f), w(0.5f, 1.5f);
  const int D = c.head_dim, H = c.n_heads, HK = c.n_kv_heads, P = kKvPageSize;

  model::Model m;
  m.arch.rope = c.rope;
  m.hp.head_dim = D;
  m.hp.n_heads = H;
  m.hp.n_kv_heads = HK;
  m.hp.rope_dim = c.n_rot;
  m.hp.rope_base = c.base;
  m.hp.rope_scaling = c.scaling;
  m.hp.rope_factor = c.factor;
  m.hp.rope_orig_ctx = 4096;
  m.hp.rms_eps = 1e-6f;
  model::Layer layer;
  layer.is_local = c.local;
  std::vector<float> factors;
  if (c.freq_factors)
    for (int i = 0; i < c.n_rot / 2; ++i) factors.push_back(ff(rng));
  const RopeTable table = rope_table(m, layer, factors);

  // The CPU's own description of the same rotation.
  cpu::RopeParams rp;
  rp.kind = c.rope;
  rp.rope_dim = c.n_rot;
  rp.base = c.base;
  rp.freq_factors = factors;
  if (c.scaling == model::RopeScaling::linear) rp.freq_scale = c.local ? 1.f : 1.f / c.factor;
  if (c.scaling == model::RopeScaling::yarn) {
    rp.freq_scale = 1.f / c.factor;
    rp.ext_factor = 1.f;
    rp.orig_ctx = 4096;
  }

  // Tokens of all sequences, their positions and page-table rows.
  std::vector<int32_t> positions, token_row;
  int max_pages = 0;
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    for (int i = 0; i < c.seqs[s].second; ++i) {
      positions.push_back(c.seqs[s].first + i);
      token_row.push_back(int(s));
    }
    max_pages = std::max(max_pages, kv_pages_for(c.seqs[s].first + c.seqs[s].second));
  }
  const int n_tokens = int(positions.size()), n_seqs = int(c.seqs.size());
  const int n_pages = max_pages * n_seqs;
  std::vector<int32_t> pages(n_pages);
  std::iota(pages.begin(), pages.end(), 0);
  std::shuffle(pages.begin(), pages.end(), rng);

  const int row = (H + 2 * HK) * D;
  std::vector<float> qkv(size_t(n_tokens) * row);
  for (auto& x : qkv) x = c.in_f16 ? f16_to_f32(f32_to_f16(unit(rng))) : unit(rng);
  std::vector<float> q_norm(D), k_norm(D);
  for (auto& x : q_norm) x = w(rng);
  for (auto& x : k_norm) x = w(rng);

  DeviceBytes d_qkv(qkv.size() * 4), d_pos(n_tokens * 4), d_row(n_tokens * 4), d_pages(pages.size() * 4);
  DeviceBytes d_qn(D * 4), d_kn(D * 4), d_freq(table.inv_freq.size() * 8), d_q(size_t(n_tokens) * H * D * 2);
  const size_t pool_elems = size_t(n_pages) * HK * P * D;
  DeviceBytes d_k(pool_elems * 2), d_v(pool_elems * 2);
  if (c.in_f16) {
    std::vector<uint16_t> h(qkv.size());
    for (size_t i = 0; i < qkv.size(); ++i) h[i] = f32_to_f16(qkv[i]);
    d_qkv.upload(h);
  } else {
    d_qkv.upload(qkv);
  }
  d_pos.upload(positions);
  d_row.upload(token_row);
  d_pages.upload(pages);
  d_qn.upload(q_norm);
  d_kn.upload(k_norm);
  d_freq.upload(table.inv_freq);
  d_q.poison();
  d_k.poison();
  d_v.poison();

  KvWriteShape shape{.head_dim = D, .n_heads = H, .n_kv_heads = HK, .n_rot = c.n_rot,
                     .rope = c.rope == model::RopeKind::neox ? kRopeNeox : kRopeNormal, .qk_norm = c.qk_norm,
                     .in_f16 = c.in_f16};
  KvWriteParams p{};
  p.qkv = d_qkv.get();
  p.qkv_stride = row;
  p.positions = d_pos.get<int32_t>();
  p.token_seq = n_seqs > 1 ? d_row.get<int32_t>() : nullptr;
  p.page_table = d_pages.get<int32_t>();
  p.max_pages = max_pages;
  p.q_norm = c.qk_norm ? d_qn.get<float>() : nullptr;
  p.k_norm = c.qk_norm ? d_kn.get<float>() : nullptr;
  p.norm_eps = 1e-6f;
  p.inv_freq = d_freq.get<double>();
  p.rope_mscale = table.mscale;
  p.q_out = d_q.get();
  p.k_pool = d_k.get();
  p.v_pool = d_v.get();
  p.n_tokens = n_tokens;
  kv_write_launch(library_for(mode).get(kv_write_key(shape)), shape, p, nullptr);
  jit::testing::sync_and_check(c.name);
  const auto q_out = d_q.download<uint16_t>(size_t(n_tokens) * H * D);
  const auto k_pool = d_k.download<uint16_t>(pool_elems), v_pool = d_v.download<uint16_t>(pool_elems);

  int bad = 0;
  std::string first;
  auto expect_close = [&](float got, double ref, double pair_mag, const std::string& where) {
    const double tol = std::ldexp(std::abs(ref), -10) + 1e-5 * pair_mag + 1e-7;
    if (!(std::abs(got - ref) <= tol) && bad++ == 0)
      first = where + ": got " + std::to_string(got) + ", want " + std::to_string(ref);
  };
  std::vector<bool> written(pool_elems, false);
  for (int t = 0; t < n_tokens; ++t) {
    const cpu::RopeAngles angles = cpu::rope_angles(positions[t], rp);
    for (int h = 0; h < H + 2 * HK; ++h) {
      const bool is_q = h < H, is_v = h >= H + HK;
      std::vector<float> x(qkv.begin() + size_t(t) * row + h * D, qkv.begin() + size_t(t) * row + (h + 1) * D);
      if (!is_v && c.qk_norm) cpu::rmsnorm(x, is_q ? q_norm : k_norm, 1e-6f, x);
      const float mag = *std::max_element(x.begin(), x.end(), [](float a, float b) { return std::abs(a) < std::abs(b); });
      if (!is_v) cpu::apply_rope(x, angles, c.rope);
      for (int d = 0; d < D; ++d) {
        size_t at;
        const uint16_t* src;
        if (is_q) {
          at = (size_t(t) * H + h) * D + d;
          src = q_out.data();
        } else {
          const int hk = is_v ? h - H - HK : h - H;
          const int page = pages[size_t(token_row[t]) * max_pages + positions[t] / P];
          at = ((size_t(page) * HK + hk) * P + positions[t] % P) * D + d;
          src = is_v ? v_pool.data() : k_pool.data();
          if (!is_v) written[at] = true;
        }
        expect_close(f16_to_f32(src[at]), x[d], 2 * std::abs(mag) * table.mscale,
                     "token " + std::to_string(t) + " head " + std::to_string(h) + " dim " + std::to_string(d));
      }
    }
  }
  EXPECT_EQ(bad, 0) << bad << " bad elements, first: " << first;
  int overwritten = 0;
  for (size_t i = 0; i < pool_elems; ++i)
    if (!written[i] && !std::isnan(f16_to_f32(k_pool[i]))) ++overwritten;
  EXPECT_EQ(overwritten, 0) << "kv_write wrote K slots no token owns";
}

TEST(AttnKvWriteGpu, MatchesCpuRopeAndNorm) {
  KILN_REQUIRE_GPU();
  using model::RopeKind;
  using model::RopeScaling;
  const std::vector<WriteCase> cases = {
      {"llama3 normal f32", 128, 8, 2, 128, RopeKind::normal, RopeScaling::llama3, 500000, 8, false, true, false, false,
       {{1000, 37}}},
      {"qwen3 neox qk-norm f16, 2 seqs", 128, 8, 2, 128, RopeKind::neox, RopeScaling::none, 1e6f, 1, false, false, true,
       true, {{0, 21}, {5000, 17}}},
      {"gpt-oss yarn d64", 64, 16, 2, 64, RopeKind::neox, RopeScaling::yarn, 150000, 32, false, false, false, false,
       {{100000, 9}, {3, 5}}},
      {"gemma3 linear global d256 qk-norm", 256, 4, 2, 256, RopeKind::neox, RopeScaling::linear, 1e6f, 8, false, false,
       true, false, {{4000, 13}}},
      {"gemma3 local d256", 256, 4, 2, 256, RopeKind::neox, RopeScaling::linear, 10000, 8, true, false, true, false,
       {{70, 3}}},
      {"partial rotation neox", 128, 4, 1, 64, RopeKind::neox, RopeScaling::none, 10000, 1, false, false, false, false,
       {{60, 10}}},
      {"partial rotation normal", 128, 4, 1, 64, RopeKind::normal, RopeScaling::none, 10000, 1, false, false, false,
       false, {{60, 10}}},
  };
  for (const WriteCase& c : cases)
    for (Mode mode : {Mode::specialized, Mode::generic}) run(c, mode);
}

}  // namespace
}  // namespace kiln::engine
