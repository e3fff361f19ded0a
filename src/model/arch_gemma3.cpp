// gemma3: 5 sliding-window layers then 1 global ((il + 1) % 6 == 0 is global); local layers use
// RoPE base 10000 unscaled, global ones rope.freq_base with linear scaling. Embeddings scaled
// by sqrt(n_embd), GELU(tanh)-gated FFN, q/k norms, and norms on the attention and FFN outputs.
// The softmax scale is 1/sqrt(query_pre_attn_scalar), which equals head_dim for 4b and 12b
// (llama.cpp uses 1/sqrt(head_dim) for every size but 27b).
#include "model/arch.h"

namespace kiln::model {

const ArchSpec& arch_gemma3() {
  static const ArchSpec spec{
      .traits = {.name = "gemma3",
                 .rope = RopeKind::neox,
                 .activation = FfnActivation::gelu_tanh_gated,
                 .sliding = SlidingPattern::every_nth_global,
                 .swa_period = 6,
                 .qk_norm = true,
                 .post_attn_norm = true,
                 .post_ffn_norm = true,
                 .scale_embeddings = true},
      .defaults = {.rope_base_swa = 10000.f},
      .written = {.head_dims = true, .rope_base_swa = true},
  };
  return spec;
}

}  // namespace kiln::model
