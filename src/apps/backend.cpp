// The CPU reference behind the Backend interface (no GPU, or --cpu).
#include <cstdio>

#include "util/error.h"

#include "apps/backend.h"
#include "cpu/forward.h"
#include "engine/engine.h"
#include "jit/device.h"

namespace kiln::apps {

namespace {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const model::Model& model, const BackendOptions& o) : cpu_(model, o.threads, o.n_ctx) {
    if (o.kv_types.any_q8())
      std::fprintf(stderr, "kiln: the CPU reference keeps its KV cache in f32: cache types %s/%s ignored\n",
                   engine::kv_type_name(o.kv_types.k), engine::kv_type_name(o.kv_types.v));
  }

  std::string name() const override { return "CPU"; }
  void set_mode(jit::Mode) override {}  // the reference runs no JIT kernels
  void truncate(int n_keep) override { cpu_.truncate(n_keep); }
  int position() const override { return cpu_.position(); }

  std::vector<float> eval(std::span<const int32_t> tokens, bool want_logits, bool all_logits) override {
    std::vector<float> logits = cpu_.forward(tokens);
    const size_t n_vocab = logits.size() / tokens.size();
    last_.assign(logits.end() - n_vocab, logits.end());
    if (!want_logits) return {};
    if (all_logits) return logits;
    return last_;
  }

  int sample(const cpu::SamplerSettings& settings, float uniform, std::span<const int32_t> recent) override {
    KILN_CHECK(!last_.empty(), "sample: nothing evaluated yet");
    std::vector<float> logits = last_;
    return cpu::sample_token(logits, settings, uniform, recent);
  }

 private:
  cpu::CpuModel cpu_;
  std::vector<float> last_;  // the last eval's last-token logits
};

class GpuBackend final : public Backend {
 public:
  GpuBackend(const model::Model& model, const BackendOptions& o)
      : engine_(model, engine::EngineOptions{.n_ctx = o.n_ctx, .n_ubatch = o.n_ubatch, .mode = o.mode,
                                             .quiet = o.quiet, .all_logits = o.all_logits,
                                             .kv_types = o.kv_types, .trace = o.trace}) {}

  std::string name() const override { return "CUDA"; }
  void set_mode(jit::Mode mode) override { engine_.set_mode(mode); }
  void truncate(int n_keep) override { engine_.truncate(n_keep); }
  int position() const override { return engine_.position(); }
  std::vector<float> eval(std::span<const int32_t> tokens, bool want_logits, bool all_logits) override {
    return engine_.eval(tokens, want_logits, all_logits);
  }
  int sample(const cpu::SamplerSettings& settings, float uniform, std::span<const int32_t> recent) override {
    return engine_.sample(settings, uniform, recent);
  }
  void synchronize() override { engine_.synchronize(); }

 private:
  engine::Engine engine_;
};

}  // namespace

std::unique_ptr<Backend> make_backend(const model::Model& model, const BackendOptions& options) {
  if (!options.force_cpu && jit::Device::has_device()) {
    if (auto why = engine::Engine::unsupported(model); !why.empty())
      std::fprintf(stderr, "kiln: the GPU engine %s: using the CPU reference (slow)\n", why.c_str());
    else
      return std::make_unique<GpuBackend>(model, options);
  } else if (!options.force_cpu) {
    std::fprintf(stderr, "kiln: %s: using the CPU reference (slow)\n", jit::Device::no_device_reason().c_str());
  }
  return std::make_unique<CpuBackend>(model, options);
}

}  // namespace kiln::apps
