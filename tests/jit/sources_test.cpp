#include <gtest/gtest.h>

#include "jit/hash.h"
#include "jit/sources.h"
#include "util/error.h"

namespace kiln::jit {
namespace {

TEST(Hash, KnownValuesDiffer) {
  EXPECT_EQ(hex64(0x0123456789abcdefull), "0123456789abcdef");
  EXPECT_NE(hash64("a"), hash64("b"));
  EXPECT_EQ(hash64("abc"), Hasher().add("a").add("bc").value());
  EXPECT_EQ(Hasher().hex().size(), 16u);
}

TEST(Sources, ScansIncludes) {
  std::vector<std::string> quoted, system;
  scan_includes("#include \"a.h\"\n  #  include <cuda_fp16.h>\n// #include \"no.h\"\nint x; #include \"no2.h\"\n",
                quoted, system);
  EXPECT_EQ(quoted, std::vector<std::string>{"a.h"});
  EXPECT_EQ(system, std::vector<std::string>{"cuda_fp16.h"});
}

TEST(Sources, ClosureAndDigestFollowIncludes) {
  SourceSet set({{"k.cuh", "#include \"common.cuh\"\n#include \"k_params.h\"\n"},
                 {"common.cuh", "#include \"deep.h\"\n"},
                 {"deep.h", "int deep;\n"},
                 {"k_params.h", "struct P {};\n"},
                 {"other.cuh", "#include <cuda_fp16.h>\n"}});
  EXPECT_EQ(set.closure("k.cuh"), (std::vector<std::string>{"common.cuh", "deep.h", "k.cuh", "k_params.h"}));
  EXPECT_TRUE(set.system_includes("k.cuh").empty());
  EXPECT_EQ(set.system_includes("other.cuh"), std::vector<std::string>{"cuda_fp16.h"});

  // A change in a header the kernel reaches changes its digest; a change elsewhere does not.
  SourceSet deep_changed({{"k.cuh", "#include \"common.cuh\"\n#include \"k_params.h\"\n"},
                          {"common.cuh", "#include \"deep.h\"\n"},
                          {"deep.h", "int deep2;\n"},
                          {"k_params.h", "struct P {};\n"},
                          {"other.cuh", "#include <cuda_fp16.h>\n"}});
  SourceSet other_changed({{"k.cuh", "#include \"common.cuh\"\n#include \"k_params.h\"\n"},
                           {"common.cuh", "#include \"deep.h\"\n"},
                           {"deep.h", "int deep;\n"},
                           {"k_params.h", "struct P {};\n"},
                           {"other.cuh", "#include <cuda_fp16.h>\n// edited\n"}});
  EXPECT_NE(set.digest("k.cuh"), deep_changed.digest("k.cuh"));
  EXPECT_EQ(set.digest("k.cuh"), other_changed.digest("k.cuh"));
  EXPECT_NE(set.digest("other.cuh"), other_changed.digest("other.cuh"));
  EXPECT_THROW(set.closure("missing.cuh"), Error);
  EXPECT_THROW(SourceSet({{"a.h", ""}, {"a.h", ""}}), Error);
}

TEST(Sources, BuiltinHoldsTheKernels) {
  const SourceSet& builtin = SourceSet::builtin();
  for (const char* name : {"common.cuh", "rmsnorm.cuh", "rmsnorm_params.h", "embed.cuh", "matvec_q8r.cuh",
                           "gemm_q8_0.cuh", "kv_write.cuh", "attn_prefill.cuh", "attn_decode.cuh", "sample.cuh"})
    EXPECT_NE(builtin.find(name), nullptr) << name;
  EXPECT_EQ(builtin.closure("rmsnorm.cuh"),
            (std::vector<std::string>{"common.cuh", "rmsnorm.cuh", "rmsnorm_params.h"}));
  EXPECT_NE(builtin.find("rmsnorm.cuh")->find("template <int N_EMBD"), std::string::npos);
}

}  // namespace
}  // namespace kiln::jit
