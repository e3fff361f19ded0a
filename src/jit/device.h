#pragma once
// What the JIT and the engine need to know about the GPU: whether there is one, the arch to
// compile for, and the sizes heuristics read (SM count, shared memory, L2).
#include <cstddef>
#include <string>

namespace kiln::jit {

struct Device {
  int ordinal = 0;
  std::string name;  // "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  size_t smem_per_block_optin = 0;  // bytes a block may use after raising its limit
  size_t smem_per_sm = 0;           // shared memory of one SM, the 1 KB each resident block reserves included
  size_t l2_bytes = 0;
  size_t memory_bytes = 0;

  // NVRTC's -arch value for this device: "sm_90a" on an H100.
  std::string arch() const;

  // Whether a CUDA device can be used (asked once; false on machines without a GPU or driver).
  static bool has_device();
  // Why not, when has_device() is false: "no CUDA device (cudaGetDeviceCount: ...)".
  static const std::string& no_device_reason();
  // The current device, queried once; throws kiln::Error with no_device_reason() when none.
  static const Device& current();
};

// The arch string for a compute capability: the 'a' variant on sm_90 and sm_100 (wgmma and
// the other arch-specific instructions need it), the plain one elsewhere: 9.0 -> "sm_90a".
std::string arch_for(int cc_major, int cc_minor);

// The compute capability's major number of an NVRTC -arch value: "sm_90a" -> 9, "sm_80" -> 8,
// "compute_100" -> 10. Throws kiln::Error on anything else.
int cc_major_of_arch(const std::string& arch);

}  // namespace kiln::jit
