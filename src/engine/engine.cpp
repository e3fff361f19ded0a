#include "engine/engine.h"

#include <cuda_runtime_api.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <map>

#include "engine/device_buffer.h"
#include "engine/forward.h"
#include "engine/weights.h"
#include "jit/cuda_check.h"
#include "jit/device.h"
#include "plan/kernel_plan.h"
#include "util/env.h"
#include "util/error.h"
#include "util/format.h"

namespace kiln::engine {

namespace {

// Plans are per (token-count bucket, all logits): the forward pass takes the same kernels for
// every n in a bucket.
struct PlanId {
  int bucket;
  bool all_logits;
  auto operator<=>(const PlanId&) const = default;
};

void print_progress(uint64_t done, uint64_t total) {
  int pct = total ? int(100.0 * done / total) : 100;
  std::fprintf(stderr, "\rkiln: uploading weights %3d%% (%s of %s)", pct, gib_text(done).c_str(), gib_text(total).c_str());
  if (done == total) std::fprintf(stderr, "\n");
}

}  // namespace

struct Engine::State {
  const model::Model& model;
  EngineOptions options;
  cudaStream_t stream = nullptr;
  Weights weights;
  std::unique_ptr<Forward> forward;
  std::array<std::unique_ptr<jit::Library>, 2> libraries;  // by mode
  std::map<std::pair<int, PlanId>, plan::KernelPlan> plans;  // by (mode, plan id)
  jit::Mode mode = jit::Mode::specialized;
  jit::LoadSummary load_summary;
  std::array<const jit::Kernel*, 2> sample_kernel{};  // by mode
  // Decode graphs, by mode and the attention plan's graph bucket.
  std::map<std::pair<int, int>, cudaGraphExec_t> graphs;

  State(const model::Model& m, const EngineOptions& o) : model(m), options(o) {}

  ~State() {
    for (auto& [id, exec] : graphs) cudaGraphExecDestroy(exec);
    if (stream) cudaStreamDestroy(stream);
  }

  jit::Library& library(jit::Mode m) {
    auto& lib = libraries[int(m)];
    if (!lib) {
      jit::LibraryOptions lo;
      lo.mode = m;
      lo.trace = options.trace;
      lib = std::make_unique<jit::Library>(lo);
    }
    return *lib;
  }

  plan::KernelPlan& plan_for(PlanId id) {
    auto& plan = plans[{int(mode), id}];
    if (plan.recording()) {
      forward->run(plan, id.bucket, id.all_logits);  // records the keys, launches nothing
      plan.resolve(library(mode));
    }
    return plan;
  }

  // Records and loads every plan generation can use, so nothing compiles after this.
  void prepare(jit::Mode m) {
    mode = m;
    std::vector<jit::KernelKey> keys;
    std::vector<PlanId> ids;
    for (int bucket : forward->buckets()) {
      ids.push_back({bucket, false});
      if (options.all_logits) ids.push_back({bucket, true});
    }
    for (PlanId id : ids) {
      auto& plan = plans[{int(mode), id}];
      if (plan.recording() && plan.keys().empty()) forward->run(plan, id.bucket, id.all_logits);
      keys.insert(keys.end(), plan.keys().begin(), plan.keys().end());
    }
    keys.push_back(forward->sample_key());
    jit::Library& lib = library(mode);
    load_summary = lib.prepare(keys);
    for (PlanId id : ids) plans[{int(mode), id}].resolve(lib);
    sample_kernel[int(mode)] = &lib.get(forward->sample_key());
    lib.seal();  // with KILN_JIT_STRICT=1 a compile from here on is an error
    if (!options.quiet) std::fprintf(stderr, "kiln: %s\n", load_summary.line().c_str());
  }
};

int fused_write_splits_from_env() { return env_int("KILN_FUSED_WRITE_SPLITS", 1, 0, kAttnMaxSplits); }
bool o_whole_ring_from_env() { return env_switch("KILN_O_WHOLE_RING"); }
bool matvec_chain_from_env() { return env_switch("KILN_MATVEC_CHAIN"); }
int stream_stages_from_env() {
  const int stages = env_int("KILN_STREAM_STAGES", 0, 0, 8);
  KILN_CHECK(stages != 1, "KILN_STREAM_STAGES must be 0 (the default) or 2..8, got 1");
  return stages;
}

std::string Engine::unsupported_arch(const model::Model& model) {
  const std::string& arch = model.arch.name;
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3")
    return cat("does not run ", arch, " models yet (llama, qwen2, qwen3)");
  return "";
}

std::string Engine::unsupported(const model::Model& model) {
  if (auto why = unsupported_arch(model); !why.empty()) return why;
  return unsupported_weights(model);
}

Engine::Engine(const model::Model& model, const EngineOptions& options)
    : state_(std::make_unique<State>(model, options)) {
  auto why = unsupported(model);
  KILN_CHECK(why.empty(), model.file->path(), ": the GPU engine ", why);
  const jit::Device& device = jit::Device::current();
  KILN_CHECK(options.n_ctx >= 1, "context size must be >= 1");
  KILN_CHECK(options.n_ubatch >= 1, "micro-batch must be >= 1");
  KILN_CHECK(options.target_cc_major >= 0 && options.target_cc_major <= device.cc_major, "cannot plan kernels for ",
             "compute capability ", options.target_cc_major, " on a ", device.cc_major, ".x device");
  ForwardConfig config = forward_config(model, options.n_ctx, options.n_ubatch, device, options.kv_types);
  if (options.target_cc_major) config.target.cc_major = options.target_cc_major;
  config.fused_write_splits = options.fused_write_splits;
  config.stream_stages = options.stream_stages;
  config.o_whole_ring = options.o_whole_ring;
  config.matvec_chain = options.matvec_chain;
  check_fits({{"weights", weight_bytes(model)},
              {"KV cache", config.kv_cache_bytes},
              {"activations", config.activation_bytes}});
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking));
  state_->weights = upload_weights(model, options.quiet ? std::function<void(uint64_t, uint64_t)>() : print_progress);
  state_->forward = std::make_unique<Forward>(model, &state_->weights, config, state_->stream);
  state_->prepare(options.mode);
}

Engine::~Engine() = default;

void Engine::set_mode(jit::Mode mode) { state_->prepare(mode); }
jit::Mode Engine::mode() const { return state_->mode; }
const jit::LoadSummary& Engine::load_summary() const { return state_->load_summary; }
int Engine::position() const { return state_->forward->position(); }
int Engine::n_ctx() const { return state_->options.n_ctx; }
void Engine::truncate(int n_keep) { state_->forward->truncate(n_keep); }
void Engine::synchronize() { KILN_CUDA_CHECK(cudaStreamSynchronize(state_->stream)); }

std::vector<float> Engine::eval(std::span<const int32_t> tokens, bool want_logits, bool all_logits) {
  State& s = *state_;
  Forward& f = *s.forward;
  KILN_CHECK(!tokens.empty(), "eval: no tokens");
  KILN_CHECK(f.position() + int(tokens.size()) <= s.options.n_ctx, "the context holds ", s.options.n_ctx,
             " tokens: ", f.position(), " used + ", tokens.size(), " new do not fit");
  for (int32_t t : tokens)
    KILN_CHECK(t >= 0 && t < s.model.hp.n_vocab, "token id ", t, " is outside the vocabulary (", s.model.hp.n_vocab, ")");
  std::vector<float> all;
  const int ubatch = s.options.n_ubatch;
  for (size_t start = 0; start < tokens.size(); start += ubatch) {
    const int n = int(std::min<size_t>(ubatch, tokens.size() - start));
    const bool last = start + n == tokens.size();
    const PlanId id{f.bucket(n), all_logits};
    f.set_inputs(tokens.subspan(start, n));
    plan::KernelPlan& plan = s.plan_for(id);
    const bool graphed = s.options.cuda_graphs && n == 1 && !all_logits;
    if (graphed) {
      auto key = std::make_pair(int(s.mode), f.graph_bucket());
      auto it = s.graphs.find(key);
      if (it == s.graphs.end()) {
        cudaGraph_t graph;
        KILN_CUDA_CHECK(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal));
        plan.rewind();
        f.run(plan, n, false);
        KILN_CUDA_CHECK(cudaStreamEndCapture(s.stream, &graph));
        cudaGraphExec_t exec;
        KILN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
        cudaGraphDestroy(graph);
        it = s.graphs.emplace(key, exec).first;
      }
      KILN_CUDA_CHECK(cudaGraphLaunch(it->second, s.stream));
    } else {
      plan.rewind();
      f.run(plan, n, all_logits);
    }
    f.advance(n);
    if (want_logits && all_logits) {
      auto part = f.download_logits(n);
      all.insert(all.end(), part.begin(), part.end());
    } else if (want_logits && last) {
      all = f.download_logits(1);
    }
  }
  return all;
}

int Engine::sample(const SamplerSettings& settings, float uniform, std::span<const int32_t> recent) {
  return state_->forward->sample(*state_->sample_kernel[int(state_->mode)], settings, uniform, recent);
}

}  // namespace kiln::engine
