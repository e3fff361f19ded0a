#pragma once
// Device memory owned by RAII buffers, and the budget check that turns "model or KV cache too
// large" into one clear error before anything is allocated half-way.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::engine {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // Allocates `bytes` (what names the buffer in an out-of-memory error).
  DeviceBuffer(size_t bytes, const std::string& what);
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  void* get() const { return ptr_; }
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

  void upload(const void* src, size_t bytes, size_t offset = 0);
  void download(void* dst, size_t bytes, size_t offset = 0) const;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// A named amount of device memory the engine will need.
struct MemoryItem {
  std::string what;
  uint64_t bytes;
};

// Throws kiln::Error "out of GPU memory: needs X GiB (weights A, KV cache B, ...) but the
// device has Y GiB free" when the sum does not fit in the free memory minus a reserve for the
// CUDA context, kernels and graphs.
void check_fits(const std::vector<MemoryItem>& items);


}  // namespace kiln::engine
