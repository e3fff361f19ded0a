#pragma once
// The on-disk kernel cache: one file per compiled kernel under <dir>/kernels/, named
//   rmsnorm<n_embd=4096,fuse_residual=0,out_f16=0,threads=256>.sm_90a.<hash>.cubin
// where <hash> covers everything the compile depended on (see Library). Each file is
//   header (32 bytes): magic "KILNJIT1", u32 format, u32 meta bytes, u64 payload bytes,
//                      u64 checksum of meta + payload
//   meta: "name=value" lines (the identity the entry was keyed by, then the lowered name)
//   payload: the cubin
// Writes go to a temp file renamed into place, so readers and racing writers (threads or
// processes) only ever see whole entries. An entry that fails its checks is removed and
// rebuilt; a directory that cannot be written degrades to compiling in memory, with one warning.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/log.h"

namespace kiln::jit {

// $KILN_CACHE_DIR, else $HOME/.cache/kiln; "" when neither is set.
std::string default_cache_dir();

struct CacheEntryInfo {
  std::string path;
  std::string name;    // the kernel key as printed ("rmsnorm<...>"), from the meta
  std::string arch;    // from the meta
  uint64_t file_bytes = 0;
  bool valid = false;  // header, lengths and checksum check out
  std::string problem; // why not, when !valid
  // From the cubin (jit/cubin_info.h) of a valid entry; -1 when it cannot be read.
  int registers = -1;
  int stack_bytes = -1;
};

class DiskCache {
 public:
  DiskCache(std::string dir, WarnFn warn);

  const std::string& dir() const { return dir_; }
  std::string entries_dir() const { return dir_ + "/kernels"; }
  // File for a key printed as `name`, compiled for `arch`, whose identity hashes to `hash`.
  std::string path_for(const std::string& name, const std::string& arch, const std::string& hash) const;

  // The payload of the entry at `path` if it exists, is intact and its meta starts with
  // `identity`; the rest of its meta goes to *extra_meta. A damaged entry is removed (with a
  // warning); an entry keyed by another identity is left for store() to replace.
  std::optional<std::string> load(const std::string& path, std::string_view identity, std::string* extra_meta = nullptr);

  // Writes an entry atomically. Returns false when it could not; the first failure warns and
  // turns further stores into no-ops (read-only or full disk: kernels stay in memory).
  bool store(const std::string& path, std::string_view meta, std::string_view payload);
  bool writable() const { return writable_.load(); }

  // Every entry file (and its check), for `kiln kernels list|stats`.
  std::vector<CacheEntryInfo> list() const;
  // Removes every entry and leftover temp file; returns how many files went.
  int clear();

 private:
  std::string dir_;
  WarnFn warn_;
  std::atomic<bool> writable_{true};
  std::atomic<bool> dir_made_{false};
};

// Checks an entry's bytes; on success fills meta and payload, else returns why not.
std::optional<std::string> check_entry(std::string_view bytes, std::string* meta, std::string* payload);
// The value of a "name=value" line of an entry's meta; "" when absent.
std::string meta_value(std::string_view meta, std::string_view name);
// Builds an entry's bytes (header + meta + payload).
std::string make_entry(std::string_view meta, std::string_view payload);

}  // namespace kiln::jit
