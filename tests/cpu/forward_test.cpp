// CpuModel on small models built in memory (no loader involved), so the KV cache, sliding
// windows, sinks and MoE are exercised at sizes where a window is shorter than the sequence.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "cpu/forward.h"
#include "gguf/types.h"
#include "util/error.h"

namespace kiln::cpu {
namespace {

using model::Model;
using model::TensorRef;

// Owns the tensors of a hand-built model.
class TinyModel {
 public:
  struct Shape {
    int n_layers = 2, n_embd = 64, n_heads = 4, n_kv_heads = 2, head_dim = 16, n_ff = 96;
    int n_vocab = 50, n_experts = 0, n_experts_used = 0;
    gguf::Type weight_type = gguf::Type::Q8_0;
  };

  TinyModel(const model::ArchTraits& arch, const Shape& s, uint32_t seed) : s_(s), rng_(seed) {
    auto& m = model_;
    m.arch = arch;
    auto& hp = m.hp;
    hp.n_layers = s.n_layers;
    hp.n_embd = s.n_embd;
    hp.n_ff = s.n_ff;
    hp.n_heads = s.n_heads;
    hp.n_kv_heads = s.n_kv_heads;
    hp.head_dim = hp.head_dim_v = hp.rope_dim = s.head_dim;
    hp.n_vocab = s.n_vocab;
    hp.n_ctx_train = 64;
    hp.rms_eps = 1e-6f;
    hp.n_experts = s.n_experts;
    hp.n_experts_used = s.n_experts_used;
    hp.n_ff_expert = s.n_ff;
    const int q = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
    m.token_embd = weight("token_embd", {s.n_embd, s.n_vocab});
    m.output_norm = norm("output_norm", s.n_embd);
    m.output = weight("output", {s.n_embd, s.n_vocab});
    for (int i = 0; i < s.n_layers; ++i) {
      model::Layer l;
      l.index = i;
      l.rope_base = 10000.f;
      l.attn_norm = norm("attn_norm", s.n_embd);
      l.wq = weight("wq", {s.n_embd, q});
      l.wk = weight("wk", {s.n_embd, kv});
      l.wv = weight("wv", {s.n_embd, kv});
      l.wo = weight("wo", {q, s.n_embd});
      if (arch.qkv_bias) {
        l.bq = f32("bq", {q}, 0.1f);
        l.bk = f32("bk", {kv}, 0.1f);
        l.bv = f32("bv", {kv}, 0.1f);
      }
      if (arch.output_bias) l.bo = f32("bo", {s.n_embd}, 0.1f);
      if (arch.qk_norm) {
        l.q_norm = norm("q_norm", s.head_dim);
        l.k_norm = norm("k_norm", s.head_dim);
      }
      if (arch.attn_sinks) l.sinks = f32("sinks", {s.n_heads}, 1.f);
      if (arch.post_attn_norm || arch.ffn_norm_is_post_attention)
        l.post_attn_norm = norm("post_attention_norm", s.n_embd);
      if (!arch.ffn_norm_is_post_attention) l.ffn_norm = norm("ffn_norm", s.n_embd);
      if (arch.post_ffn_norm) l.post_ffn_norm = norm("post_ffw_norm", s.n_embd);
      if (s.n_experts > 0) {
        l.router = f32("router", {s.n_embd, s.n_experts}, 0.5f);
        l.gate_exps = weight("gate_exps", {s.n_embd, s.n_ff, s.n_experts});
        l.up_exps = weight("up_exps", {s.n_embd, s.n_ff, s.n_experts});
        l.down_exps = weight("down_exps", {s.n_ff, s.n_embd, s.n_experts});
        if (arch.expert_bias) {
          l.router_bias = f32("router_bias", {s.n_experts}, 0.5f);
          l.gate_exps_bias = f32("gate_exps_bias", {s.n_ff, s.n_experts}, 0.1f);
          l.up_exps_bias = f32("up_exps_bias", {s.n_ff, s.n_experts}, 0.1f);
          l.down_exps_bias = f32("down_exps_bias", {s.n_embd, s.n_experts}, 0.1f);
        }
      } else {
        l.ffn_gate = weight("ffn_gate", {s.n_embd, s.n_ff});
        l.ffn_up = weight("ffn_up", {s.n_embd, s.n_ff});
        l.ffn_down = weight("ffn_down", {s.n_ff, s.n_embd});
      }
      m.layers.push_back(l);
    }
  }

  Model& model() { return model_; }

  // Makes even layers local with the given window (gpt-oss pattern), or all global for 0.
  void set_window(int window) {
    for (auto& l : model_.layers) {
      l.is_local = window > 0 && l.index % 2 == 0;
      l.window = l.is_local ? window : 0;
    }
  }

  TensorRef add_rope_freqs() {
    std::vector<float> factors(size_t(s_.head_dim / 2));
    for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.f + float(i);
    return model_.rope_freqs = tensor("rope_freqs", gguf::Type::F32, {s_.head_dim / 2}, factors);
  }

 private:
  TensorRef tensor(const std::string& name, gguf::Type type, std::vector<int64_t> shape,
                   const std::vector<float>& values) {
    auto t = std::make_unique<gguf::Tensor>();
    t->name = name;
    t->type = type;
    t->shape = std::move(shape);
    auto bytes = std::make_unique<std::vector<uint8_t>>(gguf::bytes_for(type, t->elements()));
    gguf::quantize(type, values.data(), bytes->data(), t->elements());
    t->bytes = bytes->size();
    t->data = bytes->data();
    buffers_.push_back(std::move(bytes));
    tensors_.push_back(std::move(t));
    return tensors_.back().get();
  }
  std::vector<float> random(int64_t n, float scale) {
    std::normal_distribution<float> dist(0.f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng_);
    return v;
  }
  static int64_t count(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  TensorRef weight(const std::string& name, std::vector<int64_t> shape) {
    const float scale = 1.f / std::sqrt(float(shape[0]));
    return tensor(name, s_.weight_type, shape, random(count(shape), scale));
  }
  TensorRef f32(const std::string& name, std::vector<int64_t> shape, float scale) {
    return tensor(name, gguf::Type::F32, shape, random(count(shape), scale));
  }
  TensorRef norm(const std::string& name, int n) {
    auto v = random(n, 0.1f);
    for (auto& x : v) x += 1.f;
    return tensor(name, gguf::Type::F32, {n}, v);
  }

  Shape s_;
  std::mt19937 rng_;
  Model model_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> buffers_;
  std::vector<std::unique_ptr<gguf::Tensor>> tensors_;
};

model::ArchTraits gpt_oss_like() {
  model::ArchTraits a;
  a.name = "gpt-oss-like";
  a.rope = model::RopeKind::neox;
  a.activation = model::FfnActivation::swiglu_oai;
  a.routing = model::MoeRouting::topk_softmax;
  a.sliding = model::SlidingPattern::alternate;
  a.qkv_bias = a.output_bias = a.attn_sinks = a.expert_bias = true;
  a.ffn_norm_is_post_attention = true;
  return a;
}

model::ArchTraits gemma_like() {
  model::ArchTraits a;
  a.name = "gemma-like";
  a.activation = model::FfnActivation::gelu_tanh_gated;
  a.qk_norm = a.post_attn_norm = a.post_ffn_norm = a.scale_embeddings = true;
  return a;
}

model::ArchTraits llama_moe_like() {
  model::ArchTraits a;
  a.name = "llama-moe-like";
  a.rope = model::RopeKind::normal;
  a.routing = model::MoeRouting::softmax_topk;
  return a;
}

// max |a - b| / max(rms(b), 1e-6) over the logits.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double sq = 0, worst = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    sq += double(b[i]) * b[i];
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  }
  return worst / std::max(std::sqrt(sq / double(b.size())), 1e-6);
}

std::vector<float> run_in_chunks(CpuModel& cpu, const std::vector<int32_t>& tokens,
                                 const std::vector<size_t>& chunks) {
  std::vector<float> all;
  size_t at = 0;
  for (size_t n : chunks) {
    auto part = cpu.forward(std::span(tokens).subspan(at, n));
    all.insert(all.end(), part.begin(), part.end());
    at += n;
  }
  EXPECT_EQ(at, tokens.size());
  return all;
}

const std::vector<int32_t> kTokens = {3, 17, 42, 0, 49, 8, 8, 23, 5};

void expect_cache_consistent(TinyModel& tiny) {
  CpuModel cpu(tiny.model(), 2, 32);
  const auto prefill = cpu.forward(kTokens);
  ASSERT_EQ(prefill.size(), kTokens.size() * size_t(tiny.model().hp.n_vocab));
  for (float v : prefill) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(cpu.position(), int(kTokens.size()));
  cpu.reset();
  EXPECT_EQ(cpu.position(), 0);
  const auto one_by_one = run_in_chunks(cpu, kTokens, std::vector<size_t>(kTokens.size(), 1));
  EXPECT_LE(relative_error(one_by_one, prefill), 1e-4);
  cpu.reset();
  const auto mixed = run_in_chunks(cpu, kTokens, {4, 1, 4});
  EXPECT_LE(relative_error(mixed, prefill), 1e-4);
}

TEST(CpuForward, GptOssLikeCacheMatchesPrefill) {
  TinyModel::Shape s;
  s.n_experts = 4;
  s.n_experts_used = 2;
  TinyModel tiny(gpt_oss_like(), s, 1);
  auto& hp = tiny.model().hp;
  hp.rope_scaling = model::RopeScaling::yarn;
  hp.rope_factor = 32.f;
  hp.rope_orig_ctx = 16;
  tiny.set_window(3);  // shorter than the 9 tokens
  expect_cache_consistent(tiny);
}

TEST(CpuForward, GemmaLikeCacheMatchesPrefill) {
  TinyModel tiny(gemma_like(), {}, 2);
  tiny.model().hp.rope_scaling = model::RopeScaling::linear;
  tiny.model().hp.rope_factor = 8.f;
  tiny.set_window(2);
  expect_cache_consistent(tiny);
}

TEST(CpuForward, LlamaMoeLikeCacheMatchesPrefill) {
  TinyModel::Shape s;
  s.n_experts = 3;
  s.n_experts_used = 2;
  s.weight_type = gguf::Type::F32;
  TinyModel tiny(llama_moe_like(), s, 3);
  tiny.model().hp.rope_scaling = model::RopeScaling::llama3;
  tiny.add_rope_freqs();
  expect_cache_consistent(tiny);
}

// The features must change the result: a test that cannot fail tests nothing.
TEST(CpuForward, WindowSinksAndFreqFactorsMatter) {
  TinyModel::Shape s;
  s.n_experts = 4;
  s.n_experts_used = 2;
  TinyModel tiny(gpt_oss_like(), s, 4);
  auto logits_now = [&] { return CpuModel(tiny.model(), 1, 32).forward(kTokens); };
  const auto global = logits_now();
  tiny.set_window(3);
  const auto windowed = logits_now();
  // The first 3 positions cannot see past the window yet: identical there, different after.
  const size_t vocab = size_t(tiny.model().hp.n_vocab);
  for (size_t i = 0; i < 3 * vocab; ++i) ASSERT_EQ(windowed[i], global[i]) << i;
  EXPECT_GT(relative_error(windowed, global), 1e-3);

  for (auto& l : tiny.model().layers) l.sinks = nullptr;
  EXPECT_GT(relative_error(logits_now(), windowed), 1e-3);

  TinyModel llama(llama_moe_like(), {}, 5);
  const auto plain = CpuModel(llama.model(), 1, 32).forward(kTokens);
  llama.add_rope_freqs();
  const auto factored = CpuModel(llama.model(), 1, 32).forward(kTokens);
  // Position 0 has no rotation: identical; later positions differ.
  for (size_t i = 0; i < vocab; ++i) ASSERT_EQ(factored[i], plain[i]) << i;
  EXPECT_GT(relative_error(factored, plain), 1e-3);
}

TEST(CpuForward, TruncateThenContinueEqualsPrefill) {
  TinyModel tiny(gemma_like(), {}, 7);
  tiny.set_window(2);
  const std::vector<int32_t> first = {3, 17, 42, 0, 49}, second = {8, 23};
  const std::vector<int32_t> kept = {3, 17, 42, 8, 23};
  CpuModel cpu(tiny.model(), 2, 32);
  cpu.forward(first);
  cpu.truncate(3);
  EXPECT_EQ(cpu.position(), 3);
  const auto continued = cpu.forward(second);
  const auto reference = CpuModel(tiny.model(), 2, 32).forward(kept);
  const size_t vocab = size_t(tiny.model().hp.n_vocab);
  const std::vector<float> tail(reference.end() - long(2 * vocab), reference.end());
  EXPECT_LE(relative_error(continued, tail), 1e-4);
}

TEST(CpuForward, RejectsBadInput) {
  TinyModel tiny(gemma_like(), {}, 6);
  CpuModel cpu(tiny.model(), 1, 4);
  EXPECT_THROW(cpu.forward(std::vector<int32_t>{}), Error);
  EXPECT_THROW(cpu.forward(std::vector<int32_t>{1, 50}), Error);
  EXPECT_THROW(cpu.forward(std::vector<int32_t>{-1}), Error);
  EXPECT_EQ(cpu.position(), 0);  // failed calls change nothing
  cpu.forward(std::vector<int32_t>{1, 2, 3});
  try {
    cpu.forward(std::vector<int32_t>{1, 2});
    FAIL() << "expected a context overflow";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceed the context of 4"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(cpu.position(), 3);
}

}  // namespace
}  // namespace kiln::cpu
