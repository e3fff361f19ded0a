#pragma once
// parallel_for over an index range on a fixed number of threads (no pool kept alive: the
// callers are coarse - a model load, a forward pass layer - so thread start-up is noise).
#include <cstdint>
#include <functional>

namespace kiln {

// Number of worker threads to use: $KILN_THREADS if set, else the hardware concurrency.
int default_threads();

// Calls fn(begin, end) on disjoint chunks covering [0, n) from up to `threads` threads.
// Rethrows the first exception a chunk threw, after all chunks finished.
void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace kiln
