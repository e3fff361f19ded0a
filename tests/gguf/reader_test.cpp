// The reader against hand-built byte images: every value type, nested arrays, tensors and
// alignment; then each hostile input, asserting the one-line error.
#include <gtest/gtest.h>

#include <cstring>

#include "gguf/gguf.h"
#include "gguf_bytes.h"
#include "seed_files.h"

using namespace kiln::gguf;
using kiln::gguf::test::GgufBytes;
using kiln::gguf::test::parse_error;
using kiln::gguf::test::every_type_file;

namespace {

constexpr uint32_t kF32 = 0, kQ8_0 = 8;

void expect_every_type_file(const File& f) {
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.get_str("general.architecture"), "llama");
  EXPECT_EQ(f.get("t.u8"), Value::u8(250));
  EXPECT_EQ(f.get("t.i8"), Value::i8(-5));
  EXPECT_EQ(f.get("t.u16"), Value::u16(65535));
  EXPECT_EQ(f.get("t.i16"), Value::i16(-300));
  EXPECT_EQ(f.get("t.u32"), Value::u32(4000000000u));
  EXPECT_EQ(f.get("t.i32"), Value::i32(-70000));
  EXPECT_EQ(f.get("t.f32"), Value::f32(1.5f));
  EXPECT_EQ(f.get("t.bool"), Value::boolean(true));
  EXPECT_EQ(f.get_u64("t.u64"), UINT64_MAX);
  EXPECT_EQ(f.get("t.i64").as_i64("t.i64"), INT64_MIN);
  EXPECT_EQ(f.get_f64("t.f64"), -0.25);
  EXPECT_EQ(f.get("tokenizer.ggml.tokens"),
            Value::strings({"a", "", std::string("c\0d", 3), "\xc3\xa9t\xc3\xa9"}));
  EXPECT_EQ(f.get("t.nested"),
            Value::array(ValueType::ARRAY, {Value::i32s({1, 2}), Value::i32s({3})}));
  EXPECT_EQ(f.get("t.empty"), Value::array(ValueType::U32, {}));
  ASSERT_EQ(f.tensors().size(), 2u);
  const Tensor* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, Type::F32);
  EXPECT_EQ(embd->shape_string(), "4x2");
  EXPECT_EQ(embd->elements(), 8);
  EXPECT_EQ(embd->rows(), 2);
  EXPECT_EQ(embd->bytes, 32u);
  EXPECT_EQ(embd->data, f.bytes().data() + f.data_offset());
  float second;
  std::memcpy(&second, embd->data + 4, 4);
  EXPECT_EQ(second, 1.5f);
  const Tensor* q = f.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, Type::Q8_0);
  EXPECT_EQ(q->offset, 64u);
  EXPECT_EQ(q->bytes, 68u);
  EXPECT_EQ(q->data[67], 67);
  EXPECT_EQ(f.find_tensor("missing"), nullptr);
}

std::string with_one_tensor(const std::vector<int64_t>& dims, uint32_t type, uint64_t offset,
                            size_t data_bytes) {
  GgufBytes b;
  b.header(3, 1, 0).tensor_info("w", dims, type, offset).pad_to(32).zeros(data_bytes);
  return parse_error(b.span());
}

}  // namespace

TEST(Reader, EveryValueTypeV3) {
  GgufBytes b = every_type_file(3);
  File f = File::parse(b.span(), "mem.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.path(), "mem.gguf");
  expect_every_type_file(f);
}

TEST(Reader, V2ReadsLikeV3) {
  GgufBytes b = every_type_file(2);
  File f = File::parse(b.span(), "mem.gguf");
  EXPECT_EQ(f.version(), 2u);
  expect_every_type_file(f);
}

TEST(Reader, DefaultAlignmentAndEmptyFile) {
  GgufBytes b;
  b.header(3, 1, 0).tensor_info("w", {8}, kF32, 0);
  uint64_t infos_end = b.bytes.size();
  b.pad_to(32).zeros(32);
  File f = File::parse(b.span(), "x");
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset(), (infos_end + 31) / 32 * 32);
  // No tensors, no metadata, no padding: a valid (empty) file.
  GgufBytes empty;
  empty.header(3, 0, 0);
  File e = File::parse(empty.span(), "x");
  EXPECT_TRUE(e.tensors().empty());
  EXPECT_TRUE(e.metadata().empty());
}

TEST(Reader, GettersNameFileAndKey) {
  GgufBytes b;
  b.header(3, 0, 2).kv_str("general.name", "tiny").kv_u32("n", 5);
  File f = File::parse(b.span(), "m.gguf");
  EXPECT_EQ(f.get_u64_or("absent", 9), 9u);
  EXPECT_EQ(f.get_str_or("absent", "fallback"), "fallback");
  EXPECT_EQ(f.get_f64_or("n", 0.0), 5.0);
  EXPECT_EQ(f.find("absent"), nullptr);
  try {
    f.get_u64("general.name");
    FAIL();
  } catch (const kiln::Error& e) {
    EXPECT_STREQ(e.what(), "m.gguf: key general.name: expected an unsigned integer, found string \"tiny\"");
  }
  try {
    f.get("llama.block_count");
    FAIL();
  } catch (const kiln::Error& e) {
    EXPECT_STREQ(e.what(), "m.gguf: missing key llama.block_count");
  }
}

TEST(Reader, OpenMapsAFileAndNamesItInErrors) {
  GgufBytes b = every_type_file(3);
  std::string path = testing::TempDir() + "reader_open_test.gguf";
  FILE* out = std::fopen(path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  std::fwrite(b.bytes.data(), 1, b.bytes.size(), out);
  std::fclose(out);
  File f = File::open(path);
  EXPECT_EQ(f.file_size(), b.bytes.size());
  expect_every_type_file(f);
  File moved = std::move(f);
  expect_every_type_file(moved);  // data pointers survive a move
  std::remove(path.c_str());
  try {
    File::open(path);
    FAIL();
  } catch (const kiln::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open: No such file or directory");
  }
  EXPECT_THROW(File::open(testing::TempDir()), kiln::Error);  // a directory
}

// ---- hostile input: each case asserts the message ----

TEST(ReaderRejects, BadMagicAndShortFiles) {
  GgufBytes b;
  b.bytes = {'G', 'G', 'M', 'L', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(parse_error(b.span()), "model.gguf: not a GGUF file (starts with 'GGML', expected 'GGUF')");
  b.bytes = {'G', 'G', 'U'};
  EXPECT_EQ(parse_error(b.span()), "model.gguf: not a GGUF file (3 bytes, too short for a header)");
  EXPECT_EQ(parse_error({}), "model.gguf: not a GGUF file (0 bytes, too short for a header)");
  b.bytes = {'\n', 0, 'U', 'F', 3, 0, 0, 0};
  EXPECT_EQ(parse_error(b.span()), "model.gguf: not a GGUF file (starts with '\\n\\x00UF', expected 'GGUF')");
}

TEST(ReaderRejects, Versions) {
  GgufBytes v1;
  v1.header(1, 0, 0);
  EXPECT_EQ(parse_error(v1.span()), "model.gguf: GGUF version 1 is not supported (kiln reads versions 2 and 3)");
  GgufBytes v4;
  v4.header(4, 0, 0);
  EXPECT_EQ(parse_error(v4.span()), "model.gguf: GGUF version 4 is not supported (kiln reads versions 2 and 3)");
  GgufBytes v0;
  v0.header(0, 0, 0);
  EXPECT_EQ(parse_error(v0.span()), "model.gguf: GGUF version 0 is not supported (kiln reads versions 2 and 3)");
  for (uint32_t big_endian_version : {0x02000000u, 0x03000000u}) {
    GgufBytes be;
    be.header(big_endian_version, 0, 0);
    EXPECT_EQ(parse_error(be.span()), "model.gguf: big-endian GGUF files are not supported");
  }
}

TEST(ReaderRejects, CountsLargerThanTheFile) {
  // Each of these would allocate 2^60 items if trusted: they must fail before allocating.
  const uint64_t huge = uint64_t{1} << 60;
  GgufBytes tensors;
  tensors.header(3, huge, 0);
  EXPECT_EQ(parse_error(tensors.span()),
            "model.gguf: tensor count 1152921504606846976 cannot fit in the 0 bytes left at byte 24 "
            "(each item takes at least 32 bytes)");
  GgufBytes kvs;
  kvs.header(3, 0, huge).zeros(100);
  EXPECT_EQ(parse_error(kvs.span()),
            "model.gguf: metadata count 1152921504606846976 cannot fit in the 100 bytes left at "
            "byte 24 (each item takes at least 13 bytes)");
  GgufBytes key_length;
  key_length.header(3, 0, 1).u64(huge).zeros(20);
  EXPECT_EQ(parse_error(key_length.span()),
            "model.gguf: key of metadata entry 0: string length 1152921504606846976 is larger "
            "than the 20 bytes left at byte 32");
  GgufBytes string_value;
  string_value.header(3, 0, 1).key("general.name", ValueType::STRING).u64(huge).zeros(4);
  EXPECT_EQ(parse_error(string_value.span()),
            "model.gguf: key general.name: string length 1152921504606846976 is larger than the 4 "
            "bytes left at byte 56");  // 24 header + 20 key + 4 type + 8 length
  GgufBytes u8_array;
  u8_array.header(3, 0, 1).key("a", ValueType::ARRAY).u32(0).u64(huge).zeros(3);
  EXPECT_EQ(parse_error(u8_array.span()),
            "model.gguf: key a: array of 1152921504606846976 u8 values cannot fit in the 3 bytes "
            "left at byte 49");
  GgufBytes string_array;
  string_array.header(3, 0, 1).key("tokens", ValueType::ARRAY).u32(8).u64(huge / 8 * 8).str("x");
  EXPECT_NE(parse_error(string_array.span()).find("key tokens: array of 1152921504606846976 string values cannot fit"),
            std::string::npos);
  GgufBytes nested;  // 1000 arrays claimed, each at least 12 bytes, in 100 bytes
  nested.header(3, 0, 1).key("n", ValueType::ARRAY).u32(9).u64(1000).zeros(100);
  EXPECT_NE(parse_error(nested.span()).find("key n: array of 1000 array values cannot fit in the 100 bytes"),
            std::string::npos);
  GgufBytes tensor_name;
  tensor_name.header(3, 1, 0).u64(huge).zeros(40);
  EXPECT_EQ(parse_error(tensor_name.span()),
            "model.gguf: name of tensor info 0: string length 1152921504606846976 is larger than "
            "the 40 bytes left at byte 32");
}

TEST(ReaderRejects, TruncatedFiles) {
  GgufBytes b;
  b.header(3, 0, 1).key("general.name", ValueType::U32).u8(1);
  EXPECT_EQ(parse_error(b.span()),
            "model.gguf: key general.name: needs 4 bytes at byte 48 but the file has 49 bytes");
  // Every prefix of a valid file either parses (only padding or unused bytes were cut) or fails
  // with a kiln::Error; prefixes that cut into a tensor's data always fail.
  GgufBytes full = every_type_file(3);
  for (size_t n = 0; n < full.bytes.size(); ++n) {
    std::span<const uint8_t> prefix(full.bytes.data(), n);
    std::string err = parse_error(prefix);
    ASSERT_FALSE(err.empty()) << "prefix of " << n << " bytes parsed";
    ASSERT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(ReaderRejects, BadValues) {
  GgufBytes type;
  type.header(3, 0, 1).str("k").u32(13).u32(0);
  EXPECT_EQ(parse_error(type.span()), "model.gguf: key k: unknown value type 13 at byte 33");
  GgufBytes elem_type;
  elem_type.header(3, 0, 1).key("k", ValueType::ARRAY).u32(77).u64(0);
  EXPECT_EQ(parse_error(elem_type.span()), "model.gguf: key k: unknown value type 77 at byte 37");
  GgufBytes boolean;
  boolean.header(3, 0, 1).key("flag", ValueType::BOOL).u8(2);
  EXPECT_EQ(parse_error(boolean.span()), "model.gguf: key flag: invalid bool byte 2 at byte 40 (must be 0 or 1)");
  GgufBytes bool_in_array;
  bool_in_array.header(3, 0, 1).key("flags", ValueType::ARRAY).u32(7).u64(3).u8(0).u8(1).u8(255);
  EXPECT_NE(parse_error(bool_in_array.span()).find("key flags: invalid bool byte 255"), std::string::npos);
  GgufBytes dup;
  dup.header(3, 0, 2).kv_u32("general.alignment", 32).kv_u32("general.alignment", 64);
  EXPECT_EQ(parse_error(dup.span()), "model.gguf: duplicate key general.alignment");
  // Names from the file are escaped: the message stays on one line.
  GgufBytes odd_key;
  odd_key.header(3, 0, 1).str("bad\nkey").u32(99);
  EXPECT_EQ(parse_error(odd_key.span()), "model.gguf: key bad\\nkey: unknown value type 99 at byte 39");
}

TEST(ReaderRejects, DeepNesting) {
  auto nested = [](int depth) {
    GgufBytes b;
    b.header(3, 0, 1).key("deep", ValueType::ARRAY);
    for (int i = 1; i < depth; ++i) b.u32(9).u64(1);  // an array holding one array ...
    b.u32(4).u64(1).u32(7);                          // ... holding one u32
    return b;
  };
  GgufBytes ok = nested(8);
  File f = File::parse(ok.span(), "x");
  const Value* v = &f.get("deep");
  for (int i = 1; i < 8; ++i) v = &v->as_array("deep")[0];
  EXPECT_EQ(v->as_array("deep")[0], Value::u32(7));
  GgufBytes too_deep = nested(9);
  EXPECT_EQ(parse_error(too_deep.span()), "model.gguf: key deep: arrays nested deeper than 8 levels");
}

TEST(ReaderRejects, BadAlignment) {
  for (uint32_t a : {0u, 48u, 3u}) {
    GgufBytes b;
    b.header(3, 0, 1).kv_u32("general.alignment", a);
    EXPECT_EQ(parse_error(b.span()),
              "model.gguf: general.alignment is " + std::to_string(a) + " (must be a nonzero power of two)");
  }
  GgufBytes negative;
  negative.header(3, 0, 1).key("general.alignment", ValueType::I32).put<int32_t>(-32);
  EXPECT_EQ(parse_error(negative.span()), "model.gguf: general.alignment is -32 (must be a nonzero power of two)");
  GgufBytes text;
  text.header(3, 0, 1).kv_str("general.alignment", "32");
  EXPECT_EQ(parse_error(text.span()), "model.gguf: general.alignment must be an integer, found string");
  // Any integer type is accepted (ggml writes u32).
  GgufBytes u64;
  u64.header(3, 0, 1).key("general.alignment", ValueType::U64).u64(4096);
  EXPECT_EQ(File::parse(u64.span(), "x").alignment(), 4096u);
}

TEST(ReaderRejects, BadDims) {
  EXPECT_EQ(with_one_tensor({1, 1, 1, 1, 1}, kF32, 0, 4), "model.gguf: tensor w has 5 dims (must be 1 to 4)");
  EXPECT_EQ(with_one_tensor({}, kF32, 0, 4), "model.gguf: tensor w has 0 dims (must be 1 to 4)");
  EXPECT_EQ(with_one_tensor({4, 0}, kF32, 0, 16), "model.gguf: tensor w dim 1 is 0 (dims must be positive)");
  EXPECT_EQ(with_one_tensor({-4}, kF32, 0, 16), "model.gguf: tensor w dim 0 is -4 (dims must be positive)");
  EXPECT_EQ(with_one_tensor({int64_t{1} << 32, int64_t{1} << 32}, kF32, 0, 16),
            "model.gguf: tensor w: element count overflows int64 (dim 1 is 4294967296)");
  // 2^62 F32 elements fit in int64 but their 2^64 bytes do not.
  EXPECT_EQ(with_one_tensor({int64_t{1} << 62}, kF32, 0, 16),
            "model.gguf: tensor w: data size overflows (4611686018427387904 of F32)");
}

TEST(ReaderRejects, BadTypes) {
  EXPECT_EQ(with_one_tensor({32}, 99, 0, 64), "model.gguf: tensor w has unknown type id 99");
  EXPECT_EQ(with_one_tensor({32}, 4, 0, 64), "model.gguf: tensor w has unknown type id 4");
  EXPECT_EQ(with_one_tensor({33, 2}, kQ8_0, 0, 200),
            "model.gguf: tensor w: row length 33 is not a multiple of Q8_0's block size 32");
  EXPECT_EQ(with_one_tensor({128}, 12, 0, 200),
            "model.gguf: tensor w: row length 128 is not a multiple of Q4_K's block size 256");
  // A known type kiln cannot convert on the CPU still loads (the GPU path may handle it).
  EXPECT_EQ(with_one_tensor({256}, 13, 0, 176), "");
}

TEST(ReaderRejects, TensorDataOutsideTheFile) {
  GgufBytes b;
  b.header(3, 1, 0).tensor_info("blk.3.attn_q.weight", {32, 4}, kF32, 0).pad_to(32);
  uint64_t data_offset = b.bytes.size();
  b.zeros(100);
  EXPECT_EQ(parse_error(b.span()), "model.gguf: tensor blk.3.attn_q.weight ends at byte " +
                                       std::to_string(data_offset + 512) + " but the file has " +
                                       std::to_string(data_offset + 100) + " bytes");
  EXPECT_EQ(with_one_tensor({8}, kF32, 16, 64), "model.gguf: tensor w offset 16 is not a multiple of the alignment 32");
  // An offset near 2^64 must not wrap around into the file.
  std::string wrap = with_one_tensor({8}, kF32, ~uint64_t{31}, 64);
  EXPECT_NE(wrap.find("model.gguf: tensor w at data offset 18446744073709551584 (32 bytes) ends past byte 2^64"),
            std::string::npos)
      << wrap;
  EXPECT_EQ(with_one_tensor({8}, kF32, 32, 64), "");  // exactly fits
}

TEST(ReaderRejects, OverlappingAndDuplicateTensors) {
  GgufBytes overlap;
  overlap.header(3, 2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {8}, kF32, 32).pad_to(32).zeros(128);
  EXPECT_EQ(parse_error(overlap.span()), "model.gguf: tensors a (data bytes 0..64) and b (data bytes 32..64) overlap");
  GgufBytes same_offset;
  same_offset.header(3, 2, 0).tensor_info("b", {8}, kF32, 64).tensor_info("a", {8}, kF32, 64).pad_to(32).zeros(128);
  EXPECT_NE(parse_error(same_offset.span()).find("overlap"), std::string::npos);
  GgufBytes dup;
  dup.header(3, 2, 0).tensor_info("w", {8}, kF32, 0).tensor_info("w", {8}, kF32, 32).pad_to(32).zeros(64);
  EXPECT_EQ(parse_error(dup.span()), "model.gguf: duplicate tensor name w");
  // Out of order but disjoint is fine.
  GgufBytes reordered;
  reordered.header(3, 2, 0).tensor_info("late", {8}, kF32, 32).tensor_info("early", {8}, kF32, 0).pad_to(32).zeros(64);
  EXPECT_EQ(parse_error(reordered.span()), "");
}

TEST(ReaderRejects, TooManyArrayElements) {
  // 2^24 + 1 one-byte elements: each is in the file, but together they exceed the limit.
  GgufBytes b;
  uint64_t count = (uint64_t{1} << 24) + 1;
  b.header(3, 0, 1).key("big", ValueType::ARRAY).u32(0).u64(count).zeros(count);
  EXPECT_EQ(parse_error(b.span()), "model.gguf: key big: metadata arrays hold more than 16777216 elements in total");
}
