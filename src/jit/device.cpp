#include "jit/device.h"

#include <cuda_runtime_api.h>

#include "jit/cuda_check.h"
#include "util/error.h"

namespace kiln::jit {

std::string arch_for(int cc_major, int cc_minor) {
  std::string arch = "sm_" + std::to_string(cc_major * 10 + cc_minor);
  if ((cc_major == 9 || cc_major == 10) && cc_minor == 0) arch += "a";
  return arch;
}

int cc_major_of_arch(const std::string& arch) {
  const size_t digits = arch.rfind("sm_", 0) == 0 ? 3 : arch.rfind("compute_", 0) == 0 ? 8 : 0;
  size_t end = digits;
  while (end < arch.size() && arch[end] >= '0' && arch[end] <= '9') ++end;
  const std::string suffix = arch.substr(end);
  KILN_CHECK(digits && end - digits >= 2 && end - digits <= 3 && (suffix.empty() || suffix == "a" || suffix == "f"),
             "not a GPU arch: '", arch, "' (expected e.g. sm_90a or sm_80)");
  return std::stoi(arch.substr(digits, end - digits)) / 10;
}

std::string Device::arch() const { return arch_for(cc_major, cc_minor); }

namespace {

struct Probe {
  bool ok = false;
  std::string reason;
  Device device;
};

const Probe& probe() {
  static const Probe result = [] {
    Probe p;
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      p.reason = cat("no CUDA device (cudaGetDeviceCount: ", cudaGetErrorString(status), ")");
      cudaGetLastError();  // clear the sticky status so later calls start clean
      return p;
    }
    if (count == 0) {
      p.reason = "no CUDA device (cudaGetDeviceCount found 0)";
      return p;
    }
    Device& d = p.device;
    KILN_CUDA_CHECK(cudaGetDevice(&d.ordinal));
    cudaDeviceProp prop{};
    KILN_CUDA_CHECK(cudaGetDeviceProperties(&prop, d.ordinal));
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.sm_count = prop.multiProcessorCount;
    d.smem_per_block_optin = prop.sharedMemPerBlockOptin;
    d.smem_per_sm = prop.sharedMemPerMultiprocessor;
    d.l2_bytes = static_cast<size_t>(prop.l2CacheSize);
    d.memory_bytes = prop.totalGlobalMem;
    p.ok = true;
    return p;
  }();
  return result;
}

}  // namespace

bool Device::has_device() { return probe().ok; }
const std::string& Device::no_device_reason() { return probe().reason; }

const Device& Device::current() {
  const Probe& p = probe();
  if (!p.ok) fail(p.reason);
  return p.device;
}

}  // namespace kiln::jit
