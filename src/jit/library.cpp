#include "jit/library.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "jit/cuda_check.h"
#include "jit/device.h"
#include "jit/hash.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kiln::jit {

struct Library::Slot {
  std::mutex mutex;               // held while this key loads: other threads wanting it wait
  std::unique_ptr<Kernel> kernel;
  bool on_disk = false;           // precompile() saw it in (or put it into) the disk cache
};

bool LibraryOptions::strict_from_env() {
  const char* env = std::getenv("KILN_JIT_STRICT");
  return env && *env && std::string(env) != "0";
}

bool LibraryOptions::programmatic_launch_from_env() {
  const char* env = std::getenv("KILN_PDL");
  return !env || std::string(env) != "0";
}

bool waits_for_previous_kernel(const SourceSet& sources, const std::string& file) {
  if (!sources.find(file)) return false;
  for (const std::string& name : sources.closure(file))
    if (sources.find(name)->find("kiln_dev::wait_for_previous_kernel()") != std::string::npos) return true;
  return false;
}

namespace {

}  // namespace

std::string LoadSummary::line() const {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", wall_ms / 1000.0);
  return cat("kernels: ", needed, " needed (", arch, ", ", mode_name(mode), "): ", from_memory, " in memory, ",
             from_disk, " from disk, ", compiled, " compiled in ", seconds, " s (", threads,
             threads == 1 ? " thread)" : " threads)");
}

Library::Library(LibraryOptions options)
    : options_(std::move(options)), sources_(options_.sources ? options_.sources : &SourceSet::builtin()) {
  arch_ = options_.arch;
  if (arch_.empty() && Device::has_device()) arch_ = Device::current().arch();
  if (options_.trace) options_.extra_flags.push_back("-DKILN_TRACE");
  if (!arch_.empty()) flags_ = compile_flags(arch_, options_.extra_flags);
  nvrtc_version_ = nvrtc_version();
  if (!options_.cache_dir.empty()) disk_ = std::make_unique<DiskCache>(options_.cache_dir, options_.warn);
  if (options_.threads <= 0) options_.threads = default_threads();
}

Library::~Library() = default;

const std::string& Library::arch() const {
  if (arch_.empty())
    fail(Device::no_device_reason(), ": give the GPU arch to compile for (e.g. --arch sm_90a)");
  return arch_;
}

std::string Library::identity(const KernelKey& resolved) const {
  std::string flags;
  for (const auto& f : flags_) flags += (flags.empty() ? "" : " ") + f;
  return cat("key=", resolved.str(), "\nfile=", resolved.file, "\narch=", arch(), "\nnvrtc=", nvrtc_version_,
             "\nflags=", flags, "\nsources=", sources_->digest(resolved.file), "\n");
}

std::string Library::cache_path(const KernelKey& resolved) const {
  KILN_CHECK(disk_ != nullptr, "no kernel cache directory (set KILN_CACHE_DIR or HOME)");
  return disk_->path_for(resolved.str(), arch(), hex64(hash64(identity(resolved))));
}

CompiledKernel Library::compile(const KernelKey& key) const {
  arch();  // throws the clear message when there is none
  return compile_kernel(key, *sources_, flags_);
}

Library::Slot& Library::slot_for(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = slots_[name];
  if (!slot) slot = std::make_unique<Slot>();
  return *slot;
}

void Library::count(Origin origin, double compile_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (origin == Origin::memory) ++counters_.from_memory;
  if (origin == Origin::disk) ++counters_.from_disk;
  if (origin == Origin::compiled) ++counters_.compiled;
  counters_.compile_ms += compile_ms;
}

Library::Counters Library::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

CompiledKernel Library::obtain(const KernelKey& resolved, Origin& origin) {
  std::string path, id;
  if (disk_) {
    path = cache_path(resolved);
    id = identity(resolved);
    std::string extra;
    if (auto cubin = disk_->load(path, id, &extra)) {
      CompiledKernel out;
      out.lowered_name = meta_value(extra, "lowered");
      if (!out.lowered_name.empty()) {
        out.cubin = std::move(*cubin);
        origin = Origin::disk;
        return out;
      }
    }
  }
  CompiledKernel out = compile(resolved);
  origin = Origin::compiled;
  if (disk_) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f", out.compile_ms);
    disk_->store(path, cat(id, "lowered=", out.lowered_name, "\ncompile_ms=", ms, "\n"), out.cubin);
  }
  return out;
}

void Library::fill(Slot& slot, const KernelKey& resolved, bool load_into_memory, Origin& origin) {
  const std::string name = resolved.str();
  if (slot.kernel || (!load_into_memory && slot.on_disk)) {
    origin = Origin::memory;
    if (slot.kernel) slot.kernel->require_dynamic_smem(resolved.dynamic_smem_bytes);
    count(origin, 0);
    return;
  }
  if (sealed_ && options_.strict)
    fail(name, ": needed after the kernel set was sealed (strict mode, KILN_JIT_STRICT=1): "
               "add it to the plan's kernel set");
  if (load_into_memory && !Device::has_device()) fail(Device::no_device_reason(), ": cannot load ", name);

  CompiledKernel compiled = obtain(resolved, origin);
  count(origin, origin == Origin::compiled ? compiled.compile_ms : 0.0);
  slot.on_disk = origin == Origin::disk || (disk_ && disk_->writable());
  if (!load_into_memory) return;

  cudaLibrary_t library = nullptr;
  KILN_CUDA_CHECK(cudaLibraryLoadData(&library, compiled.cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0),
                  name, " (", arch(), ")");
  cudaKernel_t function = nullptr;
  const cudaError_t status = cudaLibraryGetKernel(&function, library, compiled.lowered_name.c_str());
  if (status != cudaSuccess) {
    cudaLibraryUnload(library);
    fail(name, ": kernel ", compiled.lowered_name, " not found in its cubin: ", cudaGetErrorString(status));
  }
  if (options_.trace) {
    try {
      trace_attach(library, name);
    } catch (...) {
      cudaLibraryUnload(library);
      throw;
    }
  }
  const bool programmatic = options_.programmatic_launch && Device::current().cc_major >= 9 &&
                            waits_for_previous_kernel(*sources_, resolved.file);
  slot.kernel = std::make_unique<Kernel>(resolved, library, function, programmatic);
}

const Kernel& Library::get(const KernelKey& key) {
  const KernelKey resolved = resolve(key);
  Slot& slot = slot_for(resolved.str());
  std::lock_guard<std::mutex> lock(slot.mutex);
  Origin origin;
  fill(slot, resolved, true, origin);
  return *slot.kernel;
}

LoadSummary Library::run_all(const std::vector<KernelKey>& keys, bool load_into_memory) {
  const auto start = std::chrono::steady_clock::now();
  // Distinct keys after the mode applies (generic mode folds shapes together); a duplicate's
  // shared-memory need widens the kept one's.
  std::vector<KernelKey> unique;
  std::unordered_map<std::string, size_t> index;
  for (const auto& key : keys) {
    KernelKey resolved = resolve(key);
    auto [it, inserted] = index.emplace(resolved.str(), unique.size());
    if (inserted)
      unique.push_back(std::move(resolved));
    else if (resolved.dynamic_smem_bytes > unique[it->second].dynamic_smem_bytes)
      unique[it->second].dynamic_smem_bytes = resolved.dynamic_smem_bytes;
  }

  LoadSummary summary;
  summary.needed = static_cast<int>(unique.size());
  summary.threads = std::max(1, std::min(options_.threads, summary.needed));
  summary.arch = arch();
  summary.mode = options_.mode;

  std::vector<Origin> origins(unique.size(), Origin::memory);
  const double compile_ms_before = counters().compile_ms;
  std::vector<std::exception_ptr> errors(unique.size());
  std::atomic<size_t> next{0};
  // Workers take keys one at a time: compile times differ by 10x between kernels.
  parallel_for(summary.threads, summary.threads, [&](int64_t, int64_t) {
    for (size_t i; (i = next.fetch_add(1)) < unique.size();) {
      try {
        Slot& slot = slot_for(unique[i].str());
        std::lock_guard<std::mutex> lock(slot.mutex);
        fill(slot, unique[i], load_into_memory, origins[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  });

  std::exception_ptr first;
  int failed = 0;
  for (size_t i = 0; i < unique.size(); ++i) {
    if (errors[i]) {
      if (!first) first = errors[i];
      ++failed;
      continue;
    }
    if (origins[i] == Origin::memory) ++summary.from_memory;
    if (origins[i] == Origin::disk) ++summary.from_disk;
    if (origins[i] == Origin::compiled) ++summary.compiled;
  }
  if (first) {
    if (failed == 1) std::rethrow_exception(first);
    try {
      std::rethrow_exception(first);
    } catch (const std::exception& e) {
      fail(e.what(), "\n(and ", failed - 1, " more of the ", unique.size(), " kernels failed)");
    }
  }
  summary.compile_ms = counters().compile_ms - compile_ms_before;
  summary.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

LoadSummary Library::prepare(const std::vector<KernelKey>& keys) { return run_all(keys, true); }
LoadSummary Library::precompile(const std::vector<KernelKey>& keys) { return run_all(keys, false); }

}  // namespace kiln::jit
