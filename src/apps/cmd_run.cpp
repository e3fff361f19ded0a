// kiln run: generate text from a prompt (or a chat), streaming tokens as they come, then one
// summary line. The GPU engine when a device is present, else the CPU reference (labelled).
//   kiln run -m FILE -p "prompt" [-n N] [--temp T --top-k K --top-p P --min-p M --seed S
//            --repeat-penalty R] [--chat [--system TEXT]] [-i] [-c CTX] [--cpu] [--jit MODE]
//            [-ctk f16|q8_0] [-ctv f16|q8_0]
// Ctrl-C stops generation, prints the summary and exits 130.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>

#include "apps/backend.h"
#include "apps/command.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace kiln::apps {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct RunOptions {
  std::string model_path, prompt, system, jit = "";
  std::string cache_type_k = "f16", cache_type_v = "f16";
  int n_predict = 128;
  int ctx = 4096;
  float temperature = 0.8f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f;
  int top_k = 40, repeat_last_n = 64;
  int64_t seed = -1;
  bool chat = false, interactive = false, cpu = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Timings of everything run so far, printed as the one summary line.
struct Stats {
  double load_s = 0, prompt_s = 0, gen_s = 0;
  int prompt_tokens = 0, gen_tokens = 0;
  std::string backend;

  void print() const {
    std::fprintf(stderr,
                 "\nkiln run (%s): prompt %d tokens in %.2f s (%.1f t/s) | generation %d tokens in %.2f s "
                 "(%.1f t/s) | load %.2f s (weights and kernel compile)\n",
                 backend.c_str(), prompt_tokens, prompt_s, prompt_s > 0 ? prompt_tokens / prompt_s : 0.0,
                 gen_tokens, gen_s, gen_s > 0 ? gen_tokens / gen_s : 0.0, load_s);
  }
};

// The last `n` distinct tokens of the context, for the repeat penalty.
std::vector<int32_t> recent_tokens(const std::vector<int32_t>& context, int n) {
  std::vector<int32_t> out;
  for (size_t i = context.size(); i > 0 && int(out.size()) < n; --i)
    if (std::find(out.begin(), out.end(), context[i - 1]) == out.end()) out.push_back(context[i - 1]);
  return out;
}

class Session {
 public:
  Session(const RunOptions& o) : o_(o), file_(gguf::File::open(o.model_path)), model_(model::load_model(file_)) {
    const std::string kind = file_.get_str_or("tokenizer.ggml.model", "none");
    KILN_CHECK(kind != "none", o.model_path, " has no tokenizer (tokenizer.ggml.model is '", kind,
               "'): write one in with `kiln synth --tokenizer DIR`, or use `kiln logits --tokens`");
    tokenizer_ = tokenizer::Tokenizer::from_gguf(file_);
    if (o.chat) {
      const gguf::Value* tmpl = file_.find("tokenizer.chat_template");
      KILN_CHECK(tmpl, o.model_path, " has no tokenizer.chat_template: run without --chat");
      chat_template_ = std::make_unique<tokenizer::ChatTemplate>(tmpl->as_str("tokenizer.chat_template"));
    }
    KILN_CHECK(o.ctx >= 1, "-c must be at least 1");
    const auto t0 = std::chrono::steady_clock::now();
    BackendOptions bo;
    bo.n_ctx = o.ctx;
    bo.force_cpu = o.cpu;
    if (!o.jit.empty()) bo.mode = jit::parse_mode(o.jit);
    bo.kv_types = {engine::parse_kv_type(o.cache_type_k, "--cache-type-k"),
                   engine::parse_kv_type(o.cache_type_v, "--cache-type-v")};
    backend_ = make_backend(model_, bo);
    stats_.backend = backend_->name() == "CPU" ? "CPU reference, slow" : backend_->name();
    stats_.load_s = seconds_since(t0);
    rng_.seed(o.seed >= 0 ? uint64_t(o.seed) : std::random_device{}());
    if (!o.system.empty()) messages_.push_back({"system", o.system});
  }

  // One user turn: renders the prompt, evaluates what the context does not hold yet, and
  // generates. Returns false when interrupted.
  bool turn(const std::string& user_text) {
    KILN_CHECK(!user_text.empty(), "the prompt is empty: give some text with -p");
    std::vector<int32_t> tokens = prompt_tokens(user_text);
    KILN_CHECK(int(tokens.size()) < o_.ctx, "the prompt has ", tokens.size(), " tokens but the context holds ",
               o_.ctx, " (-c): shorten it or raise -c");
    // Keep the longest prefix the context already holds (interactive turns re-render the chat).
    size_t keep = 0;
    while (keep < context_.size() && keep < tokens.size() && context_[keep] == tokens[keep]) ++keep;
    if (keep == tokens.size()) --keep;  // at least one token to evaluate for fresh logits
    backend_->truncate(int(keep));
    context_.resize(keep);
    const std::vector<int32_t> fresh(tokens.begin() + keep, tokens.end());

    auto t0 = std::chrono::steady_clock::now();
    backend_->eval(fresh, false);
    backend_->synchronize();
    stats_.prompt_s += seconds_since(t0);
    stats_.prompt_tokens += int(fresh.size());
    context_.insert(context_.end(), fresh.begin(), fresh.end());
    if (g_interrupted) return false;

    cpu::SamplerSettings sampling{.temperature = o_.temperature, .top_k = o_.top_k, .top_p = o_.top_p,
                                  .min_p = o_.min_p, .repeat_penalty = o_.repeat_penalty};
    std::uniform_real_distribution<float> uniform(0.f, 1.f);
    tokenizer::Decoder decoder(*tokenizer_);
    std::string reply;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o_.n_predict && !g_interrupted; ++i) {
      const auto recent = recent_tokens(context_, o_.repeat_last_n);
      const int32_t token = backend_->sample(sampling, uniform(rng_), recent);
      if (tokenizer_->is_eog(token)) break;
      const std::string piece = decoder.push(token);
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      ++stats_.gen_tokens;
      if (int(context_.size()) >= o_.ctx) {
        std::fprintf(stderr, "\nkiln: the context is full (%d tokens, -c)\n", o_.ctx);
        break;
      }
      context_.push_back(token);
      backend_->eval(std::span(&context_.back(), 1), false);
    }
    const std::string tail = decoder.flush();
    reply += tail;
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    backend_->synchronize();
    stats_.gen_s += seconds_since(t0);
    if (chat_template_) messages_.push_back({"assistant", reply});
    return !g_interrupted;
  }

  const Stats& stats() const { return stats_; }

 private:
  std::vector<int32_t> prompt_tokens(const std::string& user_text) {
    if (!chat_template_) {
      // Plain completion: the context continues; only the first turn starts with BOS.
      std::vector<int32_t> tokens = context_;
      auto more = tokenizer_->encode(user_text, context_.empty(), true);
      tokens.insert(tokens.end(), more.begin(), more.end());
      return tokens;
    }
    messages_.push_back({"user", user_text});
    tokenizer::ChatOptions co;
    co.add_generation_prompt = true;
    if (tokenizer_->bos_id() >= 0) co.bos_token = tokenizer_->token_text(tokenizer_->bos_id());
    if (tokenizer_->eos_id() >= 0) co.eos_token = tokenizer_->token_text(tokenizer_->eos_id());
    const std::string text = chat_template_->apply(messages_, co);
    // Templates that write the BOS text themselves get no second one.
    const bool has_bos = !co.bos_token.empty() && text.rfind(co.bos_token, 0) == 0;
    return tokenizer_->encode(text, !has_bos, true);
  }

  RunOptions o_;
  gguf::File file_;
  model::Model model_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<tokenizer::ChatTemplate> chat_template_;
  std::unique_ptr<Backend> backend_;
  std::vector<tokenizer::ChatMessage> messages_;
  std::vector<int32_t> context_;  // tokens the backend holds
  std::mt19937_64 rng_;
  Stats stats_;
};

int run(const RunOptions& o) {
  KILN_CHECK(o.interactive || !o.prompt.empty(), "the prompt is empty: give some text with -p (or use -i)");
  KILN_CHECK(o.n_predict >= 0, "-n must be >= 0");
  engine::parse_kv_type(o.cache_type_k, "--cache-type-k");  // a bad type fails before the model loads
  engine::parse_kv_type(o.cache_type_v, "--cache-type-v");
  Session session(o);
  std::signal(SIGINT, on_sigint);
  bool ok = true;
  if (!o.prompt.empty()) ok = session.turn(o.prompt);
  if (o.interactive) {
    std::string line;
    while (ok && (std::fputs("> ", stderr), std::getline(std::cin, line)))
      if (!line.empty()) ok = session.turn(line);
  }
  session.stats().print();
  return g_interrupted ? 130 : 0;
}

}  // namespace

Run add_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = app.add_subcommand("run", "generate text from a prompt");
  sub->add_option("-m,--model", o->model_path, "GGUF file")->required();
  sub->add_option("-p,--prompt", o->prompt, "prompt text");
  sub->add_option("-n,--n-predict", o->n_predict, "tokens to generate at most");
  sub->add_option("-c,--ctx-size", o->ctx, "context size in tokens");
  sub->add_option("--temp", o->temperature, "temperature (0: greedy)");
  sub->add_option("--top-k", o->top_k, "keep the k most likely tokens (0: off)");
  sub->add_option("--top-p", o->top_p, "keep the smallest set holding this probability (1: off)");
  sub->add_option("--min-p", o->min_p, "drop tokens under this fraction of the top probability (0: off)");
  sub->add_option("--repeat-penalty", o->repeat_penalty, "penalty on recent tokens (1: off)");
  sub->add_option("--repeat-last-n", o->repeat_last_n, "recent tokens the penalty looks at");
  sub->add_option("--seed", o->seed, "sampling seed (-1: random)");
  sub->add_flag("--chat", o->chat, "apply the model's chat template");
  sub->add_option("--system", o->system, "system message (with --chat)");
  sub->add_flag("-i,--interactive", o->interactive, "read more turns from stdin");
  sub->add_flag("--cpu", o->cpu, "use the CPU reference even when a GPU is present");
  sub->add_option("--jit", o->jit, "specialized or generic kernels (default: $KILN_JIT or specialized)");
  sub->add_option("--cache-type-k", o->cache_type_k, "KV cache type of K: f16 or q8_0 (also -ctk)");
  sub->add_option("--cache-type-v", o->cache_type_v, "KV cache type of V: f16 or q8_0 (also -ctv)");
  return [o] { return run(*o); };
}

}  // namespace kiln::apps
