// qwen3 (dense): no q/k/v biases; an RMSNorm over each head of q and k before RoPE.
// Its q width (n_heads * head_dim) may differ from n_embd, so the converter writes head dims.
#include "model/arch.h"

namespace kiln::model {

const ArchSpec& arch_qwen3() {
  static const ArchSpec spec{
      .traits = {.name = "qwen3", .rope = RopeKind::neox, .qk_norm = true},
      .defaults = {},
      .written = {.head_dims = true},
  };
  return spec;
}

}  // namespace kiln::model
