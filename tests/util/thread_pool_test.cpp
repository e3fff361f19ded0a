#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "util/error.h"

TEST(ParallelFor, CoversEveryIndexOnce) {
  std::vector<std::atomic<int>> hits(1001);
  kiln::parallel_for(1001, 7, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ParallelFor, RethrowsAChunkError) {
  EXPECT_THROW(kiln::parallel_for(10, 4, [](int64_t b, int64_t) {
                 if (b == 0) kiln::fail("chunk ", b, " failed");
               }),
               kiln::Error);
}
