#pragma once
// Hopper's asynchronous data movement (sm_90), shared by the warp-specialized kernels (gemm_q8_0,
// attn_prefill_ws, matvec_q8r_stream): mbarriers (shared-memory arrive/wait barriers with phases
// and transaction counts), the async-proxy fence, and the copies that complete on an mbarrier
// (cp.async arrivals, TMA tensor boxes, bulk copies). Nothing here is compiled unless a kernel
// calls it, so sm_80 builds never see these instructions.

namespace kiln_async {

using u32 = unsigned int;

// ---- mbarriers ----
__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initialized barriers visible to the other threads (and the async proxy).
__device__ __forceinline__ void fence_mbarrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}
__device__ __forceinline__ void mbar_arrive(u32 bar) {
  asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}
// Waits until the phase of parity `parity` has completed (a fresh barrier is in phase 0, so
// waiting for parity 1 returns at once: "the phase before the first").
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "wait_%=:\n"
      "mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_%=;\n"
      "}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
// Arrives on `bar` and adds `bytes` to the transactions its current phase waits for.
__device__ __forceinline__ void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
}

// Makes this thread's earlier generic-proxy writes to shared memory (cp.async and st.shared
// included) visible to later async-proxy reads (wgmma's descriptors).
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}

// ---- copies that complete on an mbarrier ----
// Arrives on `bar` once every cp.async this thread issued so far has landed, without waiting:
// the barrier's expected count must include one arrival per calling thread (.noinc).
__device__ __forceinline__ void cp_async_arrive_noinc(u32 bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];" ::"r"(bar) : "memory");
}
// TMA: copies the box at (x = inner coordinate, y) of the 2-D tensor `map` (a CUtensorMap in
// param or global memory) to shared memory at `dst`; completes its bytes on `bar`.
__device__ __forceinline__ void tma_load_2d(u32 dst, const void* map, int x, int y, u32 bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];" ::"r"(dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(x), "r"(y), "r"(bar)
      : "memory");
}
// The same for the box at {x, y, z} of a 3-D tensor.
__device__ __forceinline__ void tma_load_3d(u32 dst, const void* map, int x, int y, int z, u32 bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(
          dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(x), "r"(y), "r"(z), "r"(bar)
      : "memory");
}
// Bulk copy of `bytes` (a multiple of 16, both addresses 16-byte aligned) from global memory into
// shared memory at `dst`, completing its bytes on `bar`.
__device__ __forceinline__ void bulk_copy_to_shared(u32 dst, const void* src, u32 bytes, u32 bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(dst),
               "l"(src), "r"(bytes), "r"(bar)
               : "memory");
}

}  // namespace kiln_async
