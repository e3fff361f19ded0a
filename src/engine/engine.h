#pragma once
// The GPU engine: weights uploaded once (Q8_0 repacked to q8r), a paged KV cache (f16 or q8_0), and the
// forward pass as JIT kernels resolved before the first token. Prefill runs in micro-batches
// of n_ubatch tokens; decode (one token) replays a CUDA graph.
#include <cuda_runtime_api.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cpu/sampler.h"
#include "jit/key.h"
#include "engine/kv_cache.h"
#include "jit/library.h"
#include "jit/trace.h"
#include "model/model.h"

namespace kiln::engine {

// $KILN_FUSED_WRITE_SPLITS: 0..kAttnMaxSplits, 1 when unset.
int fused_write_splits_from_env();
// $KILN_STREAM_STAGES: 0 (unset) or 2..8.
int stream_stages_from_env();
// $KILN_O_WHOLE_RING as a switch (util/env.h).
bool o_whole_ring_from_env();
// $KILN_MATVEC_CHAIN as a switch.
bool matvec_chain_from_env();

struct EngineOptions {
  int n_ctx = 4096;      // tokens the KV cache holds
  int n_ubatch = 512;    // prefill micro-batch
  jit::Mode mode = jit::mode_from_env();
  bool quiet = false;    // no load summary on stderr
  bool cuda_graphs = true;
  bool all_logits = false;  // also prepare the kernels that compute every token's logits
  KvTypes kv_types;         // K and V cache element types (f16, or q8_0: about half the bytes)
  // Plans kernels as for a GPU of this compute capability (0: the device's). A lower one runs an
  // older GPU's kernels on this one (sm_80: mma.sync GEMM and attention, matvec_q8r with the norm
  // epilogue), which is how the GPU tests cover those paths on an H100.
  int target_cc_major = 0;
  // A decode step whose attention has at most this many KV splits runs kv_write's work (q/k
  // norm, RoPE, the cache store) inside the attention kernel (attn_decode_write): one kernel
  // fewer a layer. 1 by default, short contexts: on the H100 +0.4-1.7% at d0 on the five dense
  // presets, but -0.4..-2.1% at d8192 (notes/decode.md). 0: never; kAttnMaxSplits: always. The
  // default comes from $KILN_FUSED_WRITE_SPLITS.
  int fused_write_splits = fused_write_splits_from_env();
  // Ring stages of the decode mat-vecs (matvec_q8r_stream), at most: more bytes of the next
  // product on chip while the kernels before it drain. 0: the default (kMatvecStreamStages); the
  // default comes from $KILN_STREAM_STAGES (2..8), for A/B runs (8 measured 1-3% slower on the
  // H100, notes/decode.md).
  int stream_stages = stream_stages_from_env();
  // The decode o product (after attention, when DRAM idles at short context) gets a ring deep
  // enough for all of a CTA's chunks where it fits, so that its weights are on chip before its
  // wait returns. For A/B runs until measured; the default comes from $KILN_O_WHOLE_RING.
  bool o_whole_ring = o_whole_ring_from_env();
  // One token's decode (and 2-4 tokens' with all logits) runs each layer's o, gate+up, down and
  // the next layer's qkv (after the last layer: the LM head) as one persistent kernel, matvec_chain
  // (engine/matvec_chain.h): grid barriers instead of kernel boundaries, the weights streaming
  // on across them. Otherwise they launch one by one (o_whole_ring applies; stream_stages applies
  // to both). Off by default: measured 5% slower on the H100 so far (notes/decode.md). The
  // default comes from $KILN_MATVEC_CHAIN.
  bool matvec_chain = matvec_chain_from_env();
  // Kernels built to record a timeline of their CTAs (jit/trace.h; $KILN_TRACE=1): slower, for
  // seeing where a step's time goes.
  bool trace = jit::trace_from_env();
};

using cpu::SamplerSettings;

class Engine {
 public:
  Engine(const model::Model& model, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Why this engine cannot run `model` ("does not run gemma3 yet"), or "" when it can:
  // unsupported_arch() looks at the architecture only, unsupported() also at the tensors.
  static std::string unsupported_arch(const model::Model& model);
  static std::string unsupported(const model::Model& model);

  // Switches every kernel to the mode's build (compiles what is missing before returning).
  void set_mode(jit::Mode mode);
  jit::Mode mode() const;

  // Appends tokens to the context. Always computes the last token's logits on the device;
  // returns them (or every token's, n x n_vocab, when all_logits) if want_logits.
  std::vector<float> eval(std::span<const int32_t> tokens, bool want_logits, bool all_logits = false);
  // Samples from the last eval's last-token logits on the GPU; `uniform` in [0, 1); `recent`
  // (distinct ids) for the repeat penalty.
  int sample(const SamplerSettings& settings, float uniform, std::span<const int32_t> recent = {});

  void truncate(int n_keep);
  int position() const;
  int n_ctx() const;
  void synchronize();

  // The kernel load of the last set_mode / construction.
  const jit::LoadSummary& load_summary() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln::engine
