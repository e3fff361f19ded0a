#pragma once
// A loaded kernel: what the engine holds (as `const Kernel&`, resolved once at plan time) and
// launches on the hot path. launch() does no hashing and no lookup: one launch with the params
// struct as the kernel's single argument. A programmatic kernel (its source waits for the
// previous kernel itself, kernels/common.cuh) is launched with programmatic stream
// serialization, so it may start while the kernel before it on the stream drains; CUDA graphs
// captured from the stream keep that as a programmatic edge.
#include <cuda_runtime_api.h>

#include <string>
#include <type_traits>

#include "jit/key.h"

namespace kiln::jit {

// Grid, block and dynamic shared memory of one launch.
struct LaunchDims {
  dim3 grid;
  dim3 block;
  size_t smem_bytes = 0;
};

class Kernel {
 public:
  Kernel(KernelKey key, cudaLibrary_t library, cudaKernel_t function, bool programmatic = false);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel();

  const KernelKey& key() const { return key_; }
  const std::string& name() const { return name_; }  // key().str()
  int registers() const { return registers_; }
  int static_smem_bytes() const { return static_smem_bytes_; }
  int max_threads_per_block() const { return max_threads_; }
  int dynamic_smem_limit() const { return dynamic_smem_limit_; }
  bool programmatic() const { return programmatic_; }

  // Launches with `params` (the kernel's NameParams struct, passed by value to the kernel).
  template <class Params>
  void launch(dim3 grid, dim3 block, size_t smem_bytes, cudaStream_t stream, const Params& params) const {
    static_assert(std::is_trivially_copyable_v<Params> && !std::is_pointer_v<Params>,
                  "Kernel::launch takes the params struct itself");
    void* args[1] = {const_cast<Params*>(&params)};
    cudaLaunchAttribute attribute{};
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    const cudaLaunchConfig_t config{grid, block, smem_bytes, stream, &attribute, programmatic_ ? 1u : 0u};
    const cudaError_t status = cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(function_), args);
    if (status != cudaSuccess) launch_failed(status, grid, block, smem_bytes);
  }
  template <class Params>
  void launch(const LaunchDims& dims, cudaStream_t stream, const Params& params) const {
    launch(dims.grid, dims.block, dims.smem_bytes, stream, params);
  }

  // Raises the dynamic shared memory limit to `bytes` if it is lower (at load, or before a launch
  // that asks for more than the key's; not thread-safe against launches of this kernel).
  void require_dynamic_smem(int bytes) const;

 private:
  [[noreturn]] void launch_failed(cudaError_t status, dim3 grid, dim3 block, size_t smem_bytes) const;

  KernelKey key_;
  std::string name_;
  cudaLibrary_t library_;
  cudaKernel_t function_;
  int registers_ = 0, static_smem_bytes_ = 0, max_threads_ = 0;
  mutable int dynamic_smem_limit_ = 48 * 1024;
  bool programmatic_ = false;
};

}  // namespace kiln::jit
