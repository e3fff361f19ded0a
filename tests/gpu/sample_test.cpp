// The GPU sampler (kernels/sample.cuh) against its host twin (cpu/sampler.h): the same
// thresholds and draw, so the same token. Both sum weights in float, in different orders; a
// draw that lands within rounding of a token boundary may pick the neighbour, so stochastic
// settings must agree on >= 97% of draws and greedy ones on all.
#include <gtest/gtest.h>

#include <random>

#include "cpu/sampler.h"
#include "jit_gpu_util.h"
#include "kernels/sample_params.h"

namespace kiln::jit::testing {
namespace {

KernelKey sample_key(int n_vocab) { return {"sample", "sample.cuh", {{"n_vocab", n_vocab, ConstKind::shape}}}; }

class SampleGpu : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override { KILN_REQUIRE_GPU(); }
};

TEST_P(SampleGpu, MatchesTheHostSampler) {
  LibraryOptions options;
  options.mode = GetParam();
  options.cache_dir = "";
  Library library(options);
  std::mt19937 rng(11);
  for (int n_vocab : {1000, 151936}) {
    const Kernel& kernel = library.get(sample_key(n_vocab));
    std::normal_distribution<float> normal(0.f, 3.f);
    std::vector<float> logits(n_vocab);
    for (auto& l : logits) l = normal(rng);
    const std::vector<int32_t> recent = {3, 17, 250, 999};
    DeviceBytes d_logits(n_vocab * 4), d_token(4), d_recent(recent.size() * 4);
    KILN_CUDA_CHECK(cudaMemcpy(d_recent.get(), recent.data(), recent.size() * 4, cudaMemcpyHostToDevice));
    const std::vector<cpu::SamplerSettings> grid = {
        {.temperature = 0.f},
        {.temperature = 0.f, .repeat_penalty = 1.5f},
        {.temperature = 1.f},
        {.temperature = 0.7f, .top_k = 40},
        {.temperature = 0.8f, .top_p = 0.9f},
        {.temperature = 1.2f, .min_p = 0.05f},
        {.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.3f},
    };
    for (const auto& s : grid) {
      int agree = 0, draws = 50;
      for (int d = 0; d < draws; ++d) {
        const float u = (d + 0.5f) / draws;
        KILN_CUDA_CHECK(cudaMemcpy(d_logits.get(), logits.data(), n_vocab * 4, cudaMemcpyHostToDevice));
        SampleParams p{};
        p.logits = d_logits.get<float>();
        p.out_token = d_token.get<int>();
        p.n_vocab = n_vocab;
        p.temperature = s.temperature;
        p.top_k = s.top_k;
        p.top_p = s.top_p;
        p.min_p = s.min_p;
        p.uniform = u;
        p.recent = d_recent.get<int>();
        p.n_recent = int(recent.size());
        p.repeat_penalty = s.repeat_penalty;
        kernel.launch(dim3(1), dim3(1024), 0, nullptr, p);
        int got = -1;
        KILN_CUDA_CHECK(cudaMemcpy(&got, d_token.get(), 4, cudaMemcpyDeviceToHost));
        std::vector<float> host = logits;
        const int want = cpu::sample_token(host, s, u, recent);
        ASSERT_GE(got, 0);
        ASSERT_LT(got, n_vocab);
        agree += got == want;
      }
      if (s.temperature <= 0.f)
        EXPECT_EQ(agree, draws) << "greedy, n_vocab " << n_vocab << ", penalty " << s.repeat_penalty;
      else
        EXPECT_GE(agree, draws * 97 / 100) << "T " << s.temperature << " top_k " << s.top_k << " top_p " << s.top_p
                                           << " min_p " << s.min_p << ", n_vocab " << n_vocab;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, SampleGpu, ::testing::Values(Mode::specialized, Mode::generic),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

}  // namespace
}  // namespace kiln::jit::testing
