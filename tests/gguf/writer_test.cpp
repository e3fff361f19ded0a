// Writer round trips (write -> File::open -> same keys, values, types, tensors and bytes),
// layout (alignment, zero padding), parallel and chunked filling, progress, atomicity, and the
// writer's own validation.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "../common/error_of.h"
#include "gguf/gguf.h"
#include "util/error.h"

using namespace kiln::gguf;
namespace fs = std::filesystem;
using kiln::test::error_of;

namespace {

// A fresh, empty directory per test.
fs::path test_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(testing::TempDir()) / (std::string("gguf_writer_") + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return v;
}

std::vector<KeyValue> every_type_metadata() {
  std::vector<KeyValue> kv;
  kv.push_back({"general.architecture", Value::str("llama")});
  kv.push_back({"t.u8", Value::u8(255)});
  kv.push_back({"t.i8", Value::i8(-128)});
  kv.push_back({"t.u16", Value::u16(65535)});
  kv.push_back({"t.i16", Value::i16(-32768)});
  kv.push_back({"t.u32", Value::u32(4294967295u)});
  kv.push_back({"t.i32", Value::i32(-2147483647 - 1)});
  kv.push_back({"t.u64", Value::u64(UINT64_MAX)});
  kv.push_back({"t.i64", Value::i64(INT64_MIN)});
  kv.push_back({"t.f32", Value::f32(0.1f)});
  kv.push_back({"t.f64", Value::f64(0.1)});
  kv.push_back({"t.bool", Value::boolean(false)});
  kv.push_back({"t.nul_and_utf8", Value::str(std::string("a\0b \xe2\x96\x81 \xf0\x9f\x98\x80", 12))});
  kv.push_back({"tokenizer.ggml.tokens", Value::strings({"<s>", "", std::string("\0", 1), "\xc4\xa0the"})});
  kv.push_back({"tokenizer.ggml.scores", Value::f32s({0.0f, -1.5f, 1e-30f, -0.0f})});
  kv.push_back({"tokenizer.ggml.token_type", Value::i32s({1, 2, 3, 6})});
  kv.push_back({"t.empty", Value::array(ValueType::STRING, {})});
  kv.push_back({"t.nested",
                Value::array(ValueType::ARRAY,
                             {Value::strings({"x", "y"}), Value::strings({}),
                              Value::array(ValueType::ARRAY, {Value::i32s({7})})})});
  // Arrays of arrays of differing element types are valid GGUF too.
  kv.push_back({"t.mixed", Value::array(ValueType::ARRAY, {Value::i32s({1}), Value::f32s({2.0f})})});
  kv.push_back({"t.bools", Value::array(ValueType::BOOL, {Value::boolean(true), Value::boolean(false)})});
  return kv;
}

}  // namespace

TEST(Writer, RoundTripsMetadataAndTensors) {
  fs::path path = test_dir() / "round_trip.gguf";
  Writer w;
  for (const KeyValue& kv : every_type_metadata()) w.set(kv.key, kv.value);
  struct Spec {
    std::string name;
    Type type;
    std::vector<int64_t> shape;
  };
  std::vector<Spec> specs = {{"token_embd.weight", Type::F32, {5, 3}},
                             {"blk.0.attn_norm.weight", Type::F16, {7}},
                             {"blk.0.attn_q.weight", Type::Q8_0, {64, 3}},
                             {"blk.0.ffn_down.weight", Type::Q4_K, {256, 2}},
                             {"blk.0.ffn_up_exps.weight", Type::MXFP4, {32, 2, 2, 2}},
                             {"output.weight", Type::Q6_K, {512}}};
  std::vector<std::vector<uint8_t>> datas;
  for (size_t i = 0; i < specs.size(); ++i) {
    int64_t elements = 1;
    for (int64_t d : specs[i].shape) elements *= d;
    datas.push_back(pattern(bytes_for(specs[i].type, elements), static_cast<uint8_t>(i)));
    if (i % 2 == 0) {
      w.add_tensor(specs[i].name, specs[i].type, specs[i].shape, datas[i]);
    } else {
      std::vector<uint8_t> copy = datas[i];
      w.add_tensor(specs[i].name, specs[i].type, specs[i].shape,
                   [copy](uint8_t* dst, uint64_t bytes) {
                     ASSERT_EQ(bytes, copy.size());
                     std::memcpy(dst, copy.data(), bytes);
                   });
    }
  }
  w.write(path.string(), 3);
  File f = File::open(path.string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.file_size(), w.total_bytes());
  EXPECT_EQ(fs::file_size(path), w.total_bytes());
  std::vector<KeyValue> expected = every_type_metadata();
  ASSERT_EQ(f.metadata().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].key, expected[i].key);  // insertion order kept
    EXPECT_EQ(f.metadata()[i].value, expected[i].value) << expected[i].key << ": "
                                                        << f.metadata()[i].value.to_string();
  }
  EXPECT_TRUE(std::signbit(f.get("tokenizer.ggml.scores").as_array("s")[3].as_f64("s")));
  ASSERT_EQ(f.tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const Tensor& t = f.tensors()[i];
    EXPECT_EQ(t.name, specs[i].name);
    EXPECT_EQ(t.type, specs[i].type);
    EXPECT_EQ(t.shape, specs[i].shape);
    ASSERT_EQ(t.bytes, datas[i].size());
    EXPECT_EQ(0, std::memcmp(t.data, datas[i].data(), t.bytes)) << t.name;
  }
}

TEST(Writer, AlignsTensorsAndPadsWithZeros) {
  fs::path path = test_dir() / "aligned.gguf";
  Writer w;
  w.set("general.name", Value::str("pad"));
  w.set_alignment(256);
  // 5, 100 and 3 bytes of I8: every tensor needs padding after it.
  w.add_tensor("a", Type::I8, {5}, pattern(5, 1));
  w.add_tensor("b", Type::I8, {100}, pattern(100, 2));
  w.add_tensor("c", Type::I8, {3}, pattern(3, 3));
  w.write(path.string());
  std::vector<uint8_t> bytes = read_all(path);
  File f = File::parse(bytes, "aligned.gguf");
  EXPECT_EQ(f.alignment(), 256u);
  EXPECT_EQ(f.get("general.alignment"), Value::u32(256));
  EXPECT_EQ(f.data_offset() % 256, 0u);
  // Offsets as ggml computes them: each tensor starts at the previous end rounded up.
  EXPECT_EQ(f.tensors()[0].offset, 0u);
  EXPECT_EQ(f.tensors()[1].offset, 256u);
  EXPECT_EQ(f.tensors()[2].offset, 512u);
  EXPECT_EQ(bytes.size(), f.data_offset() + 768);  // the last tensor is padded too
  // Everything that is not header or tensor data is zero.
  std::vector<bool> used(bytes.size(), false);
  for (const Tensor& t : f.tensors()) {
    for (uint64_t i = 0; i < t.bytes; ++i) used[f.data_offset() + t.offset + i] = true;
  }
  for (size_t i = f.data_offset(); i < bytes.size(); ++i) {
    if (!used[i]) {
      ASSERT_EQ(bytes[i], 0) << "byte " << i;
    }
  }
  // The infos end at byte 191: header 24, "general.name" = "pad" 35, general.alignment 33, three
  // infos of 33 (name 8+1, n_dims 4, dim 8, type 4, offset 8). Padding runs to 256.
  EXPECT_EQ(f.data_offset(), 256u);
  for (size_t i = 191; i < 256; ++i) ASSERT_EQ(bytes[i], 0) << "byte " << i;
  EXPECT_EQ(bytes[191 - 8 - 4 - 8], 3);  // the last info's dim
}

TEST(Writer, ChunkedFillCoversEveryByteOnceFromManyThreads) {
  fs::path path = test_dir() / "chunked.gguf";
  // 80 MiB of F32: more than one 64 MiB chunk. Values encode their own index.
  const int64_t elements = 20 * 1024 * 1024;
  std::mutex mutex;
  std::set<std::pair<uint64_t, uint64_t>> ranges;
  std::set<std::thread::id> threads_seen;
  Writer w;
  w.add_tensor_chunked("big", Type::F32, {elements}, [&](uint8_t* dst, uint64_t offset, uint64_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ranges.insert({offset, bytes});
      threads_seen.insert(std::this_thread::get_id());
    }
    EXPECT_EQ(offset % 4, 0u);
    for (uint64_t i = 0; i < bytes / 4; ++i) {
      float v = static_cast<float>(offset / 4 + i);
      std::memcpy(dst + 4 * i, &v, 4);
    }
  });
  // Q8_0 chunks must hold whole 34-byte blocks.
  w.add_tensor_chunked("q", Type::Q8_0, {32 * 3}, [&](uint8_t* dst, uint64_t offset, uint64_t bytes) {
    EXPECT_EQ(offset % 34, 0u);
    EXPECT_EQ(bytes % 34, 0u);
    std::memset(dst, 0x11, bytes);
  });
  w.add_tensor("small", Type::F32, {4}, [](uint8_t* dst, uint64_t bytes) { std::memset(dst, 0x22, bytes); });
  w.write(path.string(), 4);
  uint64_t covered = 0;
  for (auto [offset, bytes] : ranges) {
    EXPECT_EQ(offset, covered);
    covered += bytes;
  }
  EXPECT_EQ(covered, static_cast<uint64_t>(elements) * 4);
  EXPECT_GE(ranges.size(), 2u);
  File f = File::open(path.string());
  const Tensor* big = f.find_tensor("big");
  ASSERT_NE(big, nullptr);
  for (int64_t i : {int64_t{0}, int64_t{1}, elements / 2, (int64_t{64} << 20) / 4 - 1,
                    (int64_t{64} << 20) / 4, elements - 1}) {
    float v;
    std::memcpy(&v, big->data + 4 * i, 4);
    EXPECT_EQ(v, static_cast<float>(i)) << i;
  }
  EXPECT_EQ(f.find_tensor("q")->data[0], 0x11);
  EXPECT_EQ(f.find_tensor("small")->data[15], 0x22);
}

TEST(Writer, ReportsProgressOnTheCallingThread) {
  fs::path path = test_dir() / "progress.gguf";
  Writer w;
  for (int i = 0; i < 20; ++i) {
    w.add_tensor(kiln::cat("t", i), Type::F32, {1024}, [](uint8_t* dst, uint64_t bytes) {
      std::memset(dst, 1, bytes);
    });
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  std::thread::id caller = std::this_thread::get_id();
  w.write(path.string(), 4, [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    calls.push_back({done, total});
  });
  ASSERT_FALSE(calls.empty());
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_GT(calls[i].first, calls[i - 1].first);
  EXPECT_EQ(calls.back().first, w.total_bytes());
  EXPECT_EQ(calls.back().second, w.total_bytes());
}

TEST(Writer, FailedWriteLeavesNoFileAndKeepsTheOldOne) {
  fs::path dir = test_dir();
  fs::path path = dir / "model.gguf";
  Writer ok;
  ok.set("general.name", Value::str("old"));
  ok.write(path.string());
  Writer bad;
  bad.set("general.name", Value::str("new"));
  bad.add_tensor("a", Type::F32, {4}, [](uint8_t*, uint64_t) {});
  bad.add_tensor("b", Type::F32, {4}, [](uint8_t*, uint64_t) { kiln::fail("synthetic fill failed"); });
  EXPECT_EQ(error_of([&] { bad.write(path.string(), 2); }), "synthetic fill failed");
  EXPECT_EQ(File::open(path.string()).get_str("general.name"), "old");
  // Only the target remains: the temp file was removed.
  std::vector<fs::path> entries(fs::directory_iterator(dir), fs::directory_iterator{});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].filename(), "model.gguf");
  // A successful write replaces the file.
  Writer replace;
  replace.set("general.name", Value::str("new"));
  replace.write(path.string());
  EXPECT_EQ(File::open(path.string()).get_str("general.name"), "new");
  // An unwritable place names the path.
  std::string err = error_of([&] { ok.write((dir / "no_such_dir" / "x.gguf").string()); });
  EXPECT_NE(err.find("no_such_dir/x.gguf.tmp."), std::string::npos) << err;
  EXPECT_NE(err.find("cannot create: No such file or directory"), std::string::npos) << err;
}

TEST(Writer, SetReplacesAndKeepsOrder) {
  Writer w;
  w.set("a", Value::u32(1));
  w.set("b", Value::u32(2));
  w.set("a", Value::str("again"));
  w.set("general.alignment", Value::u64(64));  // setting the key directly changes the layout
  fs::path path = test_dir() / "set.gguf";
  w.add_tensor("t", Type::F32, {1}, std::vector<uint8_t>(4, 0));
  w.write(path.string());
  File f = File::open(path.string());
  ASSERT_EQ(f.metadata().size(), 3u);
  EXPECT_EQ(f.metadata()[0].key, "a");
  EXPECT_EQ(f.metadata()[0].value, Value::str("again"));
  EXPECT_EQ(f.metadata()[1].key, "b");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
}

TEST(Writer, RejectsWhatTheReaderWould) {
  Writer w;
  w.add_tensor("w", Type::F32, {4}, std::vector<uint8_t>(16));
  EXPECT_EQ(error_of([&] { w.add_tensor("w", Type::F32, {4}, std::vector<uint8_t>(16)); }),
            "tensor w added twice");
  EXPECT_EQ(error_of([&] { w.add_tensor("q", Type::Q8_0, {33}, [](uint8_t*, uint64_t) {}); }),
            "tensor q: row length 33 is not a multiple of Q8_0's block size 32");
  EXPECT_EQ(error_of([&] { w.add_tensor("z", Type::F32, {4, 0}, [](uint8_t*, uint64_t) {}); }),
            "tensor z: dim 1 is 0 (dims must be positive)");
  EXPECT_EQ(error_of([&] { w.add_tensor("d", Type::F32, {1, 1, 1, 1, 1}, [](uint8_t*, uint64_t) {}); }),
            "tensor d: 5 dims (must be 1 to 4)");
  EXPECT_EQ(error_of([&] { w.add_tensor("s", Type::F32, {4}, std::vector<uint8_t>(15)); }),
            "tensor s: 15 bytes of data given, its type and shape take 16");
  EXPECT_EQ(error_of([&] { w.add_tensor(std::string(64, 'n'), Type::F32, {4}, [](uint8_t*, uint64_t) {}); })
                .find("name must be 1 to 63 bytes") != std::string::npos,
            true);
  EXPECT_EQ(error_of([&] { w.add_tensor("u", static_cast<Type>(99), {4}, [](uint8_t*, uint64_t) {}); }),
            "tensor u: unknown type id 99");
  EXPECT_EQ(error_of([&] { w.set("a", Value::array(ValueType::U32, {Value::u32(1), Value::str("x")})); }),
            "key a: array item 1 is string in an array of u32");
  Value wrong_range = Value::u8(1);
  wrong_range.data = uint64_t{300};
  EXPECT_EQ(error_of([&] { w.set("r", wrong_range); }), "key r: the data does not hold a u8 value");
  Value deep = Value::u32(1);
  for (int i = 0; i < 9; ++i) deep = Value::array(deep.type, {deep});
  EXPECT_EQ(error_of([&] { w.set("deep", deep); }), "key deep: arrays nested deeper than 8 levels");
  EXPECT_EQ(error_of([&] { w.set_alignment(48); }), "alignment 48 must be a power of two below 2^32");
  EXPECT_EQ(error_of([&] { w.set("general.alignment", Value::i32(-8)); }),
            "key general.alignment: 0 is not a nonzero power of two");
  // Nothing rejected was kept: the file has the one good tensor and no keys.
  fs::path path = test_dir() / "kept.gguf";
  w.write(path.string());
  File f = File::open(path.string());
  EXPECT_EQ(f.tensors().size(), 1u);
  EXPECT_TRUE(f.metadata().empty());
}
