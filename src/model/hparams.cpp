// <arch>.* keys -> HParams. Required keys throw "FILE: missing key K"; out-of-range values name
// the key, the value and the accepted range.
#include "model/hparams.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace kiln::model {
namespace {

// Reads "<arch>.<suffix>" keys of one file.
class ArchKeys {
 public:
  ArchKeys(const gguf::File& file, const std::string& arch) : file_(file), prefix_(arch + ".") {}

  std::string key(const char* suffix) const { return prefix_ + suffix; }
  bool has(const char* suffix) const { return file_.find(key(suffix)) != nullptr; }

  int integer(const char* suffix, int min, int max) const {
    return checked(suffix, file_.get_u64(key(suffix)), min, max);
  }
  int integer_or(const char* suffix, int fallback, int min, int max) const {
    return has(suffix) ? integer(suffix, min, max) : fallback;
  }
  // A finite positive float.
  float positive(const char* suffix) const {
    double v = file_.get_f64(key(suffix));
    KILN_CHECK(std::isfinite(v) && v > 0 && v < 1e30, file_.path(), ": key ", key(suffix), " is ",
               v, " (must be a finite positive number)");
    return float(v);
  }
  float positive_or(const char* suffix, float fallback) const {
    return has(suffix) ? positive(suffix) : fallback;
  }
  std::string string_or(const char* suffix, std::string fallback) const {
    return file_.get_str_or(key(suffix), std::move(fallback));
  }

  [[noreturn]] void reject(const char* suffix, const std::string& why) const {
    fail(file_.path(), ": key ", key(suffix), " ", why);
  }

 private:
  int checked(const char* suffix, uint64_t v, int min, int max) const {
    KILN_CHECK(v >= uint64_t(min) && v <= uint64_t(max), file_.path(), ": key ", key(suffix),
               " is ", v, " (must be ", min, " to ", max, ")");
    return int(v);
  }

  const gguf::File& file_;
  std::string prefix_;
};

RopeScaling parse_scaling(const ArchKeys& keys) {
  std::string type = keys.string_or("rope.scaling.type", "none");
  if (type == "none") return RopeScaling::none;
  if (type == "linear") return RopeScaling::linear;
  if (type == "yarn") return RopeScaling::yarn;
  keys.reject("rope.scaling.type", "is '" + type + "' (kiln knows none, linear, yarn)");
}

}  // namespace

HParams read_hparams(const gguf::File& file, const ArchSpec& spec) {
  using L = HParamLimits;
  const ArchTraits& arch = spec.traits;
  const ArchKeys keys(file, arch.name);
  HParams hp;
  hp.n_layers = keys.integer("block_count", 1, L::max_layers);
  hp.n_embd = keys.integer("embedding_length", 1, L::max_width);
  hp.n_heads = keys.integer("attention.head_count", 1, L::max_heads);
  hp.n_kv_heads = keys.integer_or("attention.head_count_kv", hp.n_heads, 1, hp.n_heads);
  KILN_CHECK(hp.n_heads % hp.n_kv_heads == 0, file.path(), ": ", keys.key("attention.head_count"),
             " ", hp.n_heads, " is not a multiple of ", keys.key("attention.head_count_kv"), " ",
             hp.n_kv_heads);
  const int default_head_dim = hp.n_embd / hp.n_heads;
  hp.head_dim = keys.integer_or("attention.key_length", default_head_dim, 1, L::max_head_dim);
  hp.head_dim_v = keys.integer_or("attention.value_length", default_head_dim, 1, L::max_head_dim);
  KILN_CHECK(hp.head_dim > 0, file.path(), ": ", keys.key("embedding_length"), " ", hp.n_embd,
             " is smaller than ", keys.key("attention.head_count"), " ", hp.n_heads,
             " and no attention.key_length says the head size");
  hp.n_ctx_train = keys.integer("context_length", 1, L::max_context);
  hp.rms_eps = keys.positive("attention.layer_norm_rms_epsilon");
  hp.attn_scale = 1.f / std::sqrt(float(hp.head_dim));

  if (arch.routing != MoeRouting::none) {
    hp.n_experts = keys.integer("expert_count", 1, L::max_experts);
    hp.n_experts_used = keys.integer("expert_used_count", 1, hp.n_experts);
    hp.n_ff_expert = keys.integer("expert_feed_forward_length", 1, L::max_width);
    hp.n_ff = keys.integer_or("feed_forward_length", 0, 0, L::max_width);  // unused by MoE layers
  } else {
    hp.n_ff = keys.integer("feed_forward_length", 1, L::max_width);
  }

  // RoPE
  hp.rope_dim = keys.integer_or("rope.dimension_count", hp.head_dim, 2, hp.head_dim);
  KILN_CHECK(hp.rope_dim % 2 == 0, file.path(), ": key ", keys.key("rope.dimension_count"), " is ",
             hp.rope_dim, " (must be even)");
  hp.rope_base = keys.positive_or("rope.freq_base", 10000.f);
  const float swa_default = spec.defaults.rope_base_swa > 0 ? spec.defaults.rope_base_swa
                                                             : hp.rope_base;
  hp.rope_base_swa = keys.positive_or("rope.freq_base_swa", swa_default);
  hp.rope_scaling = parse_scaling(keys);
  if (hp.rope_scaling != RopeScaling::none) hp.rope_factor = keys.positive("rope.scaling.factor");
  if (hp.rope_scaling == RopeScaling::yarn) {
    hp.rope_orig_ctx = keys.integer_or("rope.scaling.original_context_length", hp.n_ctx_train, 1,
                                       L::max_context);
    hp.yarn_beta_fast = keys.positive_or("rope.scaling.yarn_beta_fast", spec.defaults.yarn_beta_fast);
    hp.yarn_beta_slow = keys.positive_or("rope.scaling.yarn_beta_slow", spec.defaults.yarn_beta_slow);
  }

  // Sliding window: required by the archs that have local layers.
  if (arch.sliding != SlidingPattern::none)
    hp.sliding_window = keys.integer("attention.sliding_window", 1, L::max_context);
  return hp;
}

}  // namespace kiln::model
