#include "engine/matvec_chain.h"

#include "jit/device.h"

namespace kiln::engine {

void matvec_chain_launch(const jit::Kernel& kernel, const ChainShapes& s, const ChainArgs& args,
                         unsigned long long* barrier, cudaStream_t stream) {
  const jit::KernelKey& key = kernel.key();
  KILN_CHECK(key.kernel == "matvec_chain", key.str(), ": not a matvec_chain key");
  const int m = args.o.m, max_tokens = static_cast<int>(key.get("max_tokens"));
  KILN_CHECK(m >= 1 && m <= max_tokens, key.str(), ": m=", m, " outside 1..max_tokens");
  KILN_CHECK(args.up.m == m && args.down.m == m && args.next.m == m, key.str(), ": the products' m differ");
  KILN_CHECK(matvec_chain_fits(s, max_tokens, {.sm_count = 0, .cc_major = 9}), key.str(),
             ": launched for shapes it cannot run");
  const auto check_const = [&](const char* name, int value) {
    const int64_t c = key.get(name);
    KILN_CHECK(c == 0 || c == value, key.str(), ": launched with ", name, "=", value);
  };
  check_const("k_o", s.o.k);
  check_const("n_embd", s.o.n);
  check_const("n_ff", s.up.n);
  check_const("n_next", s.next.n);
  KILN_CHECK(barrier, key.str(), ": null barrier counter");

  const int chunk = static_cast<int>(key.get("chunk"));
  const MatmulShape* shapes[kChainProducts] = {&s.o, &s.up, &s.down, &s.next};
  const MatmulArgs* product_args[kChainProducts] = {&args.o, &args.up, &args.down, &args.next};
  MatvecChainParams p{};
  for (int i = 0; i < kChainProducts; ++i) {
    const MatmulShape& shape = *shapes[i];
    const MatmulArgs& a = *product_args[i];
    check_matmul_args(key, shape, a);
    p.products[i] = matmul_params(shape, a);
    set_weight_maps(p.products[i], key, shape, a, chunk);
  }
  p.barrier = barrier;
  // One CTA per SM, every one resident (the grid barrier); the SMs of this device, not the
  // target a plan was made for.
  const int consumers = static_cast<int>(key.get("consumers"));
  kernel.launch(dim3(static_cast<unsigned>(jit::Device::current().sm_count)), dim3(32 * (consumers + 1)),
                static_cast<size_t>(matvec_chain_smem(s, max_tokens, static_cast<int>(key.get("stages")))), stream, p);
}

}  // namespace kiln::engine
