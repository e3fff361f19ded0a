#pragma once
// The model's weights on the GPU, uploaded once from the mmap'd GGUF. Q8_0 matrices become q8r
// (engine/q8_0_repack.h); q, k and v of a layer are one matrix (their rows stacked) so the
// projection is one launch; small F32 tensors (norms, biases) are copied as they are.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/device_buffer.h"
#include "engine/q8_0_repack.h"
#include "model/model.h"

namespace kiln::engine {

struct Q8rMatrix {
  Q8rLayout layout;
  DeviceBuffer qs;  // int8 [n][k_padded]
  DeviceBuffer d;   // f16 [n][k_padded / 32]
};

struct LayerWeights {
  DeviceBuffer attn_norm, ffn_norm, q_norm, k_norm;  // f32; q/k norms only with qk_norm
  Q8rMatrix wqkv;        // rows: q (n_heads * head_dim), k, v (n_kv_heads * head_dim each)
  DeviceBuffer bqkv;     // f32 [rows of wqkv] when the arch has qkv biases
  Q8rMatrix wo;
  DeviceBuffer bo;
  Q8rMatrix ffn_gate, ffn_up, ffn_down;
};

struct Weights {
  Q8rMatrix token_embd;
  Q8rMatrix output;        // empty (layout.n == 0) when tied: use token_embd
  DeviceBuffer output_norm;
  std::vector<LayerWeights> layers;

  const Q8rMatrix& lm_head() const { return output.layout.n ? output : token_embd; }
};

// Device bytes upload_weights() will allocate.
uint64_t weight_bytes(const model::Model& model);

// Why the GPU engine cannot hold this model's weights ("tensor blk.0.ffn_up.weight is Q4_K;
// the GPU engine runs Q8_0 weights"), or "".
std::string unsupported_weights(const model::Model& model);

// Repacks (in parallel on the host) and uploads every tensor. progress(done, total) in bytes.
Weights upload_weights(const model::Model& model,
                       const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace kiln::engine
