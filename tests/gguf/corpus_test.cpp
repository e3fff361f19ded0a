// The fuzz seed corpus (tests/gguf/data/corpus): every file goes through File::parse and either
// parses or throws a one-line kiln::Error - never anything else. Also a cheap in-process fuzz:
// every single-byte change of the valid seeds. Regenerate the seeds with
//   test_gguf --gtest_also_run_disabled_tests --gtest_filter=CorpusSeeds.DISABLED_Regenerate
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gguf/gguf.h"
#include "gguf/types.h"
#include "seed_files.h"

using namespace kiln::gguf;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpusDir = fs::path(KILN_TEST_DATA_DIR) / "corpus";

std::vector<uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Parses and, on success, reads everything the file offers (as a model loader would).
// Returns the error message, "" when it parsed.
std::string parse_and_touch(std::span<const uint8_t> bytes) {
  try {
    File f = File::parse(bytes, "seed");
    for (const KeyValue& kv : f.metadata()) (void)kv.value.to_string();
    for (const Tensor& t : f.tensors()) {
      EXPECT_GE(t.data, bytes.data());
      EXPECT_LE(t.data + t.bytes, bytes.data() + bytes.size());
      TypeInfo info = type_info(t.type);
      if (info.cpu_supported) {
        std::vector<float> out(info.block_elems);
        dequantize(t.type, t.data, out.data(), info.block_elems);
      }
    }
    return "";
  } catch (const kiln::Error& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_FALSE(message.empty());
    return message.empty() ? "(empty message)" : message;
  }
}

}  // namespace

TEST(CorpusSeeds, GeneratedSeedsBehaveAsNamed) {
  for (const test::SeedFile& seed : test::seed_files()) {
    std::string err = parse_and_touch(seed.bytes);
    if (seed.name.rfind("valid_", 0) == 0) {
      EXPECT_EQ(err, "") << seed.name;
    } else {
      EXPECT_NE(err, "") << seed.name;
    }
  }
}

TEST(CorpusSeeds, EveryCorpusFileParsesOrThrowsKilnError) {
  ASSERT_TRUE(fs::is_directory(kCorpusDir)) << kCorpusDir;
  int files = 0, valid = 0;
  for (const auto& entry : fs::directory_iterator(kCorpusDir)) {
    if (!entry.is_regular_file()) continue;
    std::vector<uint8_t> bytes = read_all(entry.path());
    std::string name = entry.path().filename().string();
    std::string err = parse_and_touch(bytes);
    ++files;
    if (err.empty()) ++valid;
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_EQ(err, "") << name;
    } else if (name.rfind("bad_", 0) == 0) {
      EXPECT_NE(err, "") << name;
    }
  }
  EXPECT_GE(files, 20);
  EXPECT_GE(valid, 4);
}

TEST(CorpusSeeds, SingleByteMutationsNeverCrash) {
  for (const test::SeedFile& seed : test::seed_files()) {
    if (seed.name.rfind("valid_", 0) != 0) continue;
    std::vector<uint8_t> bytes = seed.bytes;
    for (size_t i = 0; i < bytes.size(); ++i) {
      uint8_t original = bytes[i];
      for (uint8_t v : {uint8_t(0), uint8_t(0xff), uint8_t(original ^ 0x80), uint8_t(original + 1)}) {
        bytes[i] = v;
        (void)parse_and_touch(bytes);
      }
      bytes[i] = original;
    }
  }
}

TEST(CorpusSeeds, DISABLED_Regenerate) {
  fs::create_directories(kCorpusDir);
  for (const test::SeedFile& seed : test::seed_files()) {
    std::ofstream out(kCorpusDir / (seed.name + ".bin"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(seed.bytes.data()), static_cast<std::streamsize>(seed.bytes.size()));
  }
  // One file from the Writer as well: its layout (alignment key, padding) is what kiln produces.
  Writer w;
  w.set("general.architecture", Value::str("llama"));
  w.set("tokenizer.ggml.tokens", Value::strings({"a", std::string("\0", 1), "\xc3\xa9"}));
  w.set("t.nested", Value::array(ValueType::ARRAY, {Value::i32s({1, 2}), Value::f32s({0.5f})}));
  w.set_alignment(64);
  w.add_tensor("token_embd.weight", Type::Q8_0, {32, 2}, std::vector<uint8_t>(68, 0x3c));
  w.add_tensor("output_norm.weight", Type::F16, {3}, std::vector<uint8_t>(6, 0x3c));
  w.add_tensor("blk.0.ffn_down.weight", Type::Q6_K, {256}, std::vector<uint8_t>(210, 0x5a));
  w.write((kCorpusDir / "valid_writer_output.bin").string());
}
