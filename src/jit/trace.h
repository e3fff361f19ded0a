#pragma once
// A timeline of the kernels' CTAs, for what the profilers on the device machine cannot show (it
// has no nsys, and ncu runs kernels one at a time: no PDL overlap, cold rings). With
// $KILN_TRACE=1 (LibraryOptions::trace) every kernel is compiled with -DKILN_TRACE, and thread 0
// of each CTA records when the CTA starts, when its wait for the previous kernel returns and when
// it ends, with %globaltimer and its SM (kernels/common.cuh). Records go to one device buffer per
// process (never freed); trace_clear() before the launches of interest, trace_download() after.
// Off, none of this runs.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::jit {

struct TraceRecord {
  uint64_t t_ns = 0;   // %globaltimer
  int kernel = 0;      // index into trace_kernel_names()
  int event = 0;  // 0 start, 1 the wait for the previous kernel returned, 2 end; a grid barrier's
                  // 3 arrival and 4 release (matvec_chain)
  int sm = 0;
  uint32_t cta = 0;    // linear over the grid: x + X (y + Y z)
};

// $KILN_TRACE as a switch (util/env.h).
bool trace_from_env();

// Points a loaded (KILN_TRACE-built) kernel library's trace variables at the process's buffer
// (made on first use, kTraceCapacity records) and gives it the id of `kernel_name`.
void trace_attach(cudaLibrary_t library, const std::string& kernel_name);

constexpr uint64_t kTraceCapacity = uint64_t(1) << 22;  // records (64 MiB)

// Empties the buffer (synchronous: call it between launches of interest, after the device is idle).
void trace_clear();
// What was recorded since the last clear, in record order (synchronizes the device). `dropped`:
// records that did not fit.
std::vector<TraceRecord> trace_download(uint64_t* dropped = nullptr);
// The kernels attached so far, by id: their keys' printed names.
const std::vector<std::string>& trace_kernel_names();
// The records as CSV (t_ns relative to the first record, kernel, event, sm, cta); returns the
// record count. Throws kiln::Error when the file cannot be written.
size_t trace_write_csv(const std::string& path);

}  // namespace kiln::jit
