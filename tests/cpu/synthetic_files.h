#pragma once
// Test helper: writes a preset's synthetic GGUF (model::write_synthetic) into a per-process temp
// folder, once per (preset, seed), removed when the process exits.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

#include "model/synth.h"

namespace kiln::cpu::testing {

class SyntheticFiles {
 public:
  static std::string path(const std::string& preset, uint64_t seed = 1) {
    static SyntheticFiles files;
    return files.get(preset, seed);
  }

 private:
  SyntheticFiles()
      : dir_(std::filesystem::temp_directory_path() /
             ("kiln-cpu-test-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  ~SyntheticFiles() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string get(const std::string& preset, uint64_t seed) {
    const std::string key = preset + "-seed" + std::to_string(seed);
    auto it = written_.find(key);
    if (it != written_.end()) return it->second;
    const std::string file = (dir_ / (key + ".gguf")).string();
    model::SynthOptions options;
    options.seed = seed;
    options.threads = 2;
    model::write_synthetic(model::find_preset(preset), options, file);
    return written_[key] = file;
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> written_;
};

// FNV-1a 64 over the file's 8-byte little-endian words, then its tail bytes: identifies the
// exact bytes a golden file was computed from.
inline uint64_t file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t hash = 0xcbf29ce484222325ull;
  constexpr uint64_t prime = 0x100000001b3ull;
  char buf[8];
  while (in.read(buf, 8)) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | uint8_t(buf[i]);
    hash = (hash ^ word) * prime;
  }
  for (std::streamsize i = 0; i < in.gcount(); ++i) hash = (hash ^ uint8_t(buf[i])) * prime;
  return hash;
}

}  // namespace kiln::cpu::testing
