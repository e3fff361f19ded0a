#pragma once
// Helpers for the JIT kernels' GPU tests: skip without a device, device arrays, host f16.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "jit/cuda_check.h"
#include "jit/device.h"
#include "jit/library.h"
#include "../jit/test_dir.h"

// Skips the test, with one line saying why, when there is no usable CUDA device.
#define KILN_REQUIRE_GPU()                                                       \
  do {                                                                           \
    if (!::kiln::jit::Device::has_device())                                      \
      GTEST_SKIP() << ::kiln::jit::Device::no_device_reason() << ": GPU test skipped"; \
  } while (0)

namespace kiln::jit::testing {

// Plain cudaMalloc'd bytes, with room for `slack` extra bytes past the end.
class DeviceBytes {
 public:
  explicit DeviceBytes(size_t bytes, size_t slack = 16) : bytes_(bytes) {
    KILN_CUDA_CHECK(cudaMalloc(&ptr_, bytes + slack));
  }
  ~DeviceBytes() { cudaFree(ptr_); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;

  template <class T = void>
  T* get(size_t byte_offset = 0) const { return reinterpret_cast<T*>(static_cast<char*>(ptr_) + byte_offset); }
  size_t bytes() const { return bytes_; }

  template <class T>
  void upload(const std::vector<T>& host, size_t byte_offset = 0) {
    KILN_CUDA_CHECK(cudaMemcpy(get<char>(byte_offset), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  template <class T>
  std::vector<T> download(size_t count, size_t byte_offset = 0) const {
    std::vector<T> host(count);
    KILN_CUDA_CHECK(cudaMemcpy(host.data(), get<char>(byte_offset), count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  // Fills with 0xff bytes: NaN as float and f16, so unwritten outputs show.
  void poison() { KILN_CUDA_CHECK(cudaMemset(ptr_, 0xff, bytes_)); }

 private:
  void* ptr_ = nullptr;
  size_t bytes_;
};

inline void sync_and_check(const std::string& what) {
  KILN_CUDA_CHECK(cudaGetLastError(), what);
  KILN_CUDA_CHECK(cudaDeviceSynchronize(), what);
}

// IEEE binary16 on the host (round to nearest even), independent of the code under test.
inline uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return static_cast<uint16_t>(sign | (mag > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (mag < 0x38800000u) {  // below 2^-14: subnormal (units of 2^-24) or zero
    float a;
    std::memcpy(&a, &mag, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t h = (((mag >> 23) - 112) << 10) | ((mag & 0x7fffffu) >> 13);
  const uint32_t rest = mag & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float out;
  if (e == 0) {
    out = std::ldexp(static_cast<float>(m), -24);
    return sign ? -out : out;
  }
  const uint32_t bits = sign | (e == 31 ? (0xffu << 23) | (m << 13) : ((e + 112) << 23) | (m << 13));
  std::memcpy(&out, &bits, 4);
  return out;
}

// One library per mode for the whole test binary, caching in a private temp folder.
inline Library& library_for(Mode mode) {
  static TempDir dir;
  auto make = [](Mode m) {
    LibraryOptions o;
    o.mode = m;
    o.cache_dir = dir.path();
    o.strict = false;
    return std::make_unique<Library>(o);
  };
  static std::unique_ptr<Library> specialized = make(Mode::specialized), generic = make(Mode::generic);
  return mode == Mode::generic ? *generic : *specialized;
}

inline std::string mode_label(Mode mode) { return std::string(mode_name(mode)); }

}  // namespace kiln::jit::testing
