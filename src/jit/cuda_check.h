#pragma once
// One checking helper for CUDA runtime and NVRTC calls: a failure throws kiln::Error naming the
// call, the file:line and the error, after any context the caller gives (usually the key):
//   KILN_CUDA_CHECK(cudaLibraryLoadData(...), key.str());
#include <cuda_runtime_api.h>
#include <nvrtc.h>

#include "util/error.h"

#define KILN_CUDA_CHECK(call, ...)                                                          \
  do {                                                                                      \
    const cudaError_t kiln_cuda_status_ = (call);                                           \
    if (kiln_cuda_status_ != cudaSuccess)                                                   \
      ::kiln::fail(__VA_ARGS__ __VA_OPT__(, ": ", ) #call " failed at " __FILE__ ":",      \
                   __LINE__, ": ", cudaGetErrorName(kiln_cuda_status_), " (",               \
                   cudaGetErrorString(kiln_cuda_status_), ")");                             \
  } while (0)

#define KILN_NVRTC_CHECK(call, ...)                                                         \
  do {                                                                                      \
    const nvrtcResult kiln_nvrtc_status_ = (call);                                          \
    if (kiln_nvrtc_status_ != NVRTC_SUCCESS)                                                \
      ::kiln::fail(__VA_ARGS__ __VA_OPT__(, ": ", ) #call " failed at " __FILE__ ":",      \
                   __LINE__, ": ", nvrtcGetErrorString(kiln_nvrtc_status_));                \
  } while (0)
