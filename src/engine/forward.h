#pragma once
// The forward pass of a dense decoder (llama, qwen2, qwen3) on the GPU for one sequence, as
// JIT kernels. The same code records a plan (the kernel keys, nothing launched) and replays it
// (launches); see plan/kernel_plan.h.
//
// Per layer, for n tokens:
//   xn   = rmsnorm(h, attn_norm)                         f16 [n][n_embd]
//   qkv  = xn · Wqkvᵀ (+ bias)                           f32 [n][(n_heads + 2 n_kv_heads) head_dim]
//   q, cache <- kv_write(qkv): q/k norm, rope, k/v into the paged cache
//   a    = attention(q, cache)                           f16 [n][n_heads head_dim]
//          (decode at short context: both in one kernel, attn_decode_write)
//   h   += a · Woᵀ (+ bias)                              f32 residual stream
//   xn   = rmsnorm(h, ffn_norm)
//   g    = act(xn · W_gateᵀ) * (xn · W_upᵀ)              f16 [n][n_ff]
//   h   += g · W_downᵀ
// then logits = rmsnorm(h[last], output_norm) · W_outᵀ (every row's with all_logits).
// With n <= 8 the products are mat-vecs, and the two that add to h write the norm after them
// (ffn_norm, the next layer's attn_norm, output_norm) themselves: no rmsnorm kernel but layer 0's.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>
#include <vector>

#include "cpu/sampler.h"
#include "engine/attention.h"
#include "engine/device_buffer.h"
#include "engine/kv_cache.h"
#include "engine/matmul.h"
#include "engine/weights.h"
#include "jit/device.h"
#include "model/model.h"
#include "plan/kernel_plan.h"

namespace kiln::engine {

struct ForwardConfig {
  int n_ctx = 0;
  int n_ubatch = 0;
  MatmulTarget target;
  KvTypes kv_types;             // K and V cache element types
  int fused_write_splits = 0;      // decode's kv_write inside attention up to this split count (AttentionConfig)
  int stream_stages = 0;           // decode mat-vecs' ring stages, at most (0: kMatvecStreamStages)
  bool o_whole_ring = false;       // decode's o product: a ring for all of a CTA's chunks (EngineOptions)
  bool matvec_chain = false;       // decode's o .. next qkv as one persistent kernel (EngineOptions)
  uint64_t kv_cache_bytes = 0;
  uint64_t activation_bytes = 0;
};

ForwardConfig forward_config(const model::Model& model, int n_ctx, int n_ubatch, const jit::Device& device,
                             KvTypes kv_types = {});

class Forward {
 public:
  // weights == nullptr: a planner, which touches no device and only records plans (the kernel
  // set of a model on a machine without a GPU; see engine/kernel_set.h).
  Forward(const model::Model& model, const Weights* weights, const ForwardConfig& config, cudaStream_t stream);

  // Token-count buckets up to n_ubatch: every n in a bucket runs the same kernels.
  std::vector<int> buckets() const;
  int bucket(int n) const { return matmul_bucket(n); }

  // Copies the next tokens and their positions to the device (asynchronously, on the stream).
  void set_inputs(std::span<const int32_t> tokens);
  // Records (plan.recording()) or launches the forward pass of n tokens at position().
  void run(plan::KernelPlan& plan, int n, bool all_logits);
  // The decode graph a step at position() may replay: its attention launch shape.
  int graph_bucket() const;

  void advance(int n) { n_past_ += n; }
  int position() const { return n_past_; }
  void truncate(int n_keep);

  // The last run's logits: the last `rows` rows (1, or n with all_logits) to the host.
  std::vector<float> download_logits(int rows);

  jit::KernelKey sample_key() const;
  int sample(const jit::Kernel& kernel, const cpu::SamplerSettings& settings, float uniform,
             std::span<const int32_t> recent);

 private:
  void layer(plan::KernelPlan& plan, int il, int n, bool all_logits);
  void rmsnorm(plan::KernelPlan& plan, const float* x, const DeviceBuffer& weight, void* out, int rows);
  // whole_ring: at decode, a ring for all of a CTA's chunks where it fits (ForwardConfig::o_whole_ring).
  void matmul(plan::KernelPlan& plan, const MatmulShape& shape, const MatmulArgs& args, bool whole_ring = false);
  // args reading the RMS norm (weights norm_weight) of the residual rows from first_row: the f32
  // rows themselves when the product normalizes them (shape.in_norm), else xn_.
  MatmulArgs normed_input(MatmulArgs args, const MatmulShape& shape, const DeviceBuffer& norm_weight, int first_row);
  // Layer il's qkv product of n tokens; the LM head's (the last token's row, or every row with
  // all_logits).
  MatmulArgs qkv_args(const MatmulShape& shape, int il, int n);
  MatmulArgs head_args(const MatmulShape& shape, int n, bool all_logits);

  const model::Model& model_;
  Weights no_weights_;  // a planner's: one empty LayerWeights per layer
  const Weights& weights_;
  ForwardConfig config_;
  cudaStream_t stream_;
  KvCache kv_;
  AttentionConfig attn_;
  int n_past_ = 0;
  int n_rows_last_ = 0;  // rows of logits the last run computed

  // Activations, sized for n_ubatch tokens.
  DeviceBuffer tokens_, positions_;  // int32 [n_ubatch]
  DeviceBuffer hidden_;              // f32 [n_ubatch][n_embd]
  DeviceBuffer xn_;                  // f16 [n_ubatch][n_embd]
  DeviceBuffer ffn_act_;             // f16 [n_ubatch][n_ff]
  DeviceBuffer qkv_;                 // f32 [n_ubatch][qkv rows]
  DeviceBuffer q_, attn_out_;        // f16 [n_ubatch][n_heads head_dim]
  DeviceBuffer logits_;              // f32 [n_vocab]: the last token's (decode graphs write here)
  DeviceBuffer logits_all_;          // f32 [n_ubatch][n_vocab]: every token's, made on first use
  float* last_logits_ = nullptr;     // where the last run wrote
  DeviceBuffer sampled_, recent_;    // int32 [1], int32 [recent capacity]
  DeviceBuffer norm_counter_;        // int32: the fused norms' count of finished blocks (matmul.h)
  DeviceBuffer chain_barrier_;       // u64: matvec_chain's grid barrier count (matvec_chain.h)
  // Token ids then positions of the step. Pageable: cudaMemcpyAsync stages it before returning,
  // so it may be reused at once (a few KB; pinned memory would only save microseconds).
  std::vector<int32_t> host_inputs_;
};

}  // namespace kiln::engine
