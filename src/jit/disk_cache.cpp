#include "jit/disk_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "jit/cubin_info.h"
#include "jit/hash.h"
#include "util/error.h"

namespace kiln::jit {

namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'J', 'I', 'T', '1'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderBytes = 32;
constexpr std::string_view kSuffix = ".cubin";

template <class T>
T read_le(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

template <class T>
void append_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t checksum(std::string_view meta, std::string_view payload) { return Hasher().add(meta).add(payload).value(); }

// Reads a whole file; nullopt (errno set) when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string data;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      return std::nullopt;
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool make_dirs(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    const std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return false;
  }
  return true;
}

}  // namespace

std::string meta_value(std::string_view meta, std::string_view name) {
  size_t pos = 0;
  while (pos < meta.size()) {
    size_t end = meta.find('\n', pos);
    if (end == std::string_view::npos) end = meta.size();
    std::string_view line = meta.substr(pos, end - pos);
    if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == '=')
      return std::string(line.substr(name.size() + 1));
    pos = end + 1;
  }
  return "";
}

std::string default_cache_dir() {
  if (const char* dir = std::getenv("KILN_CACHE_DIR"); dir && *dir) return dir;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/kiln";
  return "";
}

std::string make_entry(std::string_view meta, std::string_view payload) {
  std::string out(kMagic, sizeof kMagic);
  append_le<uint32_t>(out, kFormat);
  append_le<uint32_t>(out, static_cast<uint32_t>(meta.size()));
  append_le<uint64_t>(out, payload.size());
  append_le<uint64_t>(out, checksum(meta, payload));
  out.append(meta);
  out.append(payload);
  return out;
}

std::optional<std::string> check_entry(std::string_view bytes, std::string* meta, std::string* payload) {
  if (bytes.size() < kHeaderBytes) return cat("truncated: ", bytes.size(), " bytes, shorter than the header");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::string("not a kiln kernel cache entry (bad magic)");
  const auto format = read_le<uint32_t>(bytes.data() + 8);
  if (format != kFormat) return cat("format ", format, ", expected ", kFormat);
  const uint64_t meta_bytes = read_le<uint32_t>(bytes.data() + 12);
  const uint64_t payload_bytes = read_le<uint64_t>(bytes.data() + 16);
  const uint64_t sum = read_le<uint64_t>(bytes.data() + 24);
  if (payload_bytes > bytes.size() || kHeaderBytes + meta_bytes + payload_bytes != bytes.size())
    return cat("length mismatch: header says ", kHeaderBytes + meta_bytes + payload_bytes, " bytes, file has ", bytes.size());
  const std::string_view m = bytes.substr(kHeaderBytes, meta_bytes);
  const std::string_view p = bytes.substr(kHeaderBytes + meta_bytes);
  if (checksum(m, p) != sum) return std::string("checksum mismatch");
  if (meta) *meta = m;
  if (payload) *payload = p;
  return std::nullopt;
}

DiskCache::DiskCache(std::string dir, WarnFn warn) : dir_(std::move(dir)), warn_(std::move(warn)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  KILN_CHECK(!dir_.empty(), "kernel cache: empty directory name");
}

std::string DiskCache::path_for(const std::string& name, const std::string& arch, const std::string& hash) const {
  // The printed key names the file; characters a shell or file system may mind become '_'.
  std::string stem;
  for (char c : name.substr(0, 160))
    stem += (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_<>=,.-", c)) ? c : '_';
  return entries_dir() + "/" + stem + "." + arch + "." + hash + std::string(kSuffix);
}

std::optional<std::string> DiskCache::load(const std::string& path, std::string_view identity, std::string* extra_meta) {
  auto bytes = read_file(path);
  if (!bytes) return std::nullopt;  // absent (or unreadable: treated as absent)
  std::string meta, payload;
  if (auto problem = check_entry(*bytes, &meta, &payload)) {
    const bool removed = ::unlink(path.c_str()) == 0 || errno == ENOENT;
    if (warn_)
      warn_(cat("kernel cache entry ", path, " is damaged (", *problem, "): ",
                removed ? "removed, rebuilding it" : "could not remove it, compiling in memory"));
    return std::nullopt;
  }
  if (meta.compare(0, identity.size(), identity) != 0) return std::nullopt;  // hash collision or stale
  if (extra_meta) *extra_meta = meta.substr(identity.size());
  return payload;
}

bool DiskCache::store(const std::string& path, std::string_view meta, std::string_view payload) {
  if (!writable_.load()) return false;
  auto give_up = [&](const char* what, int err) {
    if (writable_.exchange(false) && warn_)
      warn_(cat("kernel cache ", dir_, " is not writable (", what, ": ", std::strerror(err),
                "): compiled kernels are kept in memory only"));
    return false;
  };
  if (!dir_made_.load()) {
    if (!make_dirs(entries_dir())) return give_up("mkdir", errno);
    dir_made_ = true;
  }
  static std::atomic<uint64_t> counter{0};
  const std::string temp = cat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return give_up("create", errno);
  const std::string entry = make_entry(meta, payload);
  if (!write_all(fd, entry)) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return give_up("write", err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return give_up("close", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return give_up("rename", err);
  }
  return true;
}

std::vector<CacheEntryInfo> DiskCache::list() const {
  std::vector<CacheEntryInfo> out;
  DIR* d = ::opendir(entries_dir().c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string file = e->d_name;
    if (file.size() <= kSuffix.size() || file.compare(file.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
      continue;
    CacheEntryInfo info;
    info.path = entries_dir() + "/" + file;
    auto bytes = read_file(info.path);
    if (!bytes) continue;
    info.file_bytes = bytes->size();
    std::string meta, payload;
    if (auto problem = check_entry(*bytes, &meta, &payload)) {
      info.problem = *problem;
    } else {
      info.valid = true;
      info.name = meta_value(meta, "key");
      info.arch = meta_value(meta, "arch");
      try {
        const CubinInfo cubin = cubin_info(payload);
        info.registers = cubin.registers;
        info.stack_bytes = cubin.stack_bytes;
      } catch (const Error&) {
        // An intact entry whose payload this reader does not understand: listed without them.
      }
    }
    out.push_back(std::move(info));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

int DiskCache::clear() {
  int removed = 0;
  DIR* d = ::opendir(entries_dir().c_str());
  if (!d) return 0;
  std::vector<std::string> doomed;
  while (const dirent* e = ::readdir(d)) {
    const std::string file = e->d_name;
    const bool entry = file.size() > kSuffix.size() && file.compare(file.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
    if (entry || file.find(std::string(kSuffix) + ".tmp.") != std::string::npos) doomed.push_back(entries_dir() + "/" + file);
  }
  ::closedir(d);
  for (const auto& path : doomed) {
    KILN_CHECK(::unlink(path.c_str()) == 0 || errno == ENOENT, "kernel cache: cannot remove ", path, ": ",
               std::strerror(errno));
    ++removed;
  }
  return removed;
}

}  // namespace kiln::jit
