// qwen3moe (Qwen3-30B-A3B): qwen3's attention; every FFN is a mixture of experts routed by a
// softmax over all experts, then top-k, weights renormalized (norm_topk_prob). No shared expert.
#include "model/arch.h"

namespace kiln::model {

const ArchSpec& arch_qwen3moe() {
  static const ArchSpec spec{
      .traits = {.name = "qwen3moe",
                 .rope = RopeKind::neox,
                 .routing = MoeRouting::softmax_topk,
                 .qk_norm = true},
      .defaults = {},
      .written = {.head_dims = true},
  };
  return spec;
}

}  // namespace kiln::model
