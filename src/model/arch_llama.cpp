// llama (Llama 3.x): the plain pre-norm block. RoPE rotates adjacent pairs (the converter
// permutes q/k rows for that); llama3 rope scaling comes as the rope_freqs.weight tensor.
#include "model/arch.h"

namespace kiln::model {

const ArchSpec& arch_llama() {
  static const ArchSpec spec{
      .traits = {.name = "llama", .rope = RopeKind::normal},
      .defaults = {},
      .written = {.rope_dimension_count = true},
  };
  return spec;
}

}  // namespace kiln::model
