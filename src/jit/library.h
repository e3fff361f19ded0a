#pragma once
// jit::Library turns kernel keys into launchable kernels:
//   memory cache (key -> Kernel) -> disk cache ($KILN_CACHE_DIR) -> NVRTC for the device's arch.
// A plan hands its whole kernel set to prepare() before the first token (compiled in parallel,
// summary printed by the caller as one line), then seal()s; the engine keeps the `const
// Kernel&` it got and never looks a key up on the hot path. With KILN_JIT_STRICT=1 (or
// LibraryOptions::strict) a kernel needed after seal() is an error instead of a hitch.
// Without a GPU, precompile()/compile() still work for an explicit arch; get()/prepare()
// throw kiln::Error "no CUDA device ...".
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/compiler.h"
#include "jit/disk_cache.h"
#include "jit/kernel.h"
#include "jit/key.h"
#include "jit/log.h"
#include "jit/sources.h"
#include "jit/trace.h"

namespace kiln::jit {

struct LibraryOptions {
  std::string arch;                       // "" = the current device's (Device::current().arch())
  Mode mode = mode_from_env();            // $KILN_JIT: specialized (default) or generic
  std::string cache_dir = default_cache_dir();  // "" = no disk cache
  bool strict = strict_from_env();        // $KILN_JIT_STRICT=1: no kernel may load after seal()
  // Launch the kernels whose source waits for the previous kernel programmatically (sm_90+,
  // kernels/common.cuh); $KILN_PDL=0 turns it off (to compare, or to rule it out).
  bool programmatic_launch = programmatic_launch_from_env();
  // Kernels built with -DKILN_TRACE, recording a timeline of their CTAs (jit/trace.h);
  // $KILN_TRACE=1. A separate cache key (the flag is part of it).
  bool trace = trace_from_env();
  int threads = 0;                        // prepare()'s compile threads; 0 = default_threads()
  const SourceSet* sources = nullptr;     // null = the embedded src/kernels (tests pass their own)
  std::vector<std::string> extra_flags;   // appended to NVRTC's flags (part of every cache key)
  WarnFn warn = warn_to_stderr;

  static bool strict_from_env();
  static bool programmatic_launch_from_env();
};

// Where the kernels of one prepare()/precompile() came from; line() is what the caller prints.
struct LoadSummary {
  int needed = 0;  // distinct kernels after the mode was applied
  int from_memory = 0, from_disk = 0, compiled = 0;
  double wall_ms = 0;
  double compile_ms = 0;  // NVRTC time summed over threads
  int threads = 1;
  std::string arch;
  Mode mode = Mode::specialized;

  // "kernels: 76 needed (sm_90a, specialized): 0 in memory, 60 from disk, 16 compiled in 2.31 s (16 threads)"
  std::string line() const;
};

class Library {
 public:
  explicit Library(LibraryOptions options = {});
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // The key as this library builds it (shape constants zeroed in generic mode).
  KernelKey resolve(const KernelKey& key) const { return key.for_mode(options_.mode); }

  // The loaded kernel for `key` (after resolve()). The reference stays valid for the Library's
  // lifetime. Thread-safe; compiles on a miss unless sealed and strict.
  const Kernel& get(const KernelKey& key);

  // Loads every key (in parallel, options.threads), then returns where they came from. Throws
  // the first failure (naming the key) after all finished, with a count of the others.
  LoadSummary prepare(const std::vector<KernelKey>& keys);

  // Makes sure every key's cubin is in the disk cache, compiling what is missing (in parallel);
  // needs no device when the arch was given. Without a disk cache it only compiles.
  LoadSummary precompile(const std::vector<KernelKey>& keys);

  // Compiles one key with this library's arch and flags, bypassing every cache.
  CompiledKernel compile(const KernelKey& key) const;

  // After this, a kernel not yet in memory is an error when strict.
  void seal() { sealed_ = true; }
  bool sealed() const { return sealed_; }

  const std::string& arch() const;  // throws kiln::Error when none was given and there is no device
  Mode mode() const { return options_.mode; }
  bool strict() const { return options_.strict; }
  const SourceSet& sources() const { return *sources_; }
  DiskCache* disk_cache() { return disk_.get(); }

  // Everything a compile depends on, as "name=value" lines: key, arch, NVRTC version, flags,
  // sources digest. Its hash names the cache file; an entry's meta starts with it.
  std::string identity(const KernelKey& resolved) const;
  std::string cache_path(const KernelKey& resolved) const;

  // Totals since construction.
  struct Counters {
    int from_memory = 0, from_disk = 0, compiled = 0;
    double compile_ms = 0;
  };
  Counters counters() const;

 private:
  enum class Origin { memory, disk, compiled };
  struct Slot;
  Slot& slot_for(const std::string& name);
  // Cubin and lowered name for a resolved key: disk, else NVRTC (+ store).
  CompiledKernel obtain(const KernelKey& resolved, Origin& origin);
  // Fills slot.kernel (called with slot.mutex held); origin says from where.
  void fill(Slot& slot, const KernelKey& resolved, bool load_into_memory, Origin& origin);
  void count(Origin origin, double compile_ms);
  LoadSummary run_all(const std::vector<KernelKey>& keys, bool load_into_memory);

  LibraryOptions options_;
  const SourceSet* sources_;
  std::string arch_;                // "" when not given and no device
  std::vector<std::string> flags_;  // NVRTC flags for arch_
  std::string nvrtc_version_;
  std::unique_ptr<DiskCache> disk_;
  mutable std::mutex mutex_;        // guards slots_ and counters_
  std::unordered_map<std::string, std::unique_ptr<Slot>> slots_;
  Counters counters_;
  std::atomic<bool> sealed_{false};
};

// Whether the kernel of `file` waits for its predecessor itself (kernels/common.cuh), so that it
// may be launched before that predecessor ends (programmatic launch): the call is in the file or
// in one it includes (attn_decode_write.cuh runs attn_decode.cuh's body). So a kernel file that
// includes another kernel's file must wait too; every kernel does today (a CI test says so).
bool waits_for_previous_kernel(const SourceSet& sources, const std::string& file);

}  // namespace kiln::jit
