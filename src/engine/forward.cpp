#include "engine/forward.h"

#include <algorithm>
#include <cmath>

#include "engine/matvec_chain.h"
#include "jit/builtin_kernels.h"
#include "jit/cuda_check.h"
#include "kernels/embed_params.h"
#include "kernels/rmsnorm_params.h"
#include "kernels/sample_params.h"
#include "util/error.h"

namespace kiln::engine {

namespace {

constexpr int kRecentCapacity = 4096;  // distinct tokens the repeat penalty looks at

int qkv_rows(const model::HParams& hp) { return (hp.n_heads + 2 * hp.n_kv_heads) * hp.head_dim; }

jit::Constant shape_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::shape}; }
jit::Constant tuning_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::tuning}; }

constexpr int kEmbedThreads = 256;

// The weight products of a layer and the LM head for m tokens. Prefill normalizes the residual
// stream with rmsnorm kernels. Decode (mat-vecs) fuses each RMS norm: into the product that
// reads it where matvec_q8r_stream can normalize its own input (in_norm), else into the residual
// product before it (norm: its last block writes xn_). last_down is the last layer's down,
// whose norm the LM head reads. chain: decode runs each layer's o, gate+up, down and the next
// layer's qkv (the last layer's: the LM head) as one matvec_chain (ForwardConfig::matvec_chain,
// where the chain runs both the qkv and the head form, and the head reads every row the others
// do: one token, or all_logits; the chain has one token count for its four products).
struct ProductShapes {
  MatmulShape qkv, o, up, down, last_down, head;
  bool chain = false;
};
ProductShapes product_shapes(const model::Model& model, int m, const MatmulTarget& target, bool matvec_chain,
                             bool all_logits) {
  const auto& hp = model.hp;
  const int heads = hp.n_heads * hp.head_dim;
  ProductShapes s{
      .qkv = {.n = qkv_rows(hp), .k = hp.n_embd, .out = MatmulOut::f32, .has_bias = model.arch.qkv_bias},
      .o = {.n = hp.n_embd, .k = heads, .out = MatmulOut::add_f32, .has_bias = model.arch.output_bias},
      .up = {.n = hp.n_ff, .k = hp.n_embd, .out = MatmulOut::gated_f16, .act = MatmulAct::silu},
      .down = {.n = hp.n_embd, .k = hp.n_ff, .out = MatmulOut::add_f32},
      .last_down = {},
      .head = {.n = hp.n_vocab, .k = hp.n_embd, .out = MatmulOut::f32},
  };
  if (matmul_is_matvec(m)) {
    const int bucket = matmul_bucket(m);
    for (MatmulShape* reader : {&s.qkv, &s.up, &s.head}) reader->in_norm = matvec_takes_norm(*reader, bucket, target);
    s.o.norm = !s.up.in_norm;
    s.down.norm = !s.qkv.in_norm;
  }
  s.last_down = s.down;
  s.last_down.norm = matmul_is_matvec(m) && !s.head.in_norm;
  const int bucket = matmul_bucket(m);
  s.chain = matvec_chain && matmul_is_matvec(m) && (bucket == 1 || all_logits) &&
            matvec_chain_fits({s.o, s.up, s.down, s.qkv}, bucket, target) &&
            matvec_chain_fits({s.o, s.up, s.last_down, s.head}, bucket, target);
  return s;
}

}  // namespace

ForwardConfig forward_config(const model::Model& model, int n_ctx, int n_ubatch, const jit::Device& device,
                             KvTypes kv_types) {
  const auto& hp = model.hp;
  ForwardConfig c;
  c.n_ctx = n_ctx;
  c.n_ubatch = n_ubatch;
  c.target.sm_count = device.sm_count;
  c.target.cc_major = device.cc_major;
  c.kv_types = kv_types;
  c.kv_cache_bytes = kv_cache_bytes(model, n_ctx, kv_types);
  const uint64_t u = n_ubatch, e = hp.n_embd;
  const uint64_t heads = uint64_t(hp.n_heads) * hp.head_dim;
  c.activation_bytes = u * (8 + 6 * e + 2 * uint64_t(hp.n_ff) + 4 * qkv_rows(hp) + 4 * heads) + 4ull * hp.n_vocab +
                       attention_workspace_bytes(model, n_ctx, n_ubatch, device.sm_count, kv_types);
  return c;
}

Forward::Forward(const model::Model& model, const Weights* weights, const ForwardConfig& config, cudaStream_t stream)
    : model_(model),
      weights_(weights ? *weights : no_weights_),
      config_(config),
      stream_(stream),
      kv_(weights ? KvCache(model, config.n_ctx, 1, config.kv_types)
                  : KvCache(model, config.n_ctx, KvCache::NoDevice{}, config.kv_types)),
      attn_(attention_config(model, config.n_ctx, config.n_ubatch,
                             {.sm_count = config.target.sm_count, .cc_major = config.target.cc_major}, weights != nullptr,
                             config.kv_types)) {
  const auto& hp = model.hp;
  attn_.fused_write_splits = config.fused_write_splits;
  if (!weights) {
    no_weights_.layers.resize(hp.n_layers);
    return;
  }
  const size_t u = config.n_ubatch;
  tokens_ = DeviceBuffer(u * 4, "token ids");
  positions_ = DeviceBuffer(u * 4, "positions");
  hidden_ = DeviceBuffer(u * hp.n_embd * 4, "hidden states");
  xn_ = DeviceBuffer(u * hp.n_embd * 2, "normed activations");
  ffn_act_ = DeviceBuffer(u * hp.n_ff * 2, "FFN activations");
  qkv_ = DeviceBuffer(u * qkv_rows(hp) * 4, "qkv");
  q_ = DeviceBuffer(u * hp.n_heads * hp.head_dim * 2, "queries");
  attn_out_ = DeviceBuffer(u * hp.n_heads * hp.head_dim * 2, "attention output");
  logits_ = DeviceBuffer(size_t(hp.n_vocab) * 4, "logits");
  sampled_ = DeviceBuffer(4, "sampled token");
  recent_ = DeviceBuffer(kRecentCapacity * 4, "recent tokens");
  norm_counter_ = DeviceBuffer(4, "norm counter");
  KILN_CUDA_CHECK(cudaMemset(norm_counter_.get(), 0, 4), "norm counter");
  chain_barrier_ = DeviceBuffer(8, "chain barrier");
  KILN_CUDA_CHECK(cudaMemset(chain_barrier_.get(), 0, 8), "chain barrier");
}

std::vector<int> Forward::buckets() const {
  std::vector<int> out;
  for (int b : matmul_buckets()) {
    out.push_back(b);
    if (b >= config_.n_ubatch) break;
  }
  return out;
}

void Forward::set_inputs(std::span<const int32_t> tokens) {
  const int n = int(tokens.size());
  KILN_CHECK(n <= config_.n_ubatch, "set_inputs: ", n, " tokens exceed the micro-batch of ", config_.n_ubatch);
  host_inputs_.assign(tokens.begin(), tokens.end());
  for (int i = 0; i < n; ++i) host_inputs_.push_back(n_past_ + i);
  KILN_CUDA_CHECK(cudaMemcpyAsync(tokens_.get(), host_inputs_.data(), n * 4, cudaMemcpyHostToDevice, stream_));
  KILN_CUDA_CHECK(cudaMemcpyAsync(positions_.get(), host_inputs_.data() + n, n * 4, cudaMemcpyHostToDevice, stream_));
  kv_.prepare_step(n_past_, n, stream_);
}

int Forward::graph_bucket() const { return attention_graph_bucket(attn_, n_past_ + 1); }

void Forward::truncate(int n_keep) {
  KILN_CHECK(n_keep >= 0, "truncate: negative length");
  n_past_ = std::min(n_past_, n_keep);
}

void Forward::rmsnorm(plan::KernelPlan& plan, const float* x, const DeviceBuffer& weight, void* out, int rows) {
  const int n_embd = model_.hp.n_embd;
  const jit::Kernel* k = plan.next([&] { return jit::rmsnorm_key({.n_embd = n_embd, .out_f16 = true}); });
  if (!k) return;
  RmsnormParams p{};
  p.x = x;
  p.weight = weight.as<float>();
  p.out = out;
  p.n_rows = rows;
  p.n_embd = n_embd;
  p.eps = model_.hp.rms_eps;
  k->launch(jit::rmsnorm_launch(k->key(), rows), stream_, p);
}

MatmulArgs Forward::normed_input(MatmulArgs args, const MatmulShape& shape, const DeviceBuffer& norm_weight,
                                  int first_row) {
  const int n_embd = model_.hp.n_embd;
  args.lda = n_embd;
  if (shape.in_norm) {
    args.a = hidden_.as<float>() + size_t(first_row) * n_embd;
    args.in_norm_weight = norm_weight.as<float>();
    args.in_norm_eps = model_.hp.rms_eps;
  } else {
    args.a = xn_.as<uint16_t>() + size_t(first_row) * n_embd;
  }
  return args;
}

void Forward::matmul(plan::KernelPlan& plan, const MatmulShape& shape, const MatmulArgs& args, bool whole_ring) {
  const jit::Kernel* k = plan.next([&] {  // runs when the plan is recorded, not at each launch
    MatmulTuning tuning;
    const bool matvec = matmul_is_matvec(args.m);
    if (config_.stream_stages && matvec)
      tuning.stream_stages = matvec_stream_stages_up_to(shape, matmul_bucket(args.m), config_.stream_stages);
    if (whole_ring && matvec) {
      const int chunks = matvec_stream_chunks_per_cta(shape, config_.target.sm_count);
      tuning.stream_stages =
          std::max(kMatvecStreamStages, matvec_stream_stages_up_to(shape, matmul_bucket(args.m), chunks));
    }
    return matmul_key(shape, args.m, config_.target, tuning);
  });
  if (k) matmul_launch(*k, shape, args, stream_);
}

MatmulArgs Forward::qkv_args(const MatmulShape& shape, int il, int n) {
  const LayerWeights& w = weights_.layers[il];
  const MatmulArgs qkv{.w = {w.wqkv.qs.get(), w.wqkv.d.get()}, .bias = w.bqkv.as<float>(), .out = qkv_.get(),
                       .ldo = shape.n, .m = n};
  return normed_input(qkv, shape, w.attn_norm, 0);
}

MatmulArgs Forward::head_args(const MatmulShape& shape, int n, bool all_logits) {
  const Q8rMatrix& head = weights_.lm_head();
  const MatmulArgs lm{.w = {head.qs.get(), head.d.get()}, .out = all_logits ? logits_all_.get() : logits_.get(),
                      .ldo = model_.hp.n_vocab, .m = all_logits ? n : 1};
  return normed_input(lm, shape, weights_.output_norm, matmul_is_matvec(n) && !all_logits ? n - 1 : 0);
}

void Forward::layer(plan::KernelPlan& plan, int il, int n, bool all_logits) {
  const auto& hp = model_.hp;
  const LayerWeights& w = weights_.layers[il];
  float* hidden = hidden_.as<float>();
  const bool decode = matmul_is_matvec(n);
  const bool last = il + 1 == hp.n_layers;
  const ProductShapes shape = product_shapes(model_, n, config_.target, config_.matvec_chain, all_logits);
  const MatmulShape& down_shape = last ? shape.last_down : shape.down;
  const auto with_norm = [&](MatmulArgs args, const DeviceBuffer& weight) {
    args.norm_weight = weight.as<float>();
    args.norm_out = xn_.get();
    args.norm_counter = norm_counter_.as<int>();
    args.norm_eps = hp.rms_eps;
    return args;
  };
  const DeviceBuffer& next_norm = last ? weights_.output_norm : weights_.layers[il + 1].attn_norm;

  // At decode qkv normalizes its input itself, or the previous layer's down product wrote it
  // (layer 0: the rmsnorm kernel); with the chain, the previous layer's chain ran it.
  if (!decode || (il == 0 && !shape.qkv.in_norm)) rmsnorm(plan, hidden, w.attn_norm, xn_.get(), n);
  if (!shape.chain || il == 0) matmul(plan, shape.qkv, qkv_args(shape.qkv, il, n));

  AttentionLayerArgs attn{.qkv = qkv_.as<float>(),
                          .positions = positions_.as<int32_t>(),
                          .q_norm = w.q_norm.as<float>(),
                          .k_norm = w.k_norm.as<float>(),
                          .q = q_.get(),
                          .out = attn_out_.get(),
                          .n_tokens = n};
  attention_layer(plan, attn_, kv_, il, attn, stream_);

  MatmulArgs o{.a = attn_out_.get(), .lda = shape.o.k, .w = {w.wo.qs.get(), w.wo.d.get()}, .bias = w.bo.as<float>(),
               .out = hidden, .ldo = hp.n_embd, .m = n};
  const MatmulArgs up{.w = {w.ffn_gate.qs.get(), w.ffn_gate.d.get()}, .w_up = {w.ffn_up.qs.get(), w.ffn_up.d.get()},
                      .out = ffn_act_.get(), .ldo = hp.n_ff, .m = n};
  MatmulArgs down{.a = ffn_act_.get(), .lda = hp.n_ff, .w = {w.ffn_down.qs.get(), w.ffn_down.d.get()},
                  .out = hidden, .ldo = hp.n_embd, .m = n};
  if (shape.chain) {
    const ChainShapes shapes{shape.o, shape.up, down_shape, last ? shape.head : shape.qkv};
    const jit::Kernel* k = plan.next([&] {
      const int bucket = matmul_bucket(n);
      const int stages = config_.stream_stages ? matvec_chain_stages_up_to(shapes, bucket, config_.stream_stages)
                                               : kMatvecStreamStages;
      return matvec_chain_key(shapes, bucket, config_.target, stages);
    });
    if (!k) return;
    const ChainArgs args{o, normed_input(up, shape.up, w.ffn_norm, 0), down,
                         last ? head_args(shape.head, n, all_logits) : qkv_args(shape.qkv, il + 1, n)};
    matvec_chain_launch(*k, shapes, args, chain_barrier_.as<unsigned long long>(), stream_);
    return;
  }
  matmul(plan, shape.o, shape.o.norm ? with_norm(o, w.ffn_norm) : o, config_.o_whole_ring);
  if (!decode) rmsnorm(plan, hidden, w.ffn_norm, xn_.get(), n);
  matmul(plan, shape.up, normed_input(up, shape.up, w.ffn_norm, 0));
  matmul(plan, down_shape, down_shape.norm ? with_norm(down, next_norm) : down);
}

void Forward::run(plan::KernelPlan& plan, int n, bool all_logits) {
  const auto& hp = model_.hp;
  float* hidden = hidden_.as<float>();
  const jit::Kernel* embed = plan.next([&] {
    jit::KernelKey key;
    key.kernel = "embed";
    key.file = "embed.cuh";
    key.constants = {shape_const("n_embd", hp.n_embd), tuning_const("threads", kEmbedThreads)};
    return key;
  });
  if (embed) {
    EmbedParams p{};
    p.tokens = tokens_.as<int32_t>();
    p.qs = weights_.token_embd.qs.get();
    p.d = weights_.token_embd.d.get();
    p.out = hidden;
    p.n_tokens = n;
    p.n_embd = hp.n_embd;
    p.k_padded = int(weights_.token_embd.layout.k_padded);
    p.scale = model_.arch.scale_embeddings ? std::sqrt(float(hp.n_embd)) : 1.f;
    embed->launch(dim3(n), dim3(kEmbedThreads), 0, stream_, p);
  }
  // Every token's logits go to their own buffer, made on first use: logits_ stays where the
  // decode graphs write.
  if (all_logits && !plan.recording() && !logits_all_.get())
    logits_all_ = DeviceBuffer(size_t(config_.n_ubatch) * hp.n_vocab * 4, "logits of every token");
  for (int il = 0; il < hp.n_layers; ++il) layer(plan, il, n, all_logits);

  const int rows = all_logits ? n : 1;
  // At decode the head normalizes its rows itself (or the last layer's chain ran it), or the
  // last layer's down product normalized all n rows; prefill normalizes just the `rows` used,
  // into xn_'s first rows.
  const bool decode = matmul_is_matvec(n);
  if (!decode) rmsnorm(plan, hidden + size_t(n - rows) * hp.n_embd, weights_.output_norm, xn_.get(), rows);
  const ProductShapes shape = product_shapes(model_, n, config_.target, config_.matvec_chain, all_logits);
  if (!shape.chain) matmul(plan, shape.head, head_args(shape.head, n, all_logits));
  if (plan.recording()) return;
  n_rows_last_ = rows;
  last_logits_ = all_logits ? logits_all_.as<float>() : logits_.as<float>();
}

std::vector<float> Forward::download_logits(int rows) {
  const int n_vocab = model_.hp.n_vocab;
  KILN_CHECK(rows <= n_rows_last_, "download_logits: ", rows, " rows asked, ", n_rows_last_, " computed");
  std::vector<float> out(size_t(rows) * n_vocab);
  KILN_CUDA_CHECK(cudaMemcpyAsync(out.data(), last_logits_ + size_t(n_rows_last_ - rows) * n_vocab,
                                  out.size() * 4, cudaMemcpyDeviceToHost, stream_));
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return out;
}

jit::KernelKey Forward::sample_key() const {
  jit::KernelKey key;
  key.kernel = "sample";
  key.file = "sample.cuh";
  key.constants = {shape_const("n_vocab", model_.hp.n_vocab)};
  return key;
}

int Forward::sample(const jit::Kernel& kernel, const cpu::SamplerSettings& settings, float uniform,
                    std::span<const int32_t> recent) {
  const int n_vocab = model_.hp.n_vocab;
  KILN_CHECK(n_rows_last_ >= 1, "sample: no logits computed yet");
  const size_t n_recent = std::min<size_t>(recent.size(), kRecentCapacity);
  if (n_recent)
    KILN_CUDA_CHECK(cudaMemcpyAsync(recent_.get(), recent.data() + recent.size() - n_recent, n_recent * 4,
                                    cudaMemcpyHostToDevice, stream_));
  SampleParams p{};
  p.logits = last_logits_ + size_t(n_rows_last_ - 1) * n_vocab;
  p.out_token = sampled_.as<int32_t>();
  p.n_vocab = n_vocab;
  p.temperature = settings.temperature;
  p.top_k = settings.top_k;
  p.top_p = settings.top_p;
  p.min_p = settings.min_p;
  p.uniform = uniform;
  p.recent = recent_.as<int32_t>();
  p.n_recent = int(n_recent);
  p.repeat_penalty = settings.repeat_penalty;
  kernel.launch(dim3(1), dim3(1024), 0, stream_, p);
  int32_t token = 0;
  KILN_CUDA_CHECK(cudaMemcpyAsync(&token, sampled_.get(), 4, cudaMemcpyDeviceToHost, stream_));
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return token;
}

}  // namespace kiln::engine
