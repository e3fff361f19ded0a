// -ctk / -ctv (--cache-type-k / --cache-type-v) through the built binary: an unknown type is one
// error line before any model loads, bench lists every K x V combination with type columns, and
// the CPU reference says once that it ignores them.
#include <gtest/gtest.h>

#include <filesystem>

#include "../common/run_kiln.h"

namespace kiln {
namespace {

class CacheTypeFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(KILN_BINARY)) GTEST_SKIP() << "kiln binary not built: " << KILN_BINARY;
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln-ctk-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  test::RunResult kiln(const std::string& args) { return test::run_kiln(args, (dir_ / "stderr.txt").string()); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.find_last_of('\n') + 1);
}

TEST_F(CacheTypeFlags, UnknownTypeIsOneLineBeforeTheModelLoads) {
  const std::string absent = file("absent.gguf");  // the type error must come first
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bench -m " + absent + " -ctk q4_0", "kiln: -ctk q4_0: unknown KV cache type (f16, q8_0)"},
      {"bench -m " + absent + " -ctk f16,q8_0 -ctv f16,bf16", "kiln: -ctv bf16: unknown KV cache type (f16, q8_0)"},
      {"run -m " + absent + " -p hi -ctv q8", "kiln: --cache-type-v q8: unknown KV cache type (f16, q8_0)"},
      {"logits -m " + absent + " --tokens 1 --cache-type-k f32",
       "kiln: --cache-type-k f32: unknown KV cache type (f16, q8_0)"},
      {"kernels precompile --preset llama-tiny -ctk q5_1",
       "kiln: --cache-type-k q5_1: unknown KV cache type (f16, q8_0)"},
  };
  for (const auto& [args, want] : cases) {
    auto r = kiln(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(last_line(r.err), want) << args << "\n" << r.err;
  }
}

TEST_F(CacheTypeFlags, BenchListsEveryCombinationWithTypeColumns) {
  const std::string model = file("tiny.gguf");
  ASSERT_EQ(kiln("synth qwen3-tiny --seed 1 -o " + model).exit_code, 0);
  auto r = kiln("bench -m " + model + " -p 4 -n 0 -r 1 --cpu -ctk f16,q8_0 -ctv q8_0 -o md");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| type_k | type_v |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| f16 | q8_0 | pp4 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| q8_0 | q8_0 | pp4 |"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the CPU reference keeps its KV cache in f32"), std::string::npos) << r.err;
  // All f16 (the default): no type columns in md or csv; json always names the types.
  auto plain = kiln("bench -m " + model + " -p 4 -n 0 -r 1 --cpu -o md");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("type_k"), std::string::npos) << plain.out;
  auto csv = kiln("bench -m " + model + " -p 4 -n 0 -r 1 --cpu -ctv q8_0 -o csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_NE(csv.out.find(",jit,type_k,type_v,n_batch,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find(",-,f16,q8_0,"), std::string::npos) << csv.out;
  auto json = kiln("bench -m " + model + " -p 4 -n 0 -r 1 --cpu -o jsonl");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"type_k\":\"f16\""), std::string::npos) << json.out;
}

TEST_F(CacheTypeFlags, RunAndLogitsAcceptTheTypesOnTheCpu) {
  const std::string model = file("tiny.gguf");
  ASSERT_EQ(kiln("synth qwen3-tiny --seed 1 -o " + model).exit_code, 0);
  auto plain = kiln("logits -m " + model + " --tokens 1,2 --cpu");
  auto q8 = kiln("logits -m " + model + " --tokens 1,2 --cpu -ctk q8_0 -ctv q8_0");
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  EXPECT_EQ(q8.out, plain.out) << "the CPU reference ignores the cache types";
  EXPECT_NE(q8.err.find("cache types q8_0/q8_0 ignored"), std::string::npos) << q8.err;
}

}  // namespace
}  // namespace kiln
