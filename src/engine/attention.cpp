#include "engine/attention.h"

#include <cmath>
#include <map>

#include "cpu/ops.h"
#include "jit/cuda_check.h"
#include "jit/device.h"

namespace kiln::engine {

namespace {

int key_constant(const jit::Kernel& kernel, const char* name) { return static_cast<int>(kernel.key().get(name)); }

// The launched kernel must have been built for this shape (generic keys have 0 for shapes). Every
// attention key holds head_dim, gqa, n_kv_heads and sinks; the combine kernels' hold nothing more.
void check_kernel_heads(const jit::Kernel& kernel, const AttnShape& s) {
  const int gqa = key_constant(kernel, "gqa"), n_kv = key_constant(kernel, "n_kv_heads");
  KILN_CHECK(key_constant(kernel, "head_dim") == s.head_dim && (gqa == 0 || gqa == s.gqa()) &&
                 (n_kv == 0 || n_kv == s.n_kv_heads) && key_constant(kernel, "sinks") == int(s.sinks),
             kernel.name(), ": built for another shape than head_dim=", s.head_dim, " heads=", s.n_heads, "/",
             s.n_kv_heads, " sinks=", s.sinks);
}

// The same for the kernels that read the cache, whose keys also hold the window and page size.
void check_kernel_shape(const jit::Kernel& kernel, const AttnShape& s) {
  check_kernel_heads(kernel, s);
  const int window = key_constant(kernel, "window"), page = key_constant(kernel, "page_size");
  KILN_CHECK((window == 0 || window == (s.window > 0 ? s.window : -1)) && (page == 0 || page == s.page_size),
             kernel.name(), ": built for another window or page size than window=", s.window,
             " page_size=", s.page_size);
}

AttnParams make_params(const AttnShape& s, const AttnArgs& a) {
  AttnParams p{};
  p.q = a.q;
  p.k_pool = a.k_pool;
  p.v_pool = a.v_pool;
  p.out = a.out;
  p.q_start = a.batch.q_start;
  p.kv_len = a.batch.kv_len;
  p.page_table = a.batch.page_table;
  p.sinks = a.sinks;
  p.max_pages = a.batch.max_pages;
  p.scale_log2 = a.scale * 1.4426950408889634f;
  p.gqa = s.gqa();
  p.n_kv_heads = s.n_kv_heads;
  p.window = s.window;
  p.page_size = s.page_size;
  return p;
}

void check_args(const jit::Kernel& kernel, const AttnShape& s, const AttnArgs& a) {
  check_kernel_shape(kernel, s);
  KILN_CHECK((a.q || a.write) && a.k_pool && a.v_pool && a.out && a.batch.q_start && a.batch.kv_len &&
                 a.batch.page_table,
             kernel.name(), ": a null pointer among q, pools, out and the batch arrays");
  KILN_CHECK(!s.sinks || a.sinks, kernel.name(), ": the shape has sinks but no sink logits were given");
  KILN_CHECK(a.scale > 0.f, kernel.name(), ": softmax scale must be positive, got ", a.scale);
  KILN_CHECK(a.batch.n_seqs >= 1 && a.batch.max_pages >= 1, kernel.name(), ": empty batch (", a.batch.n_seqs,
             " sequences)");
}

}  // namespace

void attn_prefill_launch(const jit::Kernel& kernel, const jit::Kernel* combine, const AttnShape& s,
                         const AttnArgs& args, int splits, cudaStream_t stream) {
  check_args(kernel, s, args);
  if (args.batch.max_q == 0) return;
  const int warps = key_constant(kernel, "warps");
  const int block_m = 16 * warps;
  const long long rows = static_cast<long long>(args.batch.max_q) * s.gqa();
  const unsigned tiles = static_cast<unsigned>((rows + block_m - 1) / block_m);
  KILN_CHECK(splits >= 1 && splits <= kAttnPrefillMaxSplits, kernel.name(), ": ", splits, " key splits (1..",
             kAttnPrefillMaxSplits, ")");
  AttnParams p = make_params(s, args);
  p.splits = splits;
  if (splits > 1) {
    KILN_CHECK(combine && combine->key().get("block_m") == block_m, kernel.name(), ": key splits need the combine "
               "kernel of its rows per CTA");
    check_kernel_heads(*combine, s);
    const uint64_t rows_total = uint64_t(tiles) * block_m * s.n_kv_heads * args.batch.n_seqs * splits;
    const uint64_t need = rows_total * (s.head_dim + 2) * 4;
    KILN_CHECK(args.workspace && args.workspace_bytes >= need, kernel.name(), ": ", splits, " key splits need ", need,
               " bytes of workspace, it has ", args.workspace_bytes);
    p.partial_o = args.workspace;
    p.partial_ml = args.workspace + rows_total * s.head_dim;
  }
  const int wgmma = key_constant(kernel, "wgmma");
  // The warp-specialized kernel (wgmma 3) adds a producer warpgroup to its 8 consumer warps.
  kernel.launch(dim3(tiles * splits, s.n_kv_heads, args.batch.n_seqs), dim3(32 * warps + (wgmma == 3 ? 128 : 0)),
                attn_prefill_smem_bytes(s.head_dim, warps, wgmma), stream, p);
  // The combine: a warp per query row, 4 a block.
  if (splits > 1) combine->launch(dim3(tiles * block_m / 4, s.n_kv_heads, args.batch.n_seqs), dim3(128), 0, stream, p);
}

void attn_decode_launch(const jit::Kernel& decode, const jit::Kernel* combine, const AttnShape& s,
                        const AttnArgs& args, int n_splits, cudaStream_t stream) {
  check_args(decode, s, args);
  KILN_CHECK(args.batch.max_q == 1 && args.batch.n_tokens == args.batch.n_seqs, decode.name(),
             ": decode takes one query token per sequence, the batch has ", args.batch.n_tokens, " tokens over ",
             args.batch.n_seqs, " sequences");
  KILN_CHECK(n_splits >= 1 && n_splits <= kAttnMaxSplits, decode.name(), ": ", n_splits, " splits (1..",
             kAttnMaxSplits, ")");
  // Partials are laid out for as many splits as the workspace holds (up to kAttnMaxSplits).
  const uint64_t per_split = attn_decode_workspace_bytes(s, args.batch.n_seqs, 1);
  const int room = int(std::min<uint64_t>(kAttnMaxSplits, args.workspace ? args.workspace_bytes / per_split : 0));
  KILN_CHECK(n_splits == 1 || room >= n_splits, decode.name(), ": ", n_splits, " splits of ", args.batch.n_seqs,
             " sequences need ", per_split * n_splits, " bytes of workspace, it has ", args.workspace_bytes);
  AttnParams p = make_params(s, args);
  const bool writes = decode.key().kernel == "attn_decode_write";
  KILN_CHECK(writes == (args.write != nullptr), decode.name(), writes ? ": needs kv_write's arguments (args.write)"
                                                                      : ": got kv_write's arguments it does not read");
  if (writes) {
    KILN_CHECK(args.write->k_pool == args.k_pool && args.write->v_pool == args.v_pool, decode.name(),
               ": kv_write's pools are not the ones attention reads");
    p.write = *args.write;
  }
  p.max_splits = std::max(1, room);
  p.splits = n_splits;
  if (n_splits > 1) {
    KILN_CHECK(combine && combine->key().kernel == "attn_decode_combine", decode.name(), ": ", n_splits,
               " splits need the combine kernel");
    check_kernel_heads(*combine, s);
    p.partial_o = args.workspace;
    p.partial_ml = args.workspace + uint64_t(args.batch.n_seqs) * s.n_heads * p.max_splits * s.head_dim;
  }
  KILN_CHECK(key_constant(decode, "k_type") == s.k_type && key_constant(decode, "v_type") == s.v_type, decode.name(),
             ": built for other cache types than k_type=", s.k_type, " v_type=", s.v_type);
  // An f16 cache is split for one CTA per SM (attn_decode_splits). The CTAs launch while the
  // kernels before them drain (PDL); were two to fit on an SM, the block scheduler would double
  // them up on the SMs free first and leave others idle. Over half an SM's shared memory rules
  // that out (H100: llama-8b tg32 @ d32768 +5%, 2026-11-25).
  int smem = decode.key().dynamic_smem_bytes;
  if (attn_detail::decode_ctas_per_sm(s) == 1) {
    const jit::Device& device = jit::Device::current();
    smem = std::max(smem, int(std::min(device.smem_per_sm / 2, device.smem_per_block_optin)));
    decode.require_dynamic_smem(smem);
  }
  decode.launch(dim3(n_splits, s.n_kv_heads, args.batch.n_seqs), dim3(32 * kAttnDecodeWarps), smem, stream, p);
  // The combine: a CTA per 32 dims of a head.
  if (n_splits > 1)
    combine->launch(dim3(s.head_dim / 32, s.n_heads, args.batch.n_seqs), dim3(128), 0, stream, p);
}

AttnArgs kv_dequant_launch(const jit::Kernel& kernel, const AttnShape& s, const AttnArgs& args, void* scratch_k,
                           void* scratch_v, uint64_t scratch_bytes, const int32_t* identity_table,
                           cudaStream_t stream) {
  KILN_CHECK(key_constant(kernel, "k_type") == s.k_type && key_constant(kernel, "v_type") == s.v_type,
             kernel.name(), ": built for other cache types than k_type=", s.k_type, " v_type=", s.v_type);
  KILN_CHECK(args.k_pool && args.v_pool && args.batch.kv_len && args.batch.page_table && scratch_k && scratch_v &&
                 identity_table,
             kernel.name(), ": a null pointer among the pools, the batch arrays and the scratch");
  const uint64_t pages = uint64_t(args.batch.n_seqs) * args.batch.max_pages;
  const uint64_t need = pages * s.n_kv_heads * s.page_size * s.head_dim * 2;
  KILN_CHECK(need <= scratch_bytes, kernel.name(), ": the f16 view of ", args.batch.n_seqs, " sequences x ",
             args.batch.max_pages, " pages needs ", need, " bytes per pool, the scratch has ", scratch_bytes);
  KvDequantParams p{};
  p.k_pool = args.k_pool;
  p.v_pool = args.v_pool;
  p.k_out = scratch_k;
  p.v_out = scratch_v;
  p.kv_len = args.batch.kv_len;
  p.page_table = args.batch.page_table;
  p.max_pages = args.batch.max_pages;
  p.head_dim = s.head_dim;
  p.n_kv_heads = s.n_kv_heads;
  p.page_size = s.page_size;
  kernel.launch(dim3(args.batch.max_pages, 2 * s.n_kv_heads, args.batch.n_seqs), dim3(kKvDequantThreads), 0, stream,
                p);
  AttnArgs view = args;
  view.k_pool = scratch_k;
  view.v_pool = scratch_v;
  view.batch.page_table = identity_table;
  return view;
}

KvWriteParams kv_write_params(const KvWriteShape& s, KvWriteParams p) {
  KILN_CHECK(p.qkv && p.positions && p.k_pool && p.v_pool,
             "kv_write: a null pointer among qkv, positions and the pools");
  KILN_CHECK(!s.qk_norm || (p.q_norm && p.k_norm), "kv_write: qk norm without its weights");
  KILN_CHECK(s.rope == kRopeNone || p.inv_freq, "kv_write: RoPE without its frequency table");
  p.head_dim = s.head_dim;
  p.n_heads = s.n_heads;
  p.n_kv_heads = s.n_kv_heads;
  p.n_rot = s.n_rot ? s.n_rot : s.head_dim;
  p.page_size = s.page_size;
  return p;
}

void kv_write_launch(const jit::Kernel& kernel, const KvWriteShape& s, KvWriteParams p, cudaStream_t stream) {
  KILN_CHECK(p.page_table && p.q_out, kernel.name(), ": a null page table or q");
  p = kv_write_params(s, p);
  if (p.n_tokens == 0) return;
  const int heads = s.n_heads + 2 * s.n_kv_heads;
  kernel.launch(dim3(p.n_tokens, (heads + kKvWriteWarps - 1) / kKvWriteWarps), dim3(32 * kKvWriteWarps), 0, stream, p);
}

double attn_flops(const AttnShape& s, int n_q, int kv_len) {
  double keys = 0;  // sum over the queries of the keys each sees
  for (int i = 0; i < n_q; ++i) {
    const int pos = kv_len - n_q + i;
    keys += s.window > 0 ? std::min(pos + 1, s.window) : pos + 1;
  }
  return 4.0 * s.head_dim * s.n_heads * keys;
}

double attn_bytes(const AttnShape& s, int n_q, int kv_len) {
  const int first = s.window > 0 ? std::max(0, kv_len - n_q - s.window + 1) : 0;
  const double kv = double(kv_len - first) * s.n_kv_heads *
                    (kv_row_bytes(s.k_type, s.head_dim) + kv_row_bytes(s.v_type, s.head_dim));
  return kv + double(n_q) * s.n_heads * s.head_dim * 2 * 2;
}

RopeTable rope_table(const model::Model& model, const model::Layer& layer, const std::vector<float>& freq_factors) {
  const auto& hp = model.hp;
  const int n_rot = hp.rope_dim > 0 ? hp.rope_dim : hp.head_dim;
  const double base = layer.rope_base > 0 ? layer.rope_base : hp.rope_base;
  KILN_CHECK(freq_factors.empty() || int(freq_factors.size()) == n_rot / 2, "rope: ", freq_factors.size(),
             " frequency factors for ", n_rot / 2, " pairs");
  // The same choices as the CPU reference (cpu/forward.cpp rope_params): linear scaling only on
  // global layers, YaRN on every layer with ext_factor 1.
  float freq_scale = 1.f;
  bool yarn = false;
  switch (hp.rope_scaling) {
    case model::RopeScaling::none:
    case model::RopeScaling::llama3:
      break;
    case model::RopeScaling::linear:
      freq_scale = layer.is_local ? 1.f : 1.f / hp.rope_factor;
      break;
    case model::RopeScaling::yarn:
      freq_scale = 1.f / hp.rope_factor;
      yarn = true;
      break;
  }
  float corr[2] = {0, 0};
  RopeTable t;
  if (yarn) {
    const int orig_ctx = hp.rope_orig_ctx > 0 ? hp.rope_orig_ctx : hp.n_ctx_train;
    cpu::yarn_corr_dims(n_rot, orig_ctx, float(base), hp.yarn_beta_fast, hp.yarn_beta_slow, corr);
    t.mscale = 1.f + 0.1f * std::log(1.f / freq_scale);
  }
  // theta_i = pos * base^(-2i/n_rot) / factor_i * (freq_scale (1 - ramp_i) + ramp_i): linear in
  // pos, so one frequency per pair holds every scaling.
  t.inv_freq.resize(n_rot / 2);
  for (int i = 0; i < n_rot / 2; ++i) {
    double f = std::pow(base, -2.0 * i / n_rot);
    if (!freq_factors.empty()) f /= freq_factors[i];
    double mix = freq_scale;
    if (yarn) {
      const double y = (i - corr[0]) / std::max(0.001f, corr[1] - corr[0]);
      const double ramp = 1.0 - std::clamp(y, 0.0, 1.0);
      mix = freq_scale * (1 - ramp) + ramp;
    }
    t.inv_freq[i] = f * mix;
  }
  return t;
}

namespace {

AttnShape layer_shape(const model::Model& model, const model::Layer& layer) {
  const auto& hp = model.hp;
  AttnShape s;
  s.head_dim = hp.head_dim;
  s.n_heads = hp.n_heads;
  s.n_kv_heads = hp.n_kv_heads;
  s.window = layer.is_local ? layer.window : 0;
  s.sinks = model.arch.attn_sinks;
  return s;
}

int rope_kind(model::RopeKind kind) {
  switch (kind) {
    case model::RopeKind::none: return kRopeNone;
    case model::RopeKind::normal: return kRopeNormal;
    case model::RopeKind::neox: return kRopeNeox;
  }
  return kRopeNone;
}

}  // namespace

uint64_t kv_scratch_bytes(const model::Model& model, int n_ctx, KvTypes types) {
  if (!types.any_q8()) return 0;
  return 2ull * kv_pages_for(n_ctx) * kKvPageSize * model.hp.n_kv_heads * model.hp.head_dim * 2;
}

uint64_t attention_workspace_bytes(const model::Model& model, int n_ctx, int n_ubatch, int sm_count, KvTypes types) {
  AttnShape s;
  s.head_dim = model.hp.head_dim;
  s.n_heads = model.hp.n_heads;
  s.n_kv_heads = model.hp.n_kv_heads;
  return std::max(attn_decode_workspace_bytes(s, 1), attn_prefill_workspace_bytes(s, {.sm_count = sm_count})) +
         kv_scratch_bytes(model, n_ctx, types) +
         (types.any_q8() ? uint64_t(kv_pages_for(n_ctx)) * 4 : 0);
}

AttentionConfig attention_config(const model::Model& model, int n_ctx, int n_ubatch, const AttnTarget& target,
                                 bool allocate, KvTypes types) {
  const auto& hp = model.hp;
  AttentionConfig c;
  c.scale = hp.attn_scale > 0 ? hp.attn_scale : 1.f / std::sqrt(float(hp.head_dim));
  c.norm_eps = hp.rms_eps;
  c.n_ctx = n_ctx;
  c.n_ubatch = n_ubatch;
  c.target = target;
  c.kv_types = types;
  const std::vector<float> factors = model.rope_freqs ? cpu::to_floats(*model.rope_freqs) : std::vector<float>{};
  std::vector<double> tables;
  std::map<std::vector<double>, int> seen;
  for (const model::Layer& layer : model.layers) {
    AttentionConfig::Layer l;
    l.shape = layer_shape(model, layer);
    l.shape.k_type = int(types.k);
    l.shape.v_type = int(types.v);
    attn_detail::check_shape(l.shape);
    l.write.head_dim = hp.head_dim;
    l.write.n_heads = hp.n_heads;
    l.write.n_kv_heads = hp.n_kv_heads;
    l.write.n_rot = hp.rope_dim > 0 ? hp.rope_dim : hp.head_dim;
    l.write.rope = rope_kind(model.arch.rope);
    l.write.qk_norm = model.arch.qk_norm;
    l.write.k_type = int(types.k);
    l.write.v_type = int(types.v);
    RopeTable t = rope_table(model, layer, factors);
    l.mscale = t.mscale;
    auto [it, added] = seen.emplace(t.inv_freq, int(c.rope_offsets.size()));
    if (added) {
      c.rope_offsets.push_back(tables.size());
      tables.insert(tables.end(), t.inv_freq.begin(), t.inv_freq.end());
    }
    l.rope_table = it->second;
    c.layers.push_back(l);
  }
  if (!allocate) return c;
  if (!tables.empty()) {
    c.rope_tables = DeviceBuffer(tables.size() * sizeof(double), "RoPE frequency tables");
    c.rope_tables.upload(tables.data(), tables.size() * sizeof(double));
  }
  c.workspace = DeviceBuffer(attention_workspace_bytes(model, n_ctx, n_ubatch, target.sm_count), "attention workspace");
  if (types.any_q8()) {
    c.kv_scratch = DeviceBuffer(kv_scratch_bytes(model, n_ctx, types), "f16 view of the q8_0 KV cache (prefill)");
    std::vector<int32_t> identity(kv_pages_for(n_ctx));
    for (size_t i = 0; i < identity.size(); ++i) identity[i] = int32_t(i);
    c.kv_scratch_table = DeviceBuffer(identity.size() * 4, "f16 view page table");
    c.kv_scratch_table.upload(identity.data(), identity.size() * 4);
  }
  return c;
}

int attention_graph_bucket(const AttentionConfig& config, int kv_len) {
  // Split counts are powers of two <= 64: 7 bits each, per distinct window (at most two).
  std::vector<int> windows;
  int bucket = 0;
  for (const auto& l : config.layers) {
    if (std::find(windows.begin(), windows.end(), l.shape.window) != windows.end()) continue;
    windows.push_back(l.shape.window);
    bucket = bucket * 128 + attn_decode_splits(l.shape, kv_len, 1, config.target);
  }
  return bucket;
}

void attention_layer(plan::KernelPlan& plan, const AttentionConfig& config, KvCache& kv, int layer,
                     const AttentionLayerArgs& args, cudaStream_t stream) {
  KILN_CHECK(layer >= 0 && layer < int(config.layers.size()), "attention: layer ", layer, " of ",
             config.layers.size());
  const AttentionConfig::Layer& l = config.layers[layer];
  const int n = args.n_tokens;
  const bool decode = n == 1;  // the single-sequence engine: one token is always a decode step
  KvWriteShape write = l.write;
  write.in_f16 = args.qkv_f16;
  const KvBatchView& batch = kv.batch();
  auto write_params = [&] {
    KILN_CHECK(batch.n_tokens == n, "attention: the KV cache was prepared for ", batch.n_tokens,
               " tokens, the layer got ", n);
    KvWriteParams p{};
    p.qkv = args.qkv;
    p.qkv_stride = (l.shape.n_heads + 2LL * l.shape.n_kv_heads) * l.shape.head_dim;
    p.positions = args.positions;
    p.token_seq = batch.token_seq;
    p.page_table = batch.page_table;
    p.max_pages = batch.max_pages;
    p.q_norm = args.q_norm;
    p.k_norm = args.k_norm;
    p.norm_eps = config.norm_eps;
    p.inv_freq = config.rope_tables.as<double>() + config.rope_offsets[l.rope_table];
    p.rope_mscale = l.mscale;
    p.q_out = args.q;
    p.k_pool = kv.k_pool(layer);
    p.v_pool = kv.v_pool(layer);
    p.n_tokens = n;
    return p;
  };

  int kv_len = 0;
  if (!plan.recording())
    for (int32_t len : kv.kv_lens()) kv_len = std::max(kv_len, int(len));
  // Decode plans hold both ways of writing the step's K and V (the graph bucket picks one, by its
  // split count); prefill always runs kv_write.
  const int decode_splits =
      decode && !plan.recording() ? attn_decode_splits(l.shape, kv_len, batch.n_seqs, config.target) : 0;
  const bool may_fuse = decode && config.fused_write_splits >= 1;
  const bool may_write = !decode || config.fused_write_splits < kAttnMaxSplits;
  const bool fused = may_fuse && decode_splits <= config.fused_write_splits;
  if (may_write)
    if (const jit::Kernel* k = plan.next([&] { return kv_write_key(write); }); k && !fused)
      kv_write_launch(*k, write, write_params(), stream);

  AttnArgs a;
  a.q = args.q;
  a.k_pool = kv.k_pool(layer);
  a.v_pool = kv.v_pool(layer);
  a.out = args.out;
  a.sinks = args.sinks;
  a.scale = config.scale;
  a.batch = batch;
  a.workspace = config.workspace.as<float>();
  a.workspace_bytes = config.workspace.bytes();
  if (decode) {
    const jit::Kernel* plain = may_write ? plan.next([&] { return attn_decode_key(l.shape); }) : nullptr;
    const jit::Kernel* writing = may_fuse ? plan.next([&] { return attn_decode_write_key(l.shape, write); }) : nullptr;
    const jit::Kernel* combine = plan.next([&] { return attn_decode_combine_key(l.shape); });
    if (const jit::Kernel* decode_kernel = fused ? writing : plain) {
      KvWriteParams step_write;
      if (fused) {
        step_write = kv_write_params(write, write_params());
        a.write = &step_write;
      }
      attn_decode_launch(*decode_kernel, combine, l.shape, a, decode_splits, stream);
    }
  } else {
    if (config.kv_types.any_q8()) {  // attn_prefill reads f16: give it an f16 view of the pages
      const jit::Kernel* dequant = plan.next([&] { return kv_dequant_key(l.shape); });
      if (dequant) {
        const uint64_t pool = config.kv_scratch.bytes() / 2;
        char* scratch = static_cast<char*>(config.kv_scratch.get());
        a = kv_dequant_launch(*dequant, l.shape, a, scratch, scratch + pool, pool,
                              config.kv_scratch_table.as<int32_t>(), stream);
      }
    }
    const jit::KernelKey prefill_key = attn_prefill_key(l.shape, n, 1, config.target);
    const jit::Kernel* prefill = plan.next([&] { return prefill_key; });
    const jit::Kernel* combine =
        plan.next([&] { return attn_prefill_combine_key(l.shape, static_cast<int>(prefill_key.get("warps"))); });
    if (prefill) {
      const int splits = attn_prefill_splits(prefill_key, l.shape, batch.max_q, batch.n_seqs, kv_len, config.target);
      attn_prefill_launch(*prefill, combine, l.shape, a, splits, stream);
    }
  }
}

}  // namespace kiln::engine
