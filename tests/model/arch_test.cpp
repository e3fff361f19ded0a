// The arch registry: the six archs and the facts each encodes.
#include <gtest/gtest.h>

#include "model/arch.h"
#include "model_test_util.h"

namespace kiln::model {
namespace {

using test::error_of;

TEST(Arch, KnowsTheSixArchitectures) {
  EXPECT_EQ(known_archs(),
            (std::vector<std::string>{"llama", "qwen2", "qwen3", "qwen3moe", "gemma3", "gpt-oss"}));
  for (const std::string& name : known_archs()) EXPECT_EQ(arch_traits(name).name, name);
}

TEST(Arch, UnknownArchitectureListsTheKnownOnes) {
  EXPECT_EQ(error_of([] { arch_traits("mamba"); }),
            "unknown architecture 'mamba' (kiln runs: llama, qwen2, qwen3, qwen3moe, gemma3, gpt-oss)");
}

TEST(Arch, RopeKinds) {
  EXPECT_EQ(arch_traits("llama").rope, RopeKind::normal);
  for (const char* name : {"qwen2", "qwen3", "qwen3moe", "gemma3", "gpt-oss"})
    EXPECT_EQ(arch_traits(name).rope, RopeKind::neox) << name;
}

TEST(Arch, TraitsPerArch) {
  const ArchTraits& llama = arch_traits("llama");
  EXPECT_FALSE(llama.qkv_bias || llama.qk_norm || llama.attn_sinks || llama.scale_embeddings);
  EXPECT_EQ(llama.activation, FfnActivation::silu_gated);

  EXPECT_TRUE(arch_traits("qwen2").qkv_bias);
  EXPECT_FALSE(arch_traits("qwen2").qk_norm);
  EXPECT_TRUE(arch_traits("qwen3").qk_norm);
  EXPECT_FALSE(arch_traits("qwen3").qkv_bias);

  const ArchTraits& moe = arch_traits("qwen3moe");
  EXPECT_TRUE(moe.qk_norm);
  EXPECT_EQ(moe.routing, MoeRouting::softmax_topk);
  EXPECT_FALSE(moe.expert_bias);

  const ArchTraits& gemma = arch_traits("gemma3");
  EXPECT_EQ(gemma.activation, FfnActivation::gelu_tanh_gated);
  EXPECT_EQ(gemma.sliding, SlidingPattern::every_nth_global);
  EXPECT_EQ(gemma.swa_period, 6);
  EXPECT_TRUE(gemma.qk_norm && gemma.post_attn_norm && gemma.post_ffn_norm &&
              gemma.scale_embeddings);
  EXPECT_EQ(arch_spec("gemma3").defaults.rope_base_swa, 10000.f);

  const ArchTraits& oss = arch_traits("gpt-oss");
  EXPECT_EQ(oss.sliding, SlidingPattern::alternate);
  EXPECT_EQ(oss.activation, FfnActivation::swiglu_oai);
  EXPECT_EQ(oss.routing, MoeRouting::topk_softmax);
  EXPECT_TRUE(oss.qkv_bias && oss.output_bias && oss.attn_sinks && oss.expert_bias &&
              oss.ffn_norm_is_post_attention);
  EXPECT_FALSE(oss.post_attn_norm || oss.qk_norm);
  EXPECT_EQ(arch_spec("gpt-oss").defaults.rope_base_swa, 0.f);  // one base on every layer
  EXPECT_EQ(arch_spec("gpt-oss").defaults.yarn_beta_fast, 32.f);
  EXPECT_EQ(arch_spec("gpt-oss").defaults.yarn_beta_slow, 1.f);
}

}  // namespace
}  // namespace kiln::model
