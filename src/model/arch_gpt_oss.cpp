// gpt-oss: sliding-window and global layers alternate (layer 0 local); a learned sink logit per
// head; biases on q/k/v/output, the router and every expert matrix; top-k of the router
// logits then a softmax over those k; the clamped SwiGLU variant; YaRN RoPE on every layer
// with one base (no swa base). Its pre-FFN norm is stored as blk.N.post_attention_norm.
#include "model/arch.h"

namespace kiln::model {

const ArchSpec& arch_gpt_oss() {
  static const ArchSpec spec{
      .traits = {.name = "gpt-oss",
                 .rope = RopeKind::neox,
                 .activation = FfnActivation::swiglu_oai,
                 .routing = MoeRouting::topk_softmax,
                 .sliding = SlidingPattern::alternate,
                 .qkv_bias = true,
                 .output_bias = true,
                 .ffn_norm_is_post_attention = true,
                 .attn_sinks = true,
                 .expert_bias = true},
      .defaults = {.rope_base_swa = 0.f, .yarn_beta_fast = 32.f, .yarn_beta_slow = 1.f},
      .written = {.head_dims = true},
  };
  return spec;
}

}  // namespace kiln::model
