#include "jit/kernel.h"

#include "jit/cuda_check.h"
#include "util/error.h"

namespace kiln::jit {

Kernel::Kernel(KernelKey key, cudaLibrary_t library, cudaKernel_t function, bool programmatic)
    : key_(std::move(key)), name_(key_.str()), library_(library), function_(function), programmatic_(programmatic) {
  try {
    cudaFuncAttributes attributes{};
    KILN_CUDA_CHECK(cudaFuncGetAttributes(&attributes, reinterpret_cast<const void*>(function_)), name_);
    registers_ = attributes.numRegs;
    static_smem_bytes_ = static_cast<int>(attributes.sharedSizeBytes);
    max_threads_ = attributes.maxThreadsPerBlock;
    dynamic_smem_limit_ = attributes.maxDynamicSharedSizeBytes;
    require_dynamic_smem(key_.dynamic_smem_bytes);
  } catch (...) {
    cudaLibraryUnload(library_);  // the destructor will not run
    throw;
  }
}

Kernel::~Kernel() {
  if (library_) cudaLibraryUnload(library_);  // may fail at process exit; nothing to do then
}

void Kernel::require_dynamic_smem(int bytes) const {
  if (bytes <= dynamic_smem_limit_) return;
  KILN_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(function_),
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, bytes),
                  name_, ": raising dynamic shared memory to ", bytes, " bytes");
  dynamic_smem_limit_ = bytes;
}

void Kernel::launch_failed(cudaError_t status, dim3 grid, dim3 block, size_t smem_bytes) const {
  fail(name_, ": launch of grid (", grid.x, ",", grid.y, ",", grid.z, ") block (", block.x, ",", block.y, ",",
       block.z, ") with ", smem_bytes, " bytes of dynamic shared memory failed: ", cudaGetErrorName(status), " (",
       cudaGetErrorString(status), ")");
}

}  // namespace kiln::jit
