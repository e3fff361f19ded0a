#pragma once
// Small GGUF images, valid and broken, shared by the reader tests and the fuzz seed corpus
// (tests/gguf/data/corpus, written by CorpusSeeds.DISABLED_Regenerate in corpus_test.cpp).
// Names say what to expect: valid_* parse, bad_* are rejected with a kiln::Error.
#include <string>
#include <utility>
#include <vector>

#include "gguf_bytes.h"

namespace kiln::gguf::test {

// A v3 (or v2) image with one key of every type, nested arrays, alignment 64 and two tensors.
inline GgufBytes every_type_file(uint32_t version) {
  GgufBytes b;
  b.header(version, 2, 16);
  b.kv_str("general.architecture", "llama");
  b.key("t.u8", ValueType::U8).u8(250);
  b.key("t.i8", ValueType::I8).u8(0xfb);  // -5
  b.key("t.u16", ValueType::U16).put<uint16_t>(65535);
  b.key("t.i16", ValueType::I16).put<int16_t>(-300);
  b.kv_u32("t.u32", 4000000000u);
  b.key("t.i32", ValueType::I32).put<int32_t>(-70000);
  b.key("t.f32", ValueType::F32).put<float>(1.5f);
  b.key("t.bool", ValueType::BOOL).u8(1);
  b.key("t.u64", ValueType::U64).u64(UINT64_MAX);
  b.key("t.i64", ValueType::I64).i64(INT64_MIN);
  b.key("t.f64", ValueType::F64).put<double>(-0.25);
  // Strings with an empty one and an embedded NUL; UTF-8 passes through untouched.
  b.key("tokenizer.ggml.tokens", ValueType::ARRAY).u32(8).u64(4).str("a").str("").str(std::string("c\0d", 3)).str("\xc3\xa9t\xc3\xa9");
  // [[1, 2], [3]] of i32
  b.key("t.nested", ValueType::ARRAY).u32(9).u64(2);
  b.u32(5).u64(2).put<int32_t>(1).put<int32_t>(2);
  b.u32(5).u64(1).put<int32_t>(3);
  b.key("t.empty", ValueType::ARRAY).u32(4).u64(0);
  b.kv_u32("general.alignment", 64);
  b.tensor_info("token_embd.weight", {4, 2}, 0u, 0);
  b.tensor_info("blk.0.attn_q.weight", {32, 2}, 8u, 64);
  b.pad_to(64);
  for (int i = 0; i < 8; ++i) b.put<float>(static_cast<float>(i) + 0.5f);
  b.pad_to(64);
  for (int i = 0; i < 68; ++i) b.u8(static_cast<uint8_t>(i));
  return b;
}

struct SeedFile {
  std::string name;
  std::vector<uint8_t> bytes;
};

inline std::vector<SeedFile> seed_files() {
  std::vector<SeedFile> seeds;
  auto add = [&](std::string name, const GgufBytes& b) { seeds.push_back({std::move(name), b.bytes}); };
  constexpr uint32_t f32 = 0, q8_0 = 8, q4_k = 12, mxfp4 = 39;
  const uint64_t huge = uint64_t{1} << 60;

  add("valid_every_type_v3", every_type_file(3));
  add("valid_every_type_v2", every_type_file(2));
  add("valid_empty", GgufBytes().header(3, 0, 0));
  {
    GgufBytes b;
    b.header(3, 3, 1).kv_u32("general.alignment", 16);
    b.tensor_info("q", {32, 2}, q8_0, 0).tensor_info("k", {256}, q4_k, 80).tensor_info("m", {64}, mxfp4, 224);
    b.pad_to(16);
    for (int i = 0; i < 224 + 34; ++i) b.u8(static_cast<uint8_t>(i * 7));
    b.pad_to(16);
    add("valid_quant_tensors", b);
  }
  {
    GgufBytes b;
    b.header(3, 0, 1).key("deep", ValueType::ARRAY);
    for (int i = 1; i < 8; ++i) b.u32(9).u64(1);
    b.u32(8).u64(2).str("x").str("");
    add("valid_nested_8_levels", b);
  }
  GgufBytes magic;
  magic.bytes = {'G', 'G', 'M', 'L', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  add("bad_magic", magic);
  add("bad_version_1", GgufBytes().header(1, 0, 0));
  add("bad_big_endian", GgufBytes().header(0x03000000, 0, 0));
  add("bad_huge_tensor_count", GgufBytes().header(3, huge, 0));
  add("bad_huge_kv_count", GgufBytes().header(3, 0, huge).zeros(64));
  add("bad_huge_string", GgufBytes().header(3, 0, 1).key("general.name", ValueType::STRING).u64(huge).zeros(8));
  add("bad_huge_array", GgufBytes().header(3, 0, 1).key("a", ValueType::ARRAY).u32(8).u64(huge).str("x"));
  add("bad_value_type", GgufBytes().header(3, 0, 1).str("k").u32(13).u32(0));
  add("bad_bool", GgufBytes().header(3, 0, 1).key("b", ValueType::BOOL).u8(2));
  {
    GgufBytes b;
    b.header(3, 0, 1).key("deep", ValueType::ARRAY);
    for (int i = 1; i < 9; ++i) b.u32(9).u64(1);
    b.u32(4).u64(1).u32(7);
    add("bad_nested_9_levels", b);
  }
  add("bad_duplicate_key", GgufBytes().header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2));
  add("bad_alignment", GgufBytes().header(3, 0, 1).kv_u32("general.alignment", 48));
  auto one_tensor = [](const std::vector<int64_t>& dims, uint32_t type, uint64_t offset, size_t data) {
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("blk.0.w", dims, type, offset).pad_to(32).zeros(data);
    return b;
  };
  add("bad_five_dims", one_tensor({1, 1, 1, 1, 1}, f32, 0, 4));
  add("bad_zero_dim", one_tensor({4, 0}, f32, 0, 16));
  add("bad_negative_dim", one_tensor({-4}, f32, 0, 16));
  add("bad_dim_overflow", one_tensor({int64_t{1} << 32, int64_t{1} << 32}, f32, 0, 16));
  add("bad_tensor_type", one_tensor({32}, 99, 0, 128));
  add("bad_row_not_block_multiple", one_tensor({33}, q8_0, 0, 128));
  add("bad_misaligned_offset", one_tensor({8}, f32, 16, 64));
  add("bad_past_end", one_tensor({32, 4}, f32, 0, 100));
  add("bad_offset_wraps", one_tensor({8}, f32, ~uint64_t{31}, 64));
  add("bad_overlap", GgufBytes().header(3, 2, 0).tensor_info("a", {16}, f32, 0).tensor_info("b", {8}, f32, 32).pad_to(32).zeros(128));
  add("bad_duplicate_tensor", GgufBytes().header(3, 2, 0).tensor_info("w", {8}, f32, 0).tensor_info("w", {8}, f32, 32).pad_to(32).zeros(64));
  GgufBytes cut = every_type_file(3);
  cut.bytes.resize(cut.bytes.size() / 2);
  add("bad_truncated", cut);
  return seeds;
}

}  // namespace kiln::gguf::test
