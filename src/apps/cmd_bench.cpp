// kiln bench: llama-bench's protocol on kiln. For each model, jit mode and depth d: the context
// is filled with d tokens (not timed), then ppN processes N tokens in one batch and tgN
// generates N tokens one at a time; a warm-up run precedes the timed repetitions, and each
// repetition starts from the same d-token context (the cache is truncated back to d).
// -ctk / -ctv (comma lists, as llama-bench): every combination of K and V cache types runs as
// its own engine (the cache's layout is fixed when it is made).
// --trace DIR: the kernels are built to record a timeline of their CTAs (jit/trace.h), and each
// test's last repetition is written to DIR as CSV (bench/trace_report.py reads it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>

#include "apps/backend.h"
#include "apps/bench_report.h"
#include "apps/command.h"
#include "apps/model_summary.h"
#include "gguf/gguf.h"
#include "jit/trace.h"
#include "model/model.h"
#include "util/error.h"

namespace kiln::apps {

namespace {

struct BenchOptions {
  std::vector<std::string> models;
  std::vector<int> n_prompt{512};
  std::vector<int> n_gen{128};
  std::vector<int> depths{0};
  int reps = 5;
  int n_batch = 2048;
  int n_ubatch = 512;
  int flash_attn = 1;
  std::string output = "md";
  std::vector<std::string> jit_modes{"specialized"};
  std::vector<std::string> cache_type_k{"f16"}, cache_type_v{"f16"};
  bool cpu = false;
  int threads = 0;
  std::string trace_dir;  // "": no trace
};

// DIR/<model>-<jit>-<K type>-<V type>-<test>.csv, the test's spaces and '@' folded ("tg32-d0").
std::string trace_path(const std::string& dir, const BenchResult& r) {
  std::string test;
  for (char c : r.test_name())
    if (c != ' ' && c != '@') test += c;
    else if (!test.empty() && test.back() != '-') test += '-';
  return dir + "/" + r.model + "-" + r.jit + "-" + r.type_k + "-" + r.type_v + "-" + test + ".csv";
}

std::vector<int32_t> random_tokens(int n, int n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, n_vocab - 1);
  std::vector<int32_t> tokens(n);
  for (auto& t : tokens) t = dist(rng);
  return tokens;
}

double now_ns() {
  return std::chrono::duration<double, std::nano>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Fills the context to `depth` tokens (kept across repetitions once filled).
void fill_depth(Backend& backend, int depth, const std::vector<int32_t>& tokens, int n_ubatch) {
  backend.truncate(std::min(backend.position(), depth));
  while (backend.position() < depth) {
    int start = backend.position();
    int n = std::min(n_ubatch, depth - start);
    backend.eval({tokens.data() + start, size_t(n)}, false);
  }
  backend.synchronize();
}

double time_pp(Backend& backend, int depth, const std::vector<int32_t>& tokens, int n_prompt) {
  backend.truncate(depth);
  backend.synchronize();
  double t0 = now_ns();
  backend.eval({tokens.data(), size_t(n_prompt)}, false);
  backend.synchronize();
  return now_ns() - t0;
}

double time_tg(Backend& backend, int depth, const std::vector<int32_t>& tokens, int n_gen) {
  backend.truncate(depth);
  backend.synchronize();
  double t0 = now_ns();
  for (int i = 0; i < n_gen; ++i) backend.eval({tokens.data() + i, 1}, false);
  backend.synchronize();
  return now_ns() - t0;
}

int run_bench(const BenchOptions& o) {
  KILN_CHECK(o.flash_attn == 1, "-fa ", o.flash_attn, ": kiln always uses flash attention (-fa 1)");
  KILN_CHECK(o.reps >= 1, "-r must be at least 1");
  KILN_CHECK(o.n_ubatch >= 1 && o.n_batch >= o.n_ubatch, "-ub must be in 1..-b");
  KILN_CHECK(o.output == "md" || o.output == "csv" || o.output == "json" || o.output == "jsonl",
             "-o ", o.output, ": expected md, csv, json or jsonl");
  std::vector<jit::Mode> modes;
  for (const auto& m : o.jit_modes) modes.push_back(jit::parse_mode(m));
  std::vector<engine::KvTypes> kv_types;
  for (const auto& k : o.cache_type_k)
    for (const auto& v : o.cache_type_v)
      kv_types.push_back({engine::parse_kv_type(k, "-ctk"), engine::parse_kv_type(v, "-ctv")});
  for (int v : o.n_prompt) KILN_CHECK(v >= 0, "-p values must be >= 0");
  for (int v : o.n_gen) KILN_CHECK(v >= 0, "-n values must be >= 0");
  for (int v : o.depths) KILN_CHECK(v >= 0, "-d values must be >= 0");
  int max_depth = *std::max_element(o.depths.begin(), o.depths.end());
  int max_new = 0;
  for (int v : o.n_prompt) max_new = std::max(max_new, v);
  for (int v : o.n_gen) max_new = std::max(max_new, v);

  std::vector<BenchResult> results;
  for (const auto& path : o.models)  // one engine per (model, cache types): the cache layout is fixed
    for (const engine::KvTypes& types : kv_types) {
      gguf::File file = gguf::File::open(path);
      model::Model model = model::load_model(file);
      ModelSummary summary = summarize(model);
      BackendOptions bo;
      bo.n_ctx = max_depth + max_new;
      bo.n_ubatch = o.n_ubatch;
      bo.mode = modes.front();
      bo.force_cpu = o.cpu;
      bo.threads = o.threads;
      bo.kv_types = types;
      bo.trace = !o.trace_dir.empty();
      auto backend = make_backend(model, bo);
      KILN_CHECK(!bo.trace || backend->name() == "CUDA", "--trace: the CPU reference runs no kernels to trace");
      auto tokens = random_tokens(max_depth + max_new, model.hp.n_vocab, 42);
      auto new_tokens = random_tokens(max_new, model.hp.n_vocab, 7);

      for (jit::Mode mode : modes) {
        backend->set_mode(mode);
        backend->truncate(0);
        for (int depth : o.depths) {
          auto run = [&](int n_prompt, int n_gen) {
            BenchResult r;
            r.model = path.substr(path.find_last_of('/') + 1);
            r.model_type = summary.type;
            r.model_bytes = summary.bytes;
            r.model_params = summary.params;
            r.backend = backend->name();
            r.jit = backend->name() == "CPU" ? "-" : std::string(jit::mode_name(mode));
            r.type_k = engine::kv_type_name(types.k);
            r.type_v = engine::kv_type_name(types.v);
            r.n_prompt = n_prompt;
            r.n_gen = n_gen;
            r.n_depth = depth;
            r.n_batch = o.n_batch;
            r.n_ubatch = o.n_ubatch;
            fill_depth(*backend, depth, tokens, o.n_ubatch);
            auto once = [&] {
              return n_prompt > 0 ? time_pp(*backend, depth, new_tokens, n_prompt)
                                  : time_tg(*backend, depth, new_tokens, n_gen);
            };
            once();  // warm-up
            for (int rep = 0; rep < o.reps; ++rep) {
              const bool traced = bo.trace && rep == o.reps - 1;
              if (traced) jit::trace_clear();
              r.samples_ns.push_back(once());
              if (traced) {
                std::filesystem::create_directories(o.trace_dir);
                const std::string file = trace_path(o.trace_dir, r);
                const size_t n = jit::trace_write_csv(file);
                std::fprintf(stderr, "kiln bench: %zu trace records in %s\n", n, file.c_str());
              }
            }
            std::fprintf(stderr, "kiln bench: %s %s %s/%s %s: %.2f t/s\n", r.model.c_str(), r.jit.c_str(),
                         r.type_k.c_str(), r.type_v.c_str(), r.test_name().c_str(), r.mean_ts());
            results.push_back(r);
          };
          for (int p : o.n_prompt)
            if (p > 0) run(p, 0);
          for (int n : o.n_gen)
            if (n > 0) run(0, n);
        }
      }
    }
  if (o.output == "md") std::cout << render_md(results);
  else if (o.output == "csv") std::cout << render_csv(results);
  else std::cout << render_json(results, o.output == "jsonl");
  return 0;
}

}  // namespace

Run add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* sub = app.add_subcommand("bench", "measure prefill (ppN) and generation (tgN) speed, as llama-bench does");
  sub->add_option("-m,--model", o->models, "GGUF file(s)")->required()->delimiter(',');
  sub->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens per pp test (comma list)")->delimiter(',');
  sub->add_option("-n,--n-gen", o->n_gen, "generated tokens per tg test (comma list)")->delimiter(',');
  sub->add_option("-d,--n-depth", o->depths, "context depths (comma list)")->delimiter(',');
  sub->add_option("-r,--repetitions", o->reps, "timed repetitions per test");
  sub->add_option("-b,--batch-size", o->n_batch, "logical batch size");
  sub->add_option("--ubatch-size", o->n_ubatch, "micro-batch, tokens per forward pass (also -ub)");
  sub->add_option("--flash-attn", o->flash_attn, "flash attention: kiln always uses it (also -fa)");
  sub->add_option("-o,--output", o->output, "md, csv, json or jsonl");
  sub->add_option("--jit", o->jit_modes, "specialized,generic (both: one table, side by side)")->delimiter(',');
  sub->add_option("--cache-type-k", o->cache_type_k, "K cache types, f16 or q8_0 (comma list; also -ctk)")
      ->delimiter(',');
  sub->add_option("--cache-type-v", o->cache_type_v, "V cache types, f16 or q8_0 (comma list; also -ctv)")
      ->delimiter(',');
  sub->add_flag("--cpu", o->cpu, "use the CPU reference even when a GPU is present");
  sub->add_option("-t,--threads", o->threads, "CPU reference threads");
  sub->add_option("--trace", o->trace_dir,
                  "write each test's last repetition as a timeline of the kernels' CTAs to this folder "
                  "(kernels built to record it: slower; bench/trace_report.py)");
  return [o] { return run_bench(*o); };
}

}  // namespace kiln::apps
