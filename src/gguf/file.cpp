// gguf::File: opening (read-only private mmap, nothing copied), metadata lookups, Tensor helpers.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gguf/gguf.h"
#include "gguf/layout.h"
#include "gguf/text.h"
#include "util/error.h"

namespace kiln::gguf {

// The file's pages, mapped read-only and private: tensors point straight into them.
struct File::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr) munmap(addr, size);
  }
};

File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::parse(std::span<const uint8_t> bytes, std::string name) {
  Layout layout = parse_layout(bytes, name);
  File file;
  file.path_ = std::move(name);
  file.bytes_ = bytes;
  file.version_ = layout.version;
  file.alignment_ = layout.alignment;
  file.data_offset_ = layout.data_offset;
  file.metadata_ = std::move(layout.metadata);
  file.tensors_ = std::move(layout.tensors);
  return file;
}

File File::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  KILN_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(path, ": cannot stat: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  auto mapping = std::make_unique<Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    void* addr = mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    KILN_CHECK(addr != MAP_FAILED, path, ": cannot map ", mapping->size, " bytes: ", std::strerror(err));
    mapping->addr = addr;
  } else {
    ::close(fd);
  }
  std::span<const uint8_t> bytes(static_cast<const uint8_t*>(mapping->addr), mapping->size);
  File file = parse(bytes, path);
  file.mapping_ = std::move(mapping);
  return file;
}

const Value* File::find(std::string_view key) const {
  for (const KeyValue& kv : metadata_) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

const Value& File::get(std::string_view key) const {
  const Value* v = find(key);
  KILN_CHECK(v, path_, ": missing key ", escaped(key));
  return *v;
}

namespace {
// Value accessors name the key; this adds the file.
template <class F>
auto with_file(const std::string& path, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
}
}  // namespace

uint64_t File::get_u64(std::string_view key) const {
  const Value& v = get(key);
  return with_file(path_, [&] { return v.as_u64(key); });
}

double File::get_f64(std::string_view key) const {
  const Value& v = get(key);
  return with_file(path_, [&] { return v.as_f64(key); });
}

std::string File::get_str(std::string_view key) const {
  const Value& v = get(key);
  return with_file(path_, [&] { return v.as_str(key); });
}

uint64_t File::get_u64_or(std::string_view key, uint64_t fallback) const {
  const Value* v = find(key);
  return v ? with_file(path_, [&] { return v->as_u64(key); }) : fallback;
}

double File::get_f64_or(std::string_view key, double fallback) const {
  const Value* v = find(key);
  return v ? with_file(path_, [&] { return v->as_f64(key); }) : fallback;
}

std::string File::get_str_or(std::string_view key, std::string fallback) const {
  const Value* v = find(key);
  return v ? with_file(path_, [&] { return v->as_str(key); }) : fallback;
}

const Tensor* File::find_tensor(std::string_view name) const {
  for (const Tensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Tensor::rows() const { return shape.empty() ? 1 : elements() / shape[0]; }

std::string Tensor::shape_string() const {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(shape[i]);
  }
  return out;
}

}  // namespace kiln::gguf
