#pragma once
// The tensors an architecture's model holds: names, shapes (GGUF order, ne[0] first), what each
// is for, and where the loader binds it. One list shared by the loader (bind + shape check)
// and `kiln synth` (write), so the two cannot disagree.
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace kiln::model {

// What a tensor is for: decides its type and value distribution in a synthetic file.
enum class TensorRole {
  embedding,      // token_embd
  output,         // output (the LM head)
  norm,           // RMSNorm weights (also q/k norms)
  matrix,         // a projection: attention or dense FFN
  expert_matrix,  // [.., .., n_experts] FFN matrices
  bias,           // attention biases
  expert_bias,    // [.., n_experts] expert biases
  router,         // ffn_gate_inp.weight
  router_bias,    // ffn_gate_inp.bias
  sinks,          // attn_sinks
  rope_freqs,     // llama3 per-pair frequency divisors
};

struct TensorSlot {
  std::string name;             // "blk.3.attn_q.weight"
  std::vector<int64_t> shape;
  TensorRole role = TensorRole::matrix;
  int layer = -1;               // block index; -1 outside the blocks
  int64_t fan_in = 0;           // row length the tensor multiplies (matrices, router)
  TensorRef Model::*model_field = nullptr;  // exactly one of the two is set
  TensorRef Layer::*layer_field = nullptr;
};

struct SchemaOptions {
  bool output = true;       // output.weight present (else tied to token_embd)
  bool rope_freqs = false;  // rope_freqs.weight present (llama3 scaling)
};

// Every tensor of a model with these traits and hparams, in file order: token_embd,
// output_norm, output, rope_freqs, then blk.0 ... blk.N-1. MoE layers when hp.n_experts > 0.
std::vector<TensorSlot> tensor_schema(const ArchTraits& arch, const HParams& hp,
                                      const SchemaOptions& options);

std::string shape_string(const std::vector<int64_t>& shape);  // "4096x14336"

}  // namespace kiln::model
