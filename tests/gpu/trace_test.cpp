// The kernel timeline (jit/trace.h) on the GPU: a KILN_TRACE build of rmsnorm launched twice
// records, for every CTA of each launch, one start, one return from its wait and one end, in that
// order in time, under the kernel's printed name; a normal build records nothing.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "jit/builtin_kernels.h"
#include "jit/trace.h"
#include "jit_gpu_util.h"
#include "kernels/rmsnorm_params.h"

namespace kiln::jit {
namespace {

using namespace testing;

TEST(TraceGpu, EveryCtaRecordsStartWaitAndEnd) {
  KILN_REQUIRE_GPU();
  const int n_embd = 1024, n_rows = 24;
  DeviceBytes x(size_t(n_embd) * n_rows * 4), w(n_embd * 4), out(size_t(n_embd) * n_rows * 4);
  x.upload(std::vector<float>(size_t(n_embd) * n_rows, 1.f));
  w.upload(std::vector<float>(n_embd, 1.f));
  RmsnormParams p{};
  p.x = x.get<float>();
  p.weight = w.get<float>();
  p.out = out.get();
  p.n_rows = n_rows;
  p.n_embd = n_embd;
  p.eps = 1e-6f;
  const KernelKey key = rmsnorm_key({.n_embd = n_embd});
  const LaunchDims dims = rmsnorm_launch(key, n_rows);
  const int ctas = int(dims.grid.x * dims.grid.y * dims.grid.z);

  // A normal build records nothing.
  trace_clear();
  const Kernel& plain = library_for(Mode::specialized).get(key);
  plain.launch(dims, nullptr, p);
  sync_and_check("rmsnorm");
  EXPECT_TRUE(trace_download().empty());

  TempDir dir;
  LibraryOptions options;
  options.cache_dir = dir.path();
  options.strict = false;
  options.trace = true;
  Library library(options);
  const Kernel& traced = library.get(key);
  trace_clear();
  traced.launch(dims, nullptr, p);
  traced.launch(dims, nullptr, p);
  sync_and_check("traced rmsnorm");
  uint64_t dropped = 1;
  const std::vector<TraceRecord> records = trace_download(&dropped);
  EXPECT_EQ(dropped, 0u);
  ASSERT_EQ(records.size(), size_t(2 * 3 * ctas));
  const auto& names = trace_kernel_names();
  std::map<std::tuple<uint32_t, int>, std::vector<uint64_t>> times;  // (cta, event) -> times
  std::set<int> sms;  // %smid need not be below the SM count (its numbering may have holes)
  for (const TraceRecord& r : records) {
    ASSERT_LT(r.kernel, int(names.size()));
    EXPECT_EQ(names[r.kernel], traced.name());
    sms.insert(r.sm);
    ASSERT_LT(r.cta, uint32_t(ctas));
    ASSERT_LE(r.event, 2);
    times[{r.cta, r.event}].push_back(r.t_ns);
  }
  EXPECT_LE(int(sms.size()), Device::current().sm_count);
  for (uint32_t cta = 0; cta < uint32_t(ctas); ++cta) {
    for (int event = 0; event < 3; ++event) {
      auto& t = times[{cta, event}];
      ASSERT_EQ(t.size(), 2u) << "cta " << cta << " event " << event;
      std::sort(t.begin(), t.end());
    }
    const auto& start = times[{cta, 0}];
    const auto& waited = times[{cta, 1}];
    const auto& end = times[{cta, 2}];
    for (int launch = 0; launch < 2; ++launch) {
      EXPECT_LE(start[launch], waited[launch]) << "cta " << cta;
      EXPECT_LE(waited[launch], end[launch]) << "cta " << cta;
    }
  }
}

}  // namespace
}  // namespace kiln::jit
