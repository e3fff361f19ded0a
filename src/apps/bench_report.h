#pragma once
// `kiln bench` results and their llama-bench-like renderings (md, csv, json, jsonl).
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::apps {

struct BenchResult {
  std::string model;        // file name
  std::string model_type;   // "llama 8B Q8_0"-like description
  uint64_t model_bytes = 0;
  uint64_t model_params = 0;
  std::string backend;      // "CUDA" / "CPU"
  std::string jit;          // "specialized" / "generic"
  std::string type_k = "f16", type_v = "f16";  // KV cache types
  int n_prompt = 0;         // pp tokens (0 for tg)
  int n_gen = 0;            // tg tokens (0 for pp)
  int n_depth = 0;
  int n_batch = 0, n_ubatch = 0;
  std::vector<double> samples_ns;  // one per repetition

  std::string test_name() const;   // "pp512 @ d8192" / "tg32"
  double tokens() const { return n_prompt + n_gen; }
  double mean_ts() const;
  double stddev_ts() const;        // sample standard deviation (n-1), 0 for one sample
};

// Renders all results. With several jit modes for one (model, cache types, test), md and csv add
// the specialized/generic speedup on the specialized row. md and csv show type_k / type_v columns
// only when some result's cache is not f16 (json always has them, as llama-bench's).
std::string render_md(const std::vector<BenchResult>& results);
std::string render_csv(const std::vector<BenchResult>& results);
std::string render_json(const std::vector<BenchResult>& results, bool lines);

}  // namespace kiln::apps
