#include "apps/bench_report.h"
#include "util/format.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kiln::apps {

namespace {

std::vector<double> rates(const BenchResult& r) {
  std::vector<double> ts;
  for (double ns : r.samples_ns) ts.push_back(r.tokens() * 1e9 / ns);
  return ts;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string human_params(uint64_t n) {
  return n >= 1000000000ull ? fixed(n / 1e9, 2) + " B" : fixed(n / 1e6, 2) + " M";
}

// Speedup of the specialized row over the generic row of the same model and test, or "".
std::string speedup(const std::vector<BenchResult>& all, const BenchResult& r) {
  if (r.jit != "specialized") return "";
  for (const auto& other : all)
    if (other.jit == "generic" && other.model == r.model && other.test_name() == r.test_name() &&
        other.backend == r.backend && other.type_k == r.type_k && other.type_v == r.type_v &&
        other.mean_ts() > 0)
      return fixed(r.mean_ts() / other.mean_ts(), 2) + "x";
  return "";
}

bool any_cache_type(const std::vector<BenchResult>& all) {
  for (const auto& r : all)
    if (r.type_k != "f16" || r.type_v != "f16") return true;
  return false;
}

bool any_speedup(const std::vector<BenchResult>& all) {
  for (const auto& r : all)
    if (!speedup(all, r).empty()) return true;
  return false;
}

}  // namespace

std::string BenchResult::test_name() const {
  std::string name = n_prompt > 0 ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
  if (n_depth > 0) name += " @ d" + std::to_string(n_depth);
  return name;
}

double BenchResult::mean_ts() const {
  auto ts = rates(*this);
  if (ts.empty()) return 0;
  double sum = 0;
  for (double v : ts) sum += v;
  return sum / ts.size();
}

double BenchResult::stddev_ts() const {
  auto ts = rates(*this);
  if (ts.size() < 2) return 0;
  double mean = mean_ts(), acc = 0;
  for (double v : ts) acc += (v - mean) * (v - mean);
  return std::sqrt(acc / (ts.size() - 1));
}

std::string render_md(const std::vector<BenchResult>& results) {
  bool with_speedup = any_speedup(results), with_types = any_cache_type(results);
  std::ostringstream out;
  out << "| model | size | params | backend | jit |" << (with_types ? " type_k | type_v |" : "") << " test | t/s |"
      << (with_speedup ? " speedup |" : "") << "\n| --- | ---: | ---: | --- | --- |"
      << (with_types ? " --- | --- |" : "") << " ---: | ---: |" << (with_speedup ? " ---: |" : "") << "\n";
  for (const auto& r : results) {
    out << "| " << r.model_type << " | " << gib_text(r.model_bytes) << " | "
        << human_params(r.model_params) << " | " << r.backend << " | " << r.jit << " | ";
    if (with_types) out << r.type_k << " | " << r.type_v << " | ";
    out << r.test_name() << " | " << fixed(r.mean_ts(), 2) << " ± " << fixed(r.stddev_ts(), 2) << " |";
    if (with_speedup) out << " " << speedup(results, r) << " |";
    out << "\n";
  }
  return out.str();
}

std::string render_csv(const std::vector<BenchResult>& results) {
  const bool with_types = any_cache_type(results);
  std::ostringstream out;
  out << "model_filename,model_type,model_size,model_n_params,backend,jit," << (with_types ? "type_k,type_v," : "")
      << "n_batch,n_ubatch,n_prompt,n_gen,n_depth,avg_ts,stddev_ts,speedup\n";
  for (const auto& r : results)
    out << '"' << r.model << "\",\"" << r.model_type << "\"," << r.model_bytes << ','
        << r.model_params << ',' << r.backend << ',' << r.jit << ','
        << (with_types ? r.type_k + "," + r.type_v + "," : "") << r.n_batch << ','
        << r.n_ubatch << ',' << r.n_prompt << ',' << r.n_gen << ',' << r.n_depth << ','
        << fixed(r.mean_ts(), 6) << ',' << fixed(r.stddev_ts(), 6) << ',' << speedup(results, r)
        << "\n";
  return out.str();
}

std::string render_json(const std::vector<BenchResult>& results, bool lines) {
  nlohmann::json all = nlohmann::json::array();
  std::ostringstream out;
  for (const auto& r : results) {
    nlohmann::json j = {
        {"model_filename", r.model}, {"model_type", r.model_type}, {"model_size", r.model_bytes},
        {"model_n_params", r.model_params}, {"backend", r.backend}, {"jit", r.jit},
        {"type_k", r.type_k}, {"type_v", r.type_v},
        {"n_batch", r.n_batch}, {"n_ubatch", r.n_ubatch}, {"n_prompt", r.n_prompt},
        {"n_gen", r.n_gen}, {"n_depth", r.n_depth}, {"flash_attn", true},
        {"samples_ns", r.samples_ns}, {"samples_ts", rates(r)},
        {"avg_ts", r.mean_ts()}, {"stddev_ts", r.stddev_ts()}};
    if (lines) out << j.dump() << "\n";
    else all.push_back(j);
  }
  return lines ? out.str() : all.dump(2) + "\n";
}

}  // namespace kiln::apps
