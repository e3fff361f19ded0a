#pragma once
// What `kiln bench`, `kiln run` and `kiln logits` drive: the GPU engine when a CUDA device is
// present, else the CPU reference (slow, and every command says so once).
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cpu/sampler.h"
#include "engine/kv_cache.h"
#include "jit/key.h"
#include "model/model.h"

namespace kiln::apps {

struct BackendOptions {
  int n_ctx = 4096;          // tokens the context must hold
  int n_ubatch = 512;        // prefill micro-batch
  jit::Mode mode = jit::Mode::specialized;
  bool force_cpu = false;
  int threads = 0;           // CPU reference threads (0: all)
  bool quiet = false;        // no load-time summary on stderr
  bool all_logits = false;   // eval(..., all_logits = true) will be used (kiln logits)
  engine::KvTypes kv_types;  // KV cache element types (-ctk / -ctv); the CPU reference keeps f32
  bool trace = false;        // kernels record a CTA timeline (jit/trace.h); the GPU engine only
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "CUDA" or "CPU"
  // Selects which kernel builds run next (compiles what the mode needs before returning).
  virtual void set_mode(jit::Mode mode) = 0;
  // Drops the context after its first n_keep tokens.
  virtual void truncate(int n_keep) = 0;
  virtual int position() const = 0;
  // Appends tokens to the context. Returns the logits of the last token, or of every token
  // when all_logits (n_tokens x n_vocab, row-major); empty when want_logits is false.
  virtual std::vector<float> eval(std::span<const int32_t> tokens, bool want_logits,
                                  bool all_logits = false) = 0;
  // Draws the next token from the last eval's last-token logits (on the GPU for the engine);
  // `uniform` in [0, 1), `recent` distinct ids for the repeat penalty.
  virtual int sample(const cpu::SamplerSettings& settings, float uniform,
                     std::span<const int32_t> recent) = 0;
  // Waits for queued device work (timing boundaries).
  virtual void synchronize() {}
};

// The GPU engine if a CUDA device is usable and !force_cpu, else the CPU reference, after
// printing "kiln: no CUDA device (...): using the CPU reference" once to stderr.
std::unique_ptr<Backend> make_backend(const model::Model& model, const BackendOptions& options);

}  // namespace kiln::apps
