#include "jit/preset_kernels.h"

#include <set>

#include "jit/builtin_kernels.h"

namespace kiln::jit {

const std::vector<PresetShapes>& seed_presets() {
  // name, n_embd, n_ff, heads, kv heads, head_dim, expert ff, q8_0 ffn, neox, rope bases, qk norm
  static const std::vector<PresetShapes> presets = {
      {"llama-8b-q8_0", 4096, 14336, 32, 8, 128, 0, true, false, {500000}, false},
      {"qwen2-1.5b-q8_0", 1536, 8960, 12, 2, 128, 0, true, true, {1e6}, false},
      {"qwen2-3b-q8_0", 2048, 11008, 16, 2, 128, 0, true, true, {1e6}, false},
      {"qwen2-7b-q8_0", 3584, 18944, 28, 4, 128, 0, true, true, {1e6}, false},
      {"qwen3-4b-q8_0", 2560, 9728, 32, 8, 128, 0, true, true, {1e6}, true},
      {"qwen3moe-30b-a3b-q8_0", 2048, 0, 32, 4, 128, 768, true, true, {1e6}, true},
      {"gemma3-4b-q8_0", 2560, 10240, 8, 4, 256, 0, true, true, {1e6, 10000}, true},
      {"gemma3-12b-q8_0", 3840, 15360, 16, 8, 256, 0, true, true, {1e6, 10000}, true},
      {"gpt-oss-20b-mxfp4", 2880, 2880, 64, 8, 64, 0, false, true, {150000}, false},
      {"gpt-oss-120b-mxfp4", 2880, 2880, 64, 8, 64, 0, false, true, {150000}, false},
  };
  return presets;
}

std::vector<KernelKey> preset_kernel_set(int sm_count) {
  std::vector<KernelKey> keys;
  std::set<std::string> seen;
  auto add = [&](KernelKey key) {
    if (seen.insert(key.str()).second) keys.push_back(std::move(key));
  };
  for (const auto& p : seed_presets()) {
    for (bool fuse : {false, true}) add(rmsnorm_key({.n_embd = p.n_embd, .fuse_residual = fuse}));
    if (p.qk_norm) add(rmsnorm_key({.n_embd = p.head_dim}));
    for (double base : p.rope_bases) add(rope_key({.head_dim = p.head_dim, .freq_base = base, .neox = p.neox}));

    const int q_rows = p.n_heads * p.head_dim, kv_rows = p.n_kv_heads * p.head_dim;
    auto matvec = [&](int rows, int cols) {
      add(matvec_q8_0_key({.n_rows = rows, .n_cols = cols, .sm_count = sm_count}));
    };
    matvec(q_rows, p.n_embd);   // attn_q
    matvec(kv_rows, p.n_embd);  // attn_k, attn_v
    matvec(p.n_embd, q_rows);   // attn_output
    if (p.q8_0_ffn) {
      const int ff = p.expert_ff ? p.expert_ff : p.n_ff;
      matvec(ff, p.n_embd);  // ffn_gate, ffn_up (per expert for MoE)
      matvec(p.n_embd, ff);  // ffn_down
    }
  }
  return keys;
}

std::vector<KernelKey> all_variants(int sm_count) {
  std::vector<KernelKey> keys = preset_kernel_set(sm_count);
  std::set<std::string> seen;
  for (const auto& k : keys) seen.insert(k.str());
  const size_t specialized = keys.size();
  for (size_t i = 0; i < specialized; ++i) {
    KernelKey generic = keys[i].generic();
    if (seen.insert(generic.str()).second) keys.push_back(std::move(generic));
  }
  return keys;
}

}  // namespace kiln::jit
