// gguf::Writer: lays out a GGUF v3 file (metadata, tensor infos, zero padding to the alignment,
// tensors each starting at a multiple of it, as ggml lays them out) and streams tensor data into
// a temp file from several threads with pwrite at precomputed offsets, then renames it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "gguf/encode.h"
#include "gguf/format.h"
#include "gguf/text.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kiln::gguf {
namespace {

struct WriterLimits {
  // FillRange tensors are produced in chunks of about this size (whole blocks).
  static constexpr uint64_t chunk_bytes = uint64_t{64} << 20;
  // Fill buffers in flight at once; a single Fill tensor larger than this runs alone.
  static constexpr uint64_t buffer_budget_bytes = uint64_t{1} << 30;
  // ggml keeps tensor names in a 64-byte array with a NUL: longer names do not load there.
  static constexpr size_t max_tensor_name_bytes = 63;
};

uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) & ~(alignment - 1); }

// Fill buffers, reused across work items (no page faults per chunk), bounded in total bytes:
// buffers handed out plus idle ones never exceed the limit, except that a single request larger
// than the limit is served when nothing else is handed out.
class BufferPool {
 public:
  struct Buffer {
    std::unique_ptr<uint8_t[]> data;
    uint64_t capacity = 0;
  };

  BufferPool(uint64_t limit, uint64_t keep_max) : limit_(limit), keep_max_(keep_max) {}

  Buffer acquire(uint64_t bytes) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      for (size_t i = 0; i < idle_.size(); ++i) {
        if (idle_[i].capacity >= bytes) {
          Buffer b = std::move(idle_[i]);
          idle_.erase(idle_.begin() + static_cast<ptrdiff_t>(i));
          idle_bytes_ -= b.capacity;
          in_use_ += b.capacity;
          return b;
        }
      }
      while (!idle_.empty() && in_use_ + idle_bytes_ + bytes > limit_) {
        idle_bytes_ -= idle_.back().capacity;
        idle_.pop_back();
      }
      if (in_use_ + idle_bytes_ + bytes <= limit_ || in_use_ == 0) {
        in_use_ += bytes;
        lock.unlock();
        return Buffer{std::unique_ptr<uint8_t[]>(new uint8_t[bytes]), bytes};
      }
      released_.wait(lock);
    }
  }

  void release(Buffer buffer) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      in_use_ -= buffer.capacity;
      if (buffer.capacity <= keep_max_) {
        idle_bytes_ += buffer.capacity;
        idle_.push_back(std::move(buffer));
      }
    }
    released_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<Buffer> idle_;
  uint64_t in_use_ = 0, idle_bytes_ = 0;
  const uint64_t limit_, keep_max_;
};

// The output file while it is written: a temp file next to the target, removed on failure.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : target_(target) {
    static std::atomic<uint64_t> counter{0};
    path_ = cat(target, ".tmp.", getpid(), ".", counter++);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    KILN_CHECK(fd_ >= 0, path_, ": cannot create: ", std::strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  // Sizes the file up front: reserves the disk space (so a full disk fails here, not midway)
  // and makes every byte not written later - the padding - read as zero.
  void reserve(uint64_t bytes) {
    if (bytes == 0) return;
    if (fallocate(fd_, 0, 0, static_cast<off_t>(bytes)) != 0) {
      KILN_CHECK(errno != ENOSPC, target_, ": not enough disk space for ", bytes, " bytes");
    }
    KILN_CHECK(ftruncate(fd_, static_cast<off_t>(bytes)) == 0, path_, ": cannot resize to ",
               bytes, " bytes: ", std::strerror(errno));
  }

  // Thread-safe: pwrite at an absolute offset.
  void write_at(const uint8_t* data, uint64_t bytes, uint64_t offset) const {
    while (bytes > 0) {
      ssize_t n = pwrite(fd_, data, bytes, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      KILN_CHECK(n > 0, path_, ": write of ", bytes, " bytes at byte ", offset,
                 " failed: ", n < 0 ? std::strerror(errno) : "no progress");
      data += n;
      bytes -= static_cast<uint64_t>(n);
      offset += static_cast<uint64_t>(n);
    }
  }

  // Flushes to disk and renames over the target.
  void commit() {
    KILN_CHECK(fsync(fd_) == 0, path_, ": fsync failed: ", std::strerror(errno));
    int fd = fd_;
    fd_ = -1;
    KILN_CHECK(::close(fd) == 0, path_, ": close failed: ", std::strerror(errno));
    KILN_CHECK(::rename(path_.c_str(), target_.c_str()) == 0, "cannot rename ", path_, " to ",
               target_, ": ", std::strerror(errno));
    committed_ = true;
  }

 private:
  std::string target_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// One unit of tensor data for a worker thread: a whole Fill tensor or a FillRange chunk.
struct WorkItem {
  size_t tensor;
  uint64_t offset_in_tensor;
  uint64_t bytes;
  uint64_t file_offset;
};

}  // namespace

void Writer::set(std::string key, Value value) {
  check_writable(key, value);
  if (key == format::kAlignmentKey) {
    KILN_CHECK(value.is_integer(), "key ", key, ": must be an integer, found ",
               value_type_name(value.type));
    const auto* negative = std::get_if<int64_t>(&value.data);
    uint64_t alignment = negative && *negative < 0 ? 0 : value.as_u64(key);
    KILN_CHECK(format::is_power_of_two(alignment), "key ", key, ": ", alignment,
               " is not a nonzero power of two");
    alignment_ = alignment;
  }
  for (KeyValue& kv : metadata_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  metadata_.push_back(KeyValue{std::move(key), std::move(value)});
}

void Writer::set_alignment(uint64_t alignment) {
  KILN_CHECK(format::is_power_of_two(alignment) && alignment <= UINT32_MAX, "alignment ", alignment,
             " must be a power of two below 2^32");
  set(std::string(format::kAlignmentKey), Value::u32(static_cast<uint32_t>(alignment)));
}

void Writer::add_tensor(std::string name, Type type, std::vector<int64_t> shape, Fill fill) {
  KILN_CHECK(fill, "tensor ", escaped(name), ": no fill callback");
  tensors_.push_back(PendingTensor{name, type, shape, 0, std::move(fill), {}});
  try {
    PendingTensor& t = tensors_.back();
    TypeInfo info = type_info(type);
    KILN_CHECK(!name.empty() && name.size() <= WriterLimits::max_tensor_name_bytes, "tensor ",
               escaped(name), ": name must be 1 to ", WriterLimits::max_tensor_name_bytes, " bytes");
    for (size_t i = 0; i + 1 < tensors_.size(); ++i) {
      KILN_CHECK(tensors_[i].name != name, "tensor ", escaped(name), " added twice");
    }
    KILN_CHECK(info.block_elems > 0, "tensor ", escaped(name), ": unknown type id ",
               static_cast<uint32_t>(type));
    KILN_CHECK(!shape.empty() && shape.size() <= static_cast<size_t>(format::ReaderLimits::max_dims),
               "tensor ", escaped(name), ": ", shape.size(), " dims (must be 1 to ",
               format::ReaderLimits::max_dims, ")");
    int64_t elements = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      KILN_CHECK(shape[d] > 0, "tensor ", escaped(name), ": dim ", d, " is ", shape[d],
                 " (dims must be positive)");
      KILN_CHECK(!__builtin_mul_overflow(elements, shape[d], &elements), "tensor ", escaped(name),
                 ": element count overflows int64");
    }
    KILN_CHECK(shape[0] % info.block_elems == 0, "tensor ", escaped(name), ": row length ",
               shape[0], " is not a multiple of ", info.name, "'s block size ", info.block_elems);
    t.bytes = bytes_for(type, elements);
  } catch (...) {
    tensors_.pop_back();
    throw;
  }
}

void Writer::add_tensor(std::string name, Type type, std::vector<int64_t> shape,
                        std::span<const uint8_t> data) {
  auto copy = std::make_shared<std::vector<uint8_t>>(data.begin(), data.end());
  std::string label = name;
  add_tensor(std::move(name), type, std::move(shape), [copy, label](uint8_t* dst, uint64_t bytes) {
    KILN_CHECK(bytes == copy->size(), "tensor ", escaped(label), ": ", copy->size(),
               " bytes of data given, its type and shape take ", bytes);
    std::memcpy(dst, copy->data(), bytes);
  });
  // Catch a size mismatch now rather than during write().
  const PendingTensor& t = tensors_.back();
  if (t.bytes != copy->size()) {
    uint64_t expected = t.bytes;
    tensors_.pop_back();
    fail("tensor ", escaped(label), ": ", copy->size(), " bytes of data given, its type and shape take ",
         expected);
  }
}

void Writer::add_tensor_chunked(std::string name, Type type, std::vector<int64_t> shape,
                                FillRange fill) {
  KILN_CHECK(fill, "tensor ", escaped(name), ": no fill callback");
  add_tensor(std::move(name), type, std::move(shape), [](uint8_t*, uint64_t) {});
  tensors_.back().fill = nullptr;
  tensors_.back().fill_range = std::move(fill);
}

namespace {

// Header, metadata and tensor infos, zero-padded to the alignment (the data section starts
// right after). Fills `offsets` with each tensor's offset in the data section.
std::string encode_head(const std::vector<KeyValue>& metadata, uint64_t alignment,
                        const std::vector<std::string>& names, const std::vector<Type>& types,
                        const std::vector<std::vector<int64_t>>& shapes,
                        const std::vector<uint64_t>& sizes, std::vector<uint64_t>& offsets) {
  std::string out;
  encode_u32(out, format::kMagic);
  encode_u32(out, format::kWrittenVersion);
  encode_u64(out, names.size());
  encode_u64(out, metadata.size());
  for (const KeyValue& kv : metadata) {
    encode_string(out, kv.key);
    encode_u32(out, static_cast<uint32_t>(kv.value.type));
    encode_value(out, kv.value);
  }
  offsets.clear();
  uint64_t offset = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    encode_string(out, names[i]);
    encode_u32(out, static_cast<uint32_t>(shapes[i].size()));
    for (int64_t dim : shapes[i]) encode_u64(out, static_cast<uint64_t>(dim));
    encode_u32(out, static_cast<uint32_t>(types[i]));
    encode_u64(out, offset);
    offsets.push_back(offset);
    offset = align_up(offset + sizes[i], alignment);
  }
  out.resize(align_up(out.size(), alignment), '\0');
  return out;
}

}  // namespace

uint64_t Writer::total_bytes() const {
  std::vector<std::string> names;
  std::vector<Type> types;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<uint64_t> sizes, offsets;
  uint64_t data_bytes = 0;
  for (const PendingTensor& t : tensors_) {
    names.push_back(t.name);
    types.push_back(t.type);
    shapes.push_back(t.shape);
    sizes.push_back(t.bytes);
    data_bytes += align_up(t.bytes, alignment_);
  }
  return encode_head(metadata_, alignment_, names, types, shapes, sizes, offsets).size() + data_bytes;
}

void Writer::write(const std::string& path, int threads,
                   const std::function<void(uint64_t done, uint64_t total)>& progress) const {
  std::vector<std::string> names;
  std::vector<Type> types;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<uint64_t> sizes, offsets;
  for (const PendingTensor& t : tensors_) {
    names.push_back(t.name);
    types.push_back(t.type);
    shapes.push_back(t.shape);
    sizes.push_back(t.bytes);
  }
  std::string head = encode_head(metadata_, alignment_, names, types, shapes, sizes, offsets);
  uint64_t total = head.size();
  for (const PendingTensor& t : tensors_) total += align_up(t.bytes, alignment_);

  std::vector<WorkItem> items;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& t = tensors_[i];
    uint64_t file_offset = head.size() + offsets[i];
    if (t.fill) {
      items.push_back(WorkItem{i, 0, t.bytes, file_offset});
      continue;
    }
    uint64_t block_bytes = static_cast<uint64_t>(type_info(t.type).block_bytes);
    uint64_t chunk = std::max(block_bytes, WriterLimits::chunk_bytes / block_bytes * block_bytes);
    for (uint64_t at = 0; at < t.bytes; at += chunk) {
      items.push_back(WorkItem{i, at, std::min(chunk, t.bytes - at), file_offset + at});
    }
  }

  TempFile file(path);
  file.reserve(total);
  file.write_at(reinterpret_cast<const uint8_t*>(head.data()), head.size(), 0);

  BufferPool buffers(WriterLimits::buffer_budget_bytes, WriterLimits::chunk_bytes);
  std::atomic<size_t> next_item{0};
  std::atomic<bool> stop{false};
  std::mutex state_mutex;
  std::condition_variable state_changed;
  uint64_t done = head.size();
  int running = 0;
  std::exception_ptr first_error;

  auto work = [&] {
    try {
      while (!stop) {
        size_t index = next_item++;
        if (index >= items.size()) break;
        const WorkItem& item = items[index];
        const PendingTensor& t = tensors_[item.tensor];
        BufferPool::Buffer buffer = buffers.acquire(item.bytes);
        struct Release {
          BufferPool& pool;
          BufferPool::Buffer& buffer;
          ~Release() { pool.release(std::move(buffer)); }
        } release{buffers, buffer};
        // Zeroed, so a fill that skips bytes still writes a deterministic file.
        std::memset(buffer.data.get(), 0, item.bytes);
        if (t.fill) {
          t.fill(buffer.data.get(), item.bytes);
        } else {
          t.fill_range(buffer.data.get(), item.offset_in_tensor, item.bytes);
        }
        file.write_at(buffer.data.get(), item.bytes, item.file_offset);
        std::lock_guard<std::mutex> lock(state_mutex);
        done += item.bytes;
        state_changed.notify_all();
      }
    } catch (...) {
      stop = true;
      std::lock_guard<std::mutex> lock(state_mutex);
      if (!first_error) first_error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(state_mutex);
    --running;
    state_changed.notify_all();
  };

  int workers = static_cast<int>(std::min<size_t>(
      static_cast<size_t>(threads > 0 ? threads : default_threads()), items.size()));
  std::vector<std::thread> pool;
  running = workers;
  for (int w = 0; w < workers; ++w) {
    try {
      pool.emplace_back(work);
    } catch (...) {  // out of threads: the ones started take all the items
      std::lock_guard<std::mutex> lock(state_mutex);
      running -= workers - w;
      if (pool.empty()) throw;
      break;
    }
  }

  // Progress is reported here, on the caller's thread, while the workers run.
  std::exception_ptr progress_error;
  {
    std::unique_lock<std::mutex> lock(state_mutex);
    uint64_t reported = 0;
    while (true) {
      state_changed.wait(lock, [&] { return done != reported || running == 0; });
      uint64_t now = done;
      bool finished = running == 0;
      if (progress && !progress_error && now != reported && now < total) {
        lock.unlock();
        try {
          progress(now, total);
        } catch (...) {
          progress_error = std::current_exception();
          stop = true;
        }
        lock.lock();
      }
      reported = now;
      if (finished) break;
    }
  }
  for (std::thread& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);
  if (progress_error) std::rethrow_exception(progress_error);
  file.commit();
  if (progress) progress(total, total);
}

}  // namespace kiln::gguf
