#pragma once
// The kernel sources NVRTC sees: file name -> text. The built-in set is src/kernels/ as
// embedded at build time (jit/embedded.h); tests build their own sets.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jit {

class SourceSet {
 public:
  struct File {
    std::string name;  // "rmsnorm.cuh": also its include name
    std::string text;
  };

  explicit SourceSet(std::vector<File> files);
  // src/kernels/*.cuh and *.h, embedded into the binary.
  static const SourceSet& builtin();

  const std::vector<File>& files() const { return files_; }
  const std::string* find(std::string_view name) const;  // null when absent
  // `name` and every file of this set it includes ("..." includes, transitively), sorted.
  // Throws kiln::Error when `name` is not in the set.
  const std::vector<std::string>& closure(std::string_view name) const;
  // Hash of the names and texts of closure(name): changes whenever any text a compile of
  // `name` can see changes, and only then.
  const std::string& digest(std::string_view name) const;
  // <...> includes anywhere in closure(name) (e.g. "cuda_fp16.h"): these need the CUDA
  // toolkit's include directory.
  const std::vector<std::string>& system_includes(std::string_view name) const;

 private:
  struct Derived {
    std::vector<std::string> closure, system_includes;
    std::string digest;
  };
  const Derived& derived(std::string_view name) const;

  std::vector<File> files_;
  std::map<std::string, Derived, std::less<>> derived_;
};

// The names in #include "..." (quoted) or #include <...> (system) lines of `text`.
void scan_includes(std::string_view text, std::vector<std::string>& quoted, std::vector<std::string>& system);

}  // namespace kiln::jit
