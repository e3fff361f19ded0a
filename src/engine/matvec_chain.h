#pragma once
// Decode's products from a layer's o to the next layer's qkv (or the LM head) in one persistent
// kernel, matvec_chain (kernels/matvec_chain.cuh): o, gate+up (normalizing h itself), down, next
// (normalizing h itself), with a grid barrier between them instead of a kernel boundary. Used
// (EngineOptions::matvec_chain) for decode where it fits (matvec_chain_fits: llama-8b up to 4
// tokens) and every product reads the same rows (one token, or all logits: engine/forward.cpp);
// otherwise the four products launch one by one (engine/matmul.h). The key builders are inline so
// that tests/jit can enumerate keys without the engine library.
#include <cuda_runtime_api.h>

#include <algorithm>

#include "engine/matmul.h"
#include "kernels/matvec_chain_params.h"

namespace kiln::engine {

// The four products' shapes, as the stream mat-vec would run them (up and next with in_norm).
struct ChainShapes {
  MatmulShape o, up, down, next;
};
// One launch's data: each product's as for matmul_launch.
struct ChainArgs {
  MatmulArgs o, up, down, next;
};

// matvec_chain's shared memory at the stream kernel's chunk and consumers: its ring of `stages`,
// and the largest product's input rows (down's K, n_ff, at max_tokens). At least
// kMatvecStreamMinSmem, so that one CTA holds an SM.
inline int matvec_chain_smem(const ChainShapes& s, int max_tokens, int stages = kMatvecStreamStages) {
  const int max_k = std::max({s.o.k, s.up.k, s.down.k, s.next.k});
  return std::max(kMatvecStreamMinSmem,
                  matvec_chain_smem_bytes(kMatvecStreamChunk, stages, kMatvecStreamConsumers, max_tokens, max_k));
}

// The deepest ring of at most `most` stages (>= the default) that fits beside the rows.
inline int matvec_chain_stages_up_to(const ChainShapes& s, int max_tokens, int most) {
  int stages = kMatvecStreamStages;
  for (int n = stages + 1; n <= most; ++n)
    if (matvec_chain_smem(s, max_tokens, n) <= 227 * 1024) stages = n;
  return stages;
}

// Whether matvec_chain runs these products for max_tokens on the target: a dense layer's roles
// (o and down add into h, up gated and next plain, both normalizing h; the sizes chain up), every
// product a shape the stream kernel runs, TMA (sm_90) and the shared memory.
inline bool matvec_chain_fits(const ChainShapes& s, int max_tokens, const MatmulTarget& target) {
  const auto plain = [](const MatmulShape& p) { return p.act == MatmulAct::none && !p.norm; };
  const bool roles = s.o.out == MatmulOut::add_f32 && plain(s.o) && !s.o.in_norm &&
                     s.up.out == MatmulOut::gated_f16 && !s.up.has_bias && !s.up.norm && s.up.in_norm &&
                     s.down.out == MatmulOut::add_f32 && plain(s.down) && !s.down.has_bias && !s.down.in_norm &&
                     s.next.out == MatmulOut::f32 && plain(s.next) && s.next.in_norm;
  const bool sizes = s.up.k == s.o.n && s.down.n == s.o.n && s.next.k == s.o.n && s.down.k == s.up.n;
  return roles && sizes && target.cc_major >= 9 && max_tokens >= 1 && max_tokens <= kMatvecMaxTokens &&
         matvec_stream_fits(s.o) && matvec_stream_fits(s.up) && matvec_stream_fits(s.down) &&
         matvec_stream_fits(s.next) && matvec_chain_smem(s, max_tokens) <= 227 * 1024;
}

// matvec_chain<k_o, n_embd, n_ff, n_next, act, o_bias, next_bias, max_tokens, consumers, chunk, stages>
// stages: the ring's (EngineOptions::stream_stages; matvec_chain_stages_up_to).
inline jit::KernelKey matvec_chain_key(const ChainShapes& s, int max_tokens, const MatmulTarget& target = {},
                                       int stages = kMatvecStreamStages) {
  using namespace matmul_detail;
  KILN_CHECK(matvec_chain_fits(s, max_tokens, target), "matvec_chain: cannot run o n=", s.o.n, " k=", s.o.k,
             ", gate+up n=", s.up.n, ", next n=", s.next.n, " at max_tokens ", max_tokens);
  KILN_CHECK(stages >= 2 && matvec_chain_smem(s, max_tokens, stages) <= 227 * 1024, "matvec_chain: ", stages,
             " stages do not fit at max_tokens ", max_tokens);
  jit::KernelKey key;
  key.kernel = "matvec_chain";
  key.file = "matvec_chain.cuh";
  key.constants = {shape_const("k_o", s.o.k),
                   shape_const("n_embd", s.o.n),
                   shape_const("n_ff", s.up.n),
                   shape_const("n_next", s.next.n),
                   variant_const("act", static_cast<int>(s.up.act)),
                   variant_const("o_bias", s.o.has_bias),
                   variant_const("next_bias", s.next.has_bias),
                   tuning_const("max_tokens", max_tokens),
                   tuning_const("consumers", kMatvecStreamConsumers),
                   tuning_const("chunk", kMatvecStreamChunk),
                   tuning_const("stages", stages)};
  key.dynamic_smem_bytes = matvec_chain_smem(s, max_tokens, stages);
  return key;
}

// Checks every product's arguments and launches `kernel` (from matvec_chain_key(s, ...)) on one
// CTA per SM. barrier: a device counter, 0 before the first launch, that every chain launch on
// the stream shares (kernels/matvec_chain_params.h). Throws kiln::Error naming the key.
void matvec_chain_launch(const jit::Kernel& kernel, const ChainShapes& s, const ChainArgs& args,
                         unsigned long long* barrier, cudaStream_t stream);

}  // namespace kiln::engine
