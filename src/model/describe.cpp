// Model::describe(): what kiln derived from a file, for `kiln info` - traits, hparams, the
// per-layer attention pattern (run-length compressed), tensor types, bytes and parameters.
#include <cstdio>
#include <map>

#include "model/arch.h"
#include "util/error.h"
#include "util/format.h"

namespace kiln::model {
namespace {

struct DescribeLimits {
  static constexpr size_t max_runs_shown = 8;  // layer runs before the middle is elided
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string count_text(uint64_t n) {
  if (n >= 1000000000) return fixed(double(n) / 1e9, 2) + "B";
  if (n >= 1000000) return fixed(double(n) / 1e6, 2) + "M";
  return std::to_string(n);
}

std::string traits_text(const ArchTraits& a) {
  std::string out;
  auto flag = [&](bool on, const char* name) {
    if (on) out += std::string(out.empty() ? "" : " ") + name;
  };
  flag(a.qkv_bias, "qkv_bias");
  flag(a.output_bias, "output_bias");
  flag(a.qk_norm, "qk_norm");
  flag(a.post_attn_norm, "post_attn_norm");
  flag(a.post_ffn_norm, "post_ffn_norm");
  flag(a.ffn_norm_is_post_attention, "ffn_norm_is_post_attention");
  flag(a.attn_sinks, "attn_sinks");
  flag(a.scale_embeddings, "scale_embeddings");
  flag(a.expert_bias, "expert_bias");
  return out.empty() ? "-" : out;
}

std::string layer_label(const Layer& l) {
  return l.is_local ? cat("local(", l.window, ")") : std::string("global");
}

// "0-4 local(1024), 5 global, 6-10 local(1024), ..." with the middle elided when long.
std::string layer_pattern(const std::vector<Layer>& layers) {
  struct Run {
    size_t first, last;
    std::string label;
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string label = layer_label(layers[i]);
    if (!runs.empty() && runs.back().label == label) runs.back().last = i;
    else runs.push_back(Run{i, i, label});
  }
  auto text = [](const Run& r) {
    return (r.first == r.last ? std::to_string(r.first) : cat(r.first, "-", r.last)) + " " + r.label;
  };
  std::string out;
  const size_t n = runs.size();
  const size_t head = n > DescribeLimits::max_runs_shown ? DescribeLimits::max_runs_shown - 2 : n;
  for (size_t i = 0; i < head; ++i) out += (i ? ", " : "") + text(runs[i]);
  if (head < n) out += ", ..., " + text(runs[n - 2]) + ", " + text(runs[n - 1]);
  size_t local = 0;
  for (const Layer& l : layers) local += l.is_local;
  if (local > 0) out += cat(" (", local, " local, ", layers.size() - local, " global)");
  return out;
}

std::string rope_text(const Model& m) {
  const HParams& hp = m.hp;
  std::string out = cat(rope_kind_name(m.arch.rope), ", dim ", hp.rope_dim, ", base ",
                        general(hp.rope_base));
  bool any_local = false;
  for (const Layer& l : m.layers) any_local |= l.is_local;
  if (any_local && hp.rope_base_swa != hp.rope_base)
    out += cat(" (local layers ", general(hp.rope_base_swa), ")");
  switch (hp.rope_scaling) {
    case RopeScaling::none: break;
    case RopeScaling::linear:
      out += cat(", linear x", general(hp.rope_factor), any_local ? " on global layers" : "");
      break;
    case RopeScaling::yarn:
      out += cat(", yarn x", general(hp.rope_factor), " (original context ", hp.rope_orig_ctx,
                 ", beta_fast ", general(hp.yarn_beta_fast), ", beta_slow ",
                 general(hp.yarn_beta_slow), ")");
      break;
    case RopeScaling::llama3: out += ", llama3 (frequency divisors from rope_freqs.weight)"; break;
  }
  return out;
}

std::string tensor_summary(const gguf::File& file, uint64_t& total_bytes, uint64_t& params) {
  struct TypeTotal {
    size_t tensors = 0;
    uint64_t bytes = 0;
  };
  std::map<std::string, TypeTotal> by_type;
  total_bytes = params = 0;
  for (const gguf::Tensor& t : file.tensors()) {
    TypeTotal& tt = by_type[std::string(gguf::type_name(t.type))];
    ++tt.tensors;
    tt.bytes += t.bytes;
    total_bytes += t.bytes;
    params += uint64_t(t.elements());
  }
  std::string out = cat(file.tensors().size(), " (");
  bool first = true;
  for (const auto& [type, tt] : by_type) {
    out += cat(first ? "" : ", ", type, " ", tt.tensors, " ", bytes_text(tt.bytes));
    first = false;
  }
  return out + ")";
}

}  // namespace

std::string Model::describe() const {
  const HParams& h = hp;
  std::string out;
  auto line = [&](const char* label, const std::string& text) {
    char head[16];
    std::snprintf(head, sizeof head, "%-11s ", label);
    out += head + text + "\n";
  };
  line("arch", cat(arch.name, ": ", traits_text(arch)));
  line("dims", cat(h.n_layers, " layers, n_embd ", h.n_embd, ", vocab ", h.n_vocab,
                   ", context ", h.n_ctx_train, ", rms_eps ", general(h.rms_eps)));
  line("attention", cat(h.n_heads, " heads / ", h.n_kv_heads, " kv heads (gqa ",
                        h.n_heads / h.n_kv_heads, "), head_dim ", h.head_dim,
                        h.head_dim_v != h.head_dim ? cat(" (v ", h.head_dim_v, ")") : "",
                        ", scale ", general(h.attn_scale),
                        h.sliding_window ? cat(", window ", h.sliding_window) : ""));
  line("rope", rope_text(*this));
  if (h.n_experts > 0) {
    line("ffn", cat("moe ", activation_name(arch.activation), ": ", h.n_experts, " experts, ",
                    h.n_experts_used, " used, ff ", h.n_ff_expert, ", routing ",
                    routing_name(arch.routing)));
  } else {
    line("ffn", cat("dense ", activation_name(arch.activation), ", ff ", h.n_ff));
  }
  line("layers", layer_pattern(layers));
  line("output", tied_output() ? "tied to token_embd.weight" : "output.weight");
  if (file) {
    uint64_t bytes = 0, params = 0;
    line("tensors", tensor_summary(*file, bytes, params));
    line("size", cat(bytes_text(bytes), " of tensors, ", count_text(params), " parameters"));
  }
  return out;
}

}  // namespace kiln::model
