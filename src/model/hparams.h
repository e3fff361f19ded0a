#pragma once
// Reading an architecture's hyper-parameters from GGUF keys (<arch>.block_count, ...), with
// range checks so later size arithmetic cannot overflow on a hostile file.
#include "gguf/gguf.h"
#include "model/arch.h"

namespace kiln::model {

// Bounds on what a file may declare (well above every real model).
struct HParamLimits {
  static constexpr int max_layers = 4096;
  static constexpr int max_width = 1 << 20;  // n_embd, n_ff, head widths
  static constexpr int max_heads = 4096;
  static constexpr int max_head_dim = 4096;
  static constexpr int max_vocab = 1 << 24;
  static constexpr int max_experts = 4096;
  static constexpr int max_context = 1 << 30;
};

// Everything but the vocabulary size (needs token_embd when the key is absent) and the
// llama3 scaling (needs rope_freqs.weight): load_model fills those in.
HParams read_hparams(const gguf::File& file, const ArchSpec& spec);

}  // namespace kiln::model
