#include "engine/weights.h"

#include <cstring>

#include "gguf/types.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kiln::engine {

namespace {

using model::TensorRef;

// The matrices of a layer that are stacked into one q8r matrix, in row order.
std::vector<TensorRef> qkv_parts(const model::Layer& layer) { return {layer.wq, layer.wk, layer.wv}; }

std::vector<std::vector<TensorRef>> layer_matrices(const model::Layer& layer) {
  return {qkv_parts(layer), {layer.wo}, {layer.ffn_gate}, {layer.ffn_up}, {layer.ffn_down}};
}

Q8rLayout stacked_layout(const std::vector<TensorRef>& parts) {
  int64_t rows = 0;
  for (TensorRef t : parts) rows += t->rows();
  return q8r_layout(rows, parts.front()->shape[0]);
}

class Uploader {
 public:
  Uploader(uint64_t total, const std::function<void(uint64_t, uint64_t)>& progress)
      : total_(total), progress_(progress) {}

  // Stacks the Q8_0 tensors' rows (same row length) into one q8r matrix on the device.
  Q8rMatrix matrix(const std::vector<TensorRef>& parts, const std::string& what) {
    Q8rMatrix m;
    m.layout = stacked_layout(parts);
    m.qs = DeviceBuffer(m.layout.qs_bytes(), what);
    m.d = DeviceBuffer(m.layout.d_bytes(), what + " scales");
    std::vector<int8_t> qs(m.layout.qs_bytes());
    std::vector<uint16_t> d(m.layout.d_count());
    const int64_t d_per_row = m.layout.k_padded / 32;
    int64_t row0 = 0;
    for (TensorRef t : parts) {
      const int64_t blocks_per_row = t->shape[0] / 32;
      // Rows are independent: repack chunks of them in parallel.
      parallel_for(t->rows(), default_threads(), [&](int64_t begin, int64_t end) {
        Q8rLayout chunk = q8r_layout(end - begin, t->shape[0]);
        q8r_repack(t->data + begin * blocks_per_row * 34, chunk, qs.data() + (row0 + begin) * m.layout.k_padded,
                   d.data() + (row0 + begin) * d_per_row);
      });
      row0 += t->rows();
    }
    m.qs.upload(qs.data(), qs.size());
    m.d.upload(d.data(), d.size() * 2);
    advance(m.layout.qs_bytes() + m.layout.d_bytes());
    return m;
  }

  // F32 tensors concatenated (biases of q, k, v) or one alone.
  DeviceBuffer f32(const std::vector<TensorRef>& parts, const std::string& what) {
    uint64_t bytes = 0;
    for (TensorRef t : parts) bytes += t->bytes;
    DeviceBuffer buf(bytes, what);
    uint64_t offset = 0;
    for (TensorRef t : parts) {
      buf.upload(t->data, t->bytes, offset);
      offset += t->bytes;
    }
    advance(bytes);
    return buf;
  }

 private:
  void advance(uint64_t bytes) {
    done_ += bytes;
    if (progress_) progress_(done_, total_);
  }
  uint64_t total_, done_ = 0;
  const std::function<void(uint64_t, uint64_t)>& progress_;
};

uint64_t matrix_bytes(const std::vector<TensorRef>& parts) {
  Q8rLayout l = stacked_layout(parts);
  return l.qs_bytes() + l.d_bytes();
}

uint64_t f32_bytes(TensorRef t) { return t ? t->bytes : 0; }

}  // namespace

std::string unsupported_weights(const model::Model& model) {
  auto check = [&](TensorRef t) -> std::string {
    if (t && t->type != gguf::Type::Q8_0)
      return cat("tensor ", t->name, " is ", gguf::type_name(t->type), "; the GPU engine runs Q8_0 weights");
    return "";
  };
  for (TensorRef t : {model.token_embd, model.output})
    if (auto why = check(t); !why.empty()) return why;
  for (const auto& layer : model.layers)
    for (const auto& parts : layer_matrices(layer))
      for (TensorRef t : parts) {
        if (!t) return cat("layer ", layer.index, " has no dense FFN (MoE); the GPU engine runs dense models");
        if (auto why = check(t); !why.empty()) return why;
      }
  return "";
}

uint64_t weight_bytes(const model::Model& model) {
  uint64_t bytes = matrix_bytes({model.token_embd}) + f32_bytes(model.output_norm);
  if (!model.tied_output()) bytes += matrix_bytes({model.output});
  for (const auto& layer : model.layers) {
    for (const auto& parts : layer_matrices(layer)) bytes += matrix_bytes(parts);
    for (TensorRef t : {layer.attn_norm, layer.ffn_norm, layer.q_norm, layer.k_norm, layer.bq, layer.bk,
                        layer.bv, layer.bo})
      bytes += f32_bytes(t);
  }
  return bytes;
}

Weights upload_weights(const model::Model& model, const std::function<void(uint64_t, uint64_t)>& progress) {
  Uploader up(weight_bytes(model), progress);
  Weights w;
  w.token_embd = up.matrix({model.token_embd}, "token_embd.weight");
  if (!model.tied_output()) w.output = up.matrix({model.output}, "output.weight");
  w.output_norm = up.f32({model.output_norm}, "output_norm.weight");
  for (const auto& layer : model.layers) {
    const std::string blk = cat("blk.", layer.index, ".");
    LayerWeights lw;
    lw.attn_norm = up.f32({layer.attn_norm}, blk + "attn_norm");
    lw.ffn_norm = up.f32({layer.ffn_norm}, blk + "ffn_norm");
    if (layer.q_norm) lw.q_norm = up.f32({layer.q_norm}, blk + "attn_q_norm");
    if (layer.k_norm) lw.k_norm = up.f32({layer.k_norm}, blk + "attn_k_norm");
    lw.wqkv = up.matrix(qkv_parts(layer), blk + "attn_qkv");
    if (layer.bq) lw.bqkv = up.f32({layer.bq, layer.bk, layer.bv}, blk + "attn_qkv.bias");
    lw.wo = up.matrix({layer.wo}, blk + "attn_output");
    if (layer.bo) lw.bo = up.f32({layer.bo}, blk + "attn_output.bias");
    lw.ffn_gate = up.matrix({layer.ffn_gate}, blk + "ffn_gate");
    lw.ffn_up = up.matrix({layer.ffn_up}, blk + "ffn_up");
    lw.ffn_down = up.matrix({layer.ffn_down}, blk + "ffn_down");
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace kiln::engine
