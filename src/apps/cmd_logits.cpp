// kiln logits: the logits of every position of a token list, for comparing engines.
//   kiln logits -m FILE --tokens 1,2,3 [--cpu] [-o out.f32] [--threads N] [--ctx N] [-ctk T] [-ctv T]
// Writes n_tokens x n_vocab float32, row-major: raw little-endian to -o, else text to stdout
// (one row per line). The GPU engine runs it when a device is present (and the arch is one it
// runs), else the CPU reference; --cpu forces the reference.
#include <bit>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/command.h"
#include "apps/backend.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "util/error.h"

namespace kiln::apps {

namespace {

struct LogitsOptions {
  std::string model_path;
  std::string tokens;
  std::string out_path;  // empty: text to stdout
  bool cpu = false;      // run the CPU reference even when a GPU is present
  std::string jit;       // "": $KILN_JIT or specialized
  int threads = 0;       // 0: default_threads()
  int ctx = 0;           // 0: the model's training context
  std::string cache_type_k = "f16", cache_type_v = "f16";
};

// "1,2, 3" -> {1, 2, 3}; anything else is a one-line error naming the bad item.
std::vector<int32_t> parse_tokens(const std::string& text) {
  KILN_CHECK(text.find_first_not_of(' ') != std::string::npos,
             "--tokens: the list is empty; give at least one token id, e.g. --tokens 1,2,3");
  std::vector<int32_t> tokens;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const size_t first = item.find_first_not_of(' '), last = item.find_last_not_of(' ');
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    int32_t value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    KILN_CHECK(!item.empty() && ec == std::errc() && ptr == item.data() + item.size(),
               "--tokens: '", item, "' (item ", tokens.size(), ") is not a token id; expected a ",
               "comma-separated list of integers like 1,2,3");
    tokens.push_back(value);
    start = end + 1;
  }
  return tokens;
}

void write_logits(const std::vector<float>& logits, int64_t n_tokens, int64_t n_vocab,
                  const std::string& out_path) {
  if (out_path.empty()) {
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t v = 0; v < n_vocab; ++v)
        std::printf(v ? " %.9g" : "%.9g", double(logits[size_t(t * n_vocab + v)]));
      std::printf("\n");
    }
    return;
  }
  static_assert(std::endian::native == std::endian::little, "logits are written little-endian");
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(out_path.c_str(), "wb"), &std::fclose);
  KILN_CHECK(file, "cannot open ", out_path, " for writing");
  const size_t written = std::fwrite(logits.data(), sizeof(float), logits.size(), file.get());
  KILN_CHECK(written == logits.size() && std::fflush(file.get()) == 0, "writing ", out_path,
             " failed after ", written, " of ", logits.size(), " floats");
}

int run_logits(const LogitsOptions& opt) {
  const engine::KvTypes kv_types{engine::parse_kv_type(opt.cache_type_k, "--cache-type-k"),
                                 engine::parse_kv_type(opt.cache_type_v, "--cache-type-v")};
  const std::vector<int32_t> tokens = parse_tokens(opt.tokens);
  const gguf::File file = gguf::File::open(opt.model_path);
  const model::Model model = model::load_model(file);
  const int64_t n_vocab = model.hp.n_vocab, n_tokens = int64_t(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    KILN_CHECK(tokens[i] >= 0 && tokens[i] < n_vocab, "--tokens: token id ", tokens[i],
               " (item ", i, ") is outside the vocabulary [0, ", n_vocab, ") of ",
               opt.model_path);
  const int ctx = opt.ctx > 0 ? opt.ctx : (model.hp.n_ctx_train > 0 ? model.hp.n_ctx_train : 4096);
  KILN_CHECK(n_tokens <= ctx, "--tokens: ", n_tokens, " tokens exceed the context of ", ctx,
             " (", opt.ctx > 0 ? "--ctx" : "the model's context_length", ")");

  BackendOptions bo;
  bo.n_ctx = ctx;
  bo.force_cpu = opt.cpu;
  bo.threads = opt.threads;
  bo.all_logits = true;
  bo.kv_types = kv_types;
  bo.quiet = true;
  if (!opt.jit.empty()) bo.mode = jit::parse_mode(opt.jit);
  auto backend = make_backend(model, bo);
  const std::vector<float> logits = backend->eval(tokens, true, true);
  write_logits(logits, n_tokens, n_vocab, opt.out_path);
  return 0;
}

}  // namespace

Run add_logits(CLI::App& app) {
  auto opt = std::make_shared<LogitsOptions>();
  auto* cmd = app.add_subcommand(
      "logits", "print or write the logits of every position of a token list (float32)");
  cmd->add_option("-m,--model", opt->model_path, "GGUF model file")->required();
  cmd->add_option("--tokens", opt->tokens, "comma-separated token ids, e.g. 1,2,3")->required();
  cmd->add_option("-o,--output", opt->out_path,
                  "write n_tokens x n_vocab raw little-endian float32 here (default: text to "
                  "stdout, one row per line)");
  cmd->add_flag("--cpu", opt->cpu, "use the CPU reference even when a GPU is present");
  cmd->add_option("--jit", opt->jit, "specialized or generic kernels (GPU)");
  cmd->add_option("--threads", opt->threads, "CPU threads (default: $KILN_THREADS or all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--cache-type-k", opt->cache_type_k, "KV cache type of K: f16 or q8_0 (also -ctk)");
  cmd->add_option("--cache-type-v", opt->cache_type_v, "KV cache type of V: f16 or q8_0 (also -ctv)");
  cmd->add_option("--ctx", opt->ctx, "context length (default: the model's context_length)")
      ->check(CLI::NonNegativeNumber);
  return [opt] { return run_logits(*opt); };
}

}  // namespace kiln::apps
