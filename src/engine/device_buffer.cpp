#include "engine/device_buffer.h"

#include <cstdio>
#include <utility>

#include "jit/cuda_check.h"
#include "util/format.h"

namespace kiln::engine {

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what) : bytes_(bytes) {
  if (bytes == 0) return;
  cudaError_t status = cudaMalloc(&ptr_, bytes);
  if (status != cudaSuccess) {
    ptr_ = nullptr;
    cudaGetLastError();  // clear the sticky-free error state of a failed allocation
    fail("out of GPU memory allocating ", what, " (", gib_text(bytes), "): ", cudaGetErrorString(status));
  }
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

void DeviceBuffer::upload(const void* src, size_t bytes, size_t offset) {
  KILN_CHECK(offset + bytes <= bytes_, "upload of ", bytes, " bytes at ", offset, " overflows a buffer of ", bytes_);
  KILN_CUDA_CHECK(cudaMemcpy(static_cast<char*>(ptr_) + offset, src, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::download(void* dst, size_t bytes, size_t offset) const {
  KILN_CHECK(offset + bytes <= bytes_, "download of ", bytes, " bytes at ", offset, " overflows a buffer of ", bytes_);
  KILN_CUDA_CHECK(cudaMemcpy(dst, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost));
}

void check_fits(const std::vector<MemoryItem>& items) {
  size_t free_bytes = 0, total_bytes = 0;
  KILN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  // Kernels, graphs, the CUDA context's own growth: keep 512 MiB aside.
  const uint64_t reserve = 512ull << 20;
  uint64_t need = 0;
  std::string parts;
  for (const auto& item : items) {
    need += item.bytes;
    parts += (parts.empty() ? "" : ", ") + item.what + " " + gib_text(item.bytes);
  }
  if (need + reserve > free_bytes)
    fail("out of GPU memory: needs ", gib_text(need), " (", parts, ") plus ", gib_text(reserve),
         " reserve, but the device has ", gib_text(free_bytes), " free of ", gib_text(total_bytes),
         "; use a smaller context (-c) or a smaller model");
}

}  // namespace kiln::engine
