#pragma once
// Device helpers shared by the kernels. Compiled by NVRTC only, without the CUDA toolkit's
// headers (no include path is given unless a kernel asks for one), so half precision is handled
// here with PTX instead of cuda_fp16.h: a kernel that needs nothing else compiles in ~100 ms.
// Every kernel includes this first; nothing here touches host code.

// Timeline trace (jit/trace.h), compiled in only with -DKILN_TRACE (KILN_TRACE=1): thread 0 of
// each CTA records when the CTA starts (KILN_TRACE_KERNEL, every kernel's first statement), when
// its wait for the previous kernel returns, and when it ends, with %globaltimer and its SM, into
// the buffer the host points this module's kiln_trace_records at (null: nothing is recorded).
// Thread 0 speaks for its CTA: where a producer warp holds it (attn_prefill_ws), the wait and the
// end recorded are the producer's.
#ifdef KILN_TRACE
extern "C" {
__device__ unsigned long long* kiln_trace_records;  // [0] count, [1] capacity, then two words a record
__device__ unsigned int kiln_trace_kernel;          // this module's kernel id (jit/trace.h)
}
#endif

namespace kiln_dev {

// A grid barrier's arrival and release (matvec_chain) are 3 and 4.
enum : unsigned { kTraceStart = 0, kTraceWaited = 1, kTraceEnd = 2, kTraceArrive = 3, kTraceLeave = 4 };

// Records `event` for this CTA (KILN_TRACE builds; a no-op otherwise). A record is the time in
// ns, then kernel id << 48 | event << 40 | SM << 32 | CTA (linear over the grid).
__device__ __forceinline__ void trace(unsigned event) {
#ifdef KILN_TRACE
  unsigned long long* records = kiln_trace_records;
  if (threadIdx.x + threadIdx.y + threadIdx.z != 0 || records == nullptr) return;
  unsigned long long now;
  unsigned sm;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
  const unsigned cta = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned long long i = atomicAdd(records, 1ull);
  if (i >= records[1]) return;  // full: the count still says how many were wanted
  records[2 + 2 * i] = now;
  records[3 + 2 * i] = static_cast<unsigned long long>(kiln_trace_kernel) << 48 |
                       static_cast<unsigned long long>(event) << 40 |
                       static_cast<unsigned long long>(sm & 0xffu) << 32 | cta;
#else
  (void)event;
#endif
}

#ifdef KILN_TRACE
// Records the CTA's start where it is declared and its end where it goes out of scope.
struct TraceScope {
  __device__ __forceinline__ TraceScope() { trace(kTraceStart); }
  __device__ __forceinline__ ~TraceScope() { trace(kTraceEnd); }
};
#define KILN_TRACE_KERNEL() const kiln_dev::TraceScope kiln_trace_scope
#else
#define KILN_TRACE_KERNEL() \
  do {                      \
  } while (0)
#endif

// Programmatic dependent launch (sm_90+). The engine launches a kernel whose source calls
// wait_for_previous_kernel() so that it may be scheduled while the kernel before it on the
// stream still runs (jit::Kernel, "programmatic"). Such a kernel must call it before it reads
// anything a kernel that may still run wrote, and before it writes anything at all; only reads of
// data no such kernel writes may come first (weights; the step's inputs copied from the host
// before its first kernel: positions, lengths, page tables; attn_decode's K/V rows of earlier
// decode steps, written many launches back). Every CTA must reach the wait, including CTAs with
// nothing to do: a kernel's completion then implies its predecessors', so the ordering of the
// whole stream stays transitive. allow_next_kernel_to_launch() lets the next kernel's CTAs be
// scheduled once every CTA of this one has called it (or exited); they spin in their own wait.
__device__ __forceinline__ void allow_next_kernel_to_launch() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ void wait_for_previous_kernel() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  trace(kTraceWaited);
}

// Starts pulling `bytes` (a multiple of 16, 16-byte aligned address) from global memory into L2
// without waiting for it (sm_90+; a no-op elsewhere): weights a kernel will stream, fetched
// while it waits for its predecessor.
__device__ __forceinline__ void prefetch_l2(const void* global, unsigned int bytes) {
#if __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(global), "r"(bytes) : "memory");
#endif
}

// IEEE binary16 values travel as their 16 bits.
using f16_bits = unsigned short;

__device__ __forceinline__ float f16_to_f32(f16_bits h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}

// Round to nearest even, as the CPU reference does.
__device__ __forceinline__ f16_bits f32_to_f16(float f) {
  f16_bits h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}

// Two floats to two f16 packed in a 32-bit word (lo in the low half: first in memory).
__device__ __forceinline__ unsigned int f32x2_to_f16x2(float lo, float hi) {
  return static_cast<unsigned int>(f32_to_f16(lo)) | (static_cast<unsigned int>(f32_to_f16(hi)) << 16);
}

// Sum over the 32 lanes of a warp; every lane gets the total.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over a block of THREADS threads (a multiple of 32, at most 1024); every thread gets the
// total. `scratch` holds 32 floats of shared memory; the call ends with a barrier, so scratch
// may be reused after it returns.
template <int THREADS>
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  static_assert(THREADS % 32 == 0 && THREADS <= 1024, "block_sum: THREADS must be a multiple of 32, <= 1024");
  v = warp_sum(v);
  if constexpr (THREADS == 32) return v;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = lane < THREADS / 32 ? scratch[lane] : 0.0f;
  total = warp_sum(total);
  __syncthreads();
  return total;
}

// Four signed bytes of a word to exact floats without I2F (16/clk/SM on Hopper, too slow for
// bandwidth-bound dequantization): bias each byte to unsigned, place it in the mantissa of
// 2^23 with PRMT, subtract 2^23 + 128 (exact).
__device__ __forceinline__ void s8x4_to_f32x4(unsigned int packed, float out[4]) {
  const unsigned int biased = packed ^ 0x80808080u;
#pragma unroll
  for (int i = 0; i < 4; ++i)
    out[i] = __int_as_float(__byte_perm(biased, 0x4B000000u, 0x7540u | i)) - 8388736.0f;
}

}  // namespace kiln_dev
