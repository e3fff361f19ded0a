#include "jit/sources.h"

#include <algorithm>
#include <set>

#include "jit/embedded.h"
#include "jit/hash.h"
#include "util/error.h"

namespace kiln::jit {

void scan_includes(std::string_view text, std::vector<std::string>& quoted, std::vector<std::string>& system) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos || line[i] != '#') continue;
    i = line.find_first_not_of(" \t", i + 1);
    if (i == std::string_view::npos || line.substr(i, 7) != "include") continue;
    i = line.find_first_not_of(" \t", i + 7);
    if (i == std::string_view::npos) continue;
    const char close = line[i] == '"' ? '"' : line[i] == '<' ? '>' : 0;
    if (!close) continue;
    const size_t stop = line.find(close, i + 1);
    if (stop == std::string_view::npos) continue;
    (close == '"' ? quoted : system).emplace_back(line.substr(i + 1, stop - i - 1));
  }
}

SourceSet::SourceSet(std::vector<File> files) : files_(std::move(files)) {
  std::sort(files_.begin(), files_.end(), [](const File& a, const File& b) { return a.name < b.name; });
  for (size_t i = 1; i < files_.size(); ++i)
    KILN_CHECK(files_[i].name != files_[i - 1].name, "kernel sources: '", files_[i].name, "' given twice");
  // Everything derived is computed here, once, so lookups later are read-only (thread-safe).
  for (const auto& file : files_) {
    Derived d;
    std::set<std::string> seen{file.name}, system;
    std::vector<std::string> todo{file.name};
    while (!todo.empty()) {
      const std::string current = todo.back();
      todo.pop_back();
      std::vector<std::string> quoted, angled;
      scan_includes(*find(current), quoted, angled);
      system.insert(angled.begin(), angled.end());
      for (auto& q : quoted)
        if (find(q) && seen.insert(q).second) todo.push_back(q);
    }
    d.closure.assign(seen.begin(), seen.end());
    d.system_includes.assign(system.begin(), system.end());
    Hasher h;
    for (const auto& name : d.closure) {
      const std::string& text = *find(name);
      h.add(name).add("\n").add(std::to_string(text.size())).add("\n").add(text);
    }
    d.digest = h.hex();
    derived_.emplace(file.name, std::move(d));
  }
}

const SourceSet& SourceSet::builtin() {
  static const SourceSet set = [] {
    std::vector<File> files;
    for (const auto& src : embedded_sources()) files.push_back({std::string(src.name), std::string(src.text)});
    return SourceSet(std::move(files));
  }();
  return set;
}

const std::string* SourceSet::find(std::string_view name) const {
  auto it = std::lower_bound(files_.begin(), files_.end(), name,
                             [](const File& f, std::string_view n) { return f.name < n; });
  return it != files_.end() && it->name == name ? &it->text : nullptr;
}

const SourceSet::Derived& SourceSet::derived(std::string_view name) const {
  auto it = derived_.find(name);
  if (it == derived_.end()) {
    std::string known;
    for (const auto& f : files_) known += (known.empty() ? "" : ", ") + f.name;
    fail("kernel source '", name, "' is not among the kernel sources (", known, ")");
  }
  return it->second;
}

const std::vector<std::string>& SourceSet::closure(std::string_view name) const { return derived(name).closure; }
const std::string& SourceSet::digest(std::string_view name) const { return derived(name).digest; }
const std::vector<std::string>& SourceSet::system_includes(std::string_view name) const {
  return derived(name).system_includes;
}

}  // namespace kiln::jit
