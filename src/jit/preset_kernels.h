#pragma once
// The seed presets' shapes (shared/presets.md) written out by hand, and the kernel set of the
// JIT layer's own test kernels (rmsnorm, rope, matvec_q8_0) over them: the compile tests use it.
// The engine's real sets come from engine::engine_kernel_set (the recorded forward pass);
// `kiln kernels precompile` uses that. Replace, don't extend.
#include <string>
#include <vector>

#include "jit/key.h"

namespace kiln::jit {

// Shapes of one preset that the kernels written so far specialize on.
struct PresetShapes {
  std::string name;  // "llama-8b-q8_0"
  int n_embd = 0, n_ff = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int expert_ff = 0;            // MoE expert width when the experts are Q8_0, else 0
  bool q8_0_ffn = true;         // false: the FFN weights are not Q8_0 (gpt-oss: MXFP4)
  bool neox = true;             // rope pairing
  std::vector<double> rope_bases;  // global (and sliding-window) bases
  bool qk_norm = false;         // per-head rmsnorm on q and k (qwen3, gemma3)
};

const std::vector<PresetShapes>& seed_presets();

// The specialized keys the presets need: rmsnorm (n_embd, fused or not; head_dim for q/k
// norms), rope per (head_dim, base, pairing), matvec_q8_0 per distinct (rows, cols) of
// q/k/v/o/gate/up/down. Deduplicated, in a stable order.
std::vector<KernelKey> preset_kernel_set(int sm_count = 132);

// preset_kernel_set() plus the generic form of each of its keys (deduplicated).
std::vector<KernelKey> all_variants(int sm_count = 132);

}  // namespace kiln::jit
