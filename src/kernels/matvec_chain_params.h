#pragma once
// Arguments of matvec_chain.cuh: one Q8MatmulParams per product, filled as for
// matvec_q8r_stream (weight maps at the kernel's chunk; the in_norm fields for gate+up and next),
// and the counter of the grid barrier between products.
#include "matvec_q8r_params.h"

// The products of a chain, in order: the layer's attention output projection (adds into the
// residual stream h), gate+up (normalizes h itself), down (adds into h), and the next product
// that reads the normalized h: the next layer's qkv, or the LM head after the last layer.
enum : int { kChainO = 0, kChainUp = 1, kChainDown = 2, kChainNext = 3, kChainProducts = 4 };

struct MatvecChainParams {
  Q8MatmulParams products[kChainProducts];
  // CTAs that have reached a product boundary, ever: every boundary adds gridDim.x, so the
  // boundary a CTA arrives at ends where the count reaches the next multiple of gridDim.x. Zero
  // when first used; never reset (64 bits: no wrap), and shared by every chain launch on the
  // stream (one launch's boundaries all complete before the next launch's first).
  unsigned long long* barrier;
};

// matvec_chain's shared memory: the stream kernel's ring of weight stages, its partial sums and
// mbarriers (matvec_stream_smem_bytes with no activations in the stages), then every product's
// input rows, all of K (max_tokens rows of max_k f16, padded by 16 B), reused product by product.
constexpr int matvec_chain_smem_bytes(int chunk, int stages, int consumers, int max_tokens, int max_k) {
  return 128 + stages * matvec_stream_stage_bytes(chunk, 0) + 2 * consumers * 32 * 16 + stages * 16 + 16 +
         max_tokens * matvec_stream_x_row(max_k);
}
