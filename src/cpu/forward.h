#pragma once
// The reference forward pass of every supported architecture, in float32 on the CPU, with a KV
// cache. One generic block builder driven by model::ArchTraits (architectures are data).
//
// Memory: weights are read through the Model's TensorRefs and dequantized one row at a time
// (never cached whole), so host memory is the mmap'd file + the KV cache (f32, grows with the
// positions used: 2 x n_layers x position x n_kv_heads x head_dim x 4 bytes) + activations of
// one batch. Speed: every matmul dequantizes its weights again (once per batch, shared by its
// tokens): the tiny presets run in well under a second; an 8B model takes tens of seconds per
// decoded token on 2 cores (~0.3 G weights/s measured on gemma3-tiny).
#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"

namespace kiln::cpu {

class CpuModel {
 public:
  // threads <= 0: default_threads(). max_ctx: the most positions the cache may hold.
  explicit CpuModel(const model::Model& model, int threads = 0, int max_ctx = 4096);

  // Runs tokens at positions position() .. position() + n - 1, appends their keys/values to the
  // cache and returns n x n_vocab logits, row-major. Throws kiln::Error on an out-of-range
  // token id, an empty list, or when the cache would exceed max_ctx.
  std::vector<float> forward(std::span<const int32_t> tokens);

  void reset();                          // empties the cache
  // Keeps the first n_keep positions of the cache (no-op when it holds fewer).
  void truncate(int n_keep) { n_past_ = n_keep < n_past_ ? (n_keep > 0 ? n_keep : 0) : n_past_; }
  int position() const { return n_past_; }
  int max_ctx() const { return max_ctx_; }
  const model::Model& model() const { return model_; }

 private:
  struct LayerCache {
    std::vector<float> k, v;  // position x n_kv_heads x head_dim(_v)
    // The layer's small F32 tensors, converted once.
    std::vector<float> attn_norm, ffn_norm, post_attn_norm, post_ffn_norm, q_norm, k_norm;
    std::vector<float> bq, bk, bv, bo, sinks;
  };

  void attention_block(int layer, std::span<const float> x, int64_t n_tokens,
                       std::span<float> out);
  void ffn_block(int layer, std::span<const float> x, int64_t n_tokens, std::span<float> out);

  const model::Model& model_;
  int threads_ = 1;
  int max_ctx_ = 0;
  int n_past_ = 0;
  std::vector<LayerCache> layers_;
  std::vector<float> output_norm_, rope_freqs_;
};

}  // namespace kiln::cpu
