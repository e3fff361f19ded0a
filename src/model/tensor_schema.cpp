// The tensor list of every arch, built from its traits (names as llama.cpp's converter writes).
#include "model/tensor_schema.h"

namespace kiln::model {
namespace {

class SchemaBuilder {
 public:
  explicit SchemaBuilder(std::vector<TensorSlot>& out) : out_(out) {}

  void global(std::string name, std::vector<int64_t> shape, TensorRole role,
              TensorRef Model::*field, int64_t fan_in = 0) {
    TensorSlot slot{std::move(name), std::move(shape), role, -1, fan_in};
    slot.model_field = field;
    out_.push_back(std::move(slot));
  }
  void block(int il, const std::string& name, std::vector<int64_t> shape, TensorRole role,
             TensorRef Layer::*field, int64_t fan_in = 0) {
    TensorSlot slot{"blk." + std::to_string(il) + "." + name, std::move(shape), role, il, fan_in};
    slot.layer_field = field;
    out_.push_back(std::move(slot));
  }

 private:
  std::vector<TensorSlot>& out_;
};

}  // namespace

std::vector<TensorSlot> tensor_schema(const ArchTraits& arch, const HParams& hp,
                                      const SchemaOptions& options) {
  using R = TensorRole;
  const int64_t embd = hp.n_embd, vocab = hp.n_vocab;
  const int64_t q_dim = int64_t(hp.n_heads) * hp.head_dim;
  const int64_t k_dim = int64_t(hp.n_kv_heads) * hp.head_dim;
  const int64_t v_dim = int64_t(hp.n_kv_heads) * hp.head_dim_v;
  const int64_t o_dim = int64_t(hp.n_heads) * hp.head_dim_v;
  const int64_t ff = hp.n_ff, ff_exp = hp.n_ff_expert, experts = hp.n_experts;

  std::vector<TensorSlot> slots;
  SchemaBuilder b(slots);
  b.global("token_embd.weight", {embd, vocab}, R::embedding, &Model::token_embd, embd);
  b.global("output_norm.weight", {embd}, R::norm, &Model::output_norm);
  if (options.output) b.global("output.weight", {embd, vocab}, R::output, &Model::output, embd);
  if (options.rope_freqs)
    b.global("rope_freqs.weight", {hp.rope_dim / 2}, R::rope_freqs, &Model::rope_freqs);

  for (int il = 0; il < hp.n_layers; ++il) {
    b.block(il, "attn_norm.weight", {embd}, R::norm, &Layer::attn_norm);
    // gpt-oss keeps its pre-FFN norm under this name, next to attn_norm.
    if (arch.ffn_norm_is_post_attention)
      b.block(il, "post_attention_norm.weight", {embd}, R::norm, &Layer::ffn_norm);
    b.block(il, "attn_q.weight", {embd, q_dim}, R::matrix, &Layer::wq, embd);
    b.block(il, "attn_k.weight", {embd, k_dim}, R::matrix, &Layer::wk, embd);
    b.block(il, "attn_v.weight", {embd, v_dim}, R::matrix, &Layer::wv, embd);
    if (arch.qkv_bias) {
      b.block(il, "attn_q.bias", {q_dim}, R::bias, &Layer::bq);
      b.block(il, "attn_k.bias", {k_dim}, R::bias, &Layer::bk);
      b.block(il, "attn_v.bias", {v_dim}, R::bias, &Layer::bv);
    }
    b.block(il, "attn_output.weight", {o_dim, embd}, R::matrix, &Layer::wo, o_dim);
    if (arch.output_bias) b.block(il, "attn_output.bias", {embd}, R::bias, &Layer::bo);
    if (arch.qk_norm) {
      b.block(il, "attn_q_norm.weight", {hp.head_dim}, R::norm, &Layer::q_norm);
      b.block(il, "attn_k_norm.weight", {hp.head_dim}, R::norm, &Layer::k_norm);
    }
    if (arch.attn_sinks) b.block(il, "attn_sinks.weight", {hp.n_heads}, R::sinks, &Layer::sinks);
    if (arch.post_attn_norm)
      b.block(il, "post_attention_norm.weight", {embd}, R::norm, &Layer::post_attn_norm);
    if (!arch.ffn_norm_is_post_attention)
      b.block(il, "ffn_norm.weight", {embd}, R::norm, &Layer::ffn_norm);
    if (experts > 0) {
      b.block(il, "ffn_gate_inp.weight", {embd, experts}, R::router, &Layer::router, embd);
      if (arch.expert_bias)
        b.block(il, "ffn_gate_inp.bias", {experts}, R::router_bias, &Layer::router_bias);
      b.block(il, "ffn_gate_exps.weight", {embd, ff_exp, experts}, R::expert_matrix,
              &Layer::gate_exps, embd);
      if (arch.expert_bias)
        b.block(il, "ffn_gate_exps.bias", {ff_exp, experts}, R::expert_bias,
                &Layer::gate_exps_bias);
      b.block(il, "ffn_up_exps.weight", {embd, ff_exp, experts}, R::expert_matrix,
              &Layer::up_exps, embd);
      if (arch.expert_bias)
        b.block(il, "ffn_up_exps.bias", {ff_exp, experts}, R::expert_bias, &Layer::up_exps_bias);
      b.block(il, "ffn_down_exps.weight", {ff_exp, embd, experts}, R::expert_matrix,
              &Layer::down_exps, ff_exp);
      if (arch.expert_bias)
        b.block(il, "ffn_down_exps.bias", {embd, experts}, R::expert_bias,
                &Layer::down_exps_bias);
    } else {
      b.block(il, "ffn_gate.weight", {embd, ff}, R::matrix, &Layer::ffn_gate, embd);
      b.block(il, "ffn_up.weight", {embd, ff}, R::matrix, &Layer::ffn_up, embd);
      b.block(il, "ffn_down.weight", {ff, embd}, R::matrix, &Layer::ffn_down, ff);
    }
    if (arch.post_ffn_norm)
      b.block(il, "post_ffw_norm.weight", {embd}, R::norm, &Layer::post_ffn_norm);
  }
  return slots;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(shape[i]);
  }
  return out;
}

}  // namespace kiln::model
