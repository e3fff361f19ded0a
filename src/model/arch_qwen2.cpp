// qwen2 (Qwen2 / Qwen2.5): llama's block with biases on q, k and v, and neox RoPE.
#include "model/arch.h"

namespace kiln::model {

const ArchSpec& arch_qwen2() {
  static const ArchSpec spec{
      .traits = {.name = "qwen2", .rope = RopeKind::neox, .qkv_bias = true},
      .defaults = {},
      .written = {},
  };
  return spec;
}

}  // namespace kiln::model
