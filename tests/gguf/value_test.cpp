// gguf::Value: factories, range-checked accessors with errors naming the key, to_string.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/error_of.h"
#include "gguf/gguf.h"
#include "util/error.h"

using namespace kiln::gguf;

using kiln::test::error_of;

TEST(Value, IntegerAccessorsConvertWithRangeChecks) {
  EXPECT_EQ(Value::u32(7).as_u64("k"), 7u);
  EXPECT_EQ(Value::u32(7).as_i64("k"), 7);
  EXPECT_EQ(Value::i32(-3).as_i64("k"), -3);
  EXPECT_EQ(Value::i32(5).as_u64("k"), 5u);
  EXPECT_EQ(Value::u8(200).as_u64("k"), 200u);
  EXPECT_EQ(Value::i8(-100).as_f64("k"), -100.0);
  EXPECT_EQ(Value::u64(UINT64_MAX).as_u64("k"), UINT64_MAX);
  EXPECT_EQ(error_of([] { Value::i32(-3).as_u64("llama.block_count"); }),
            "key llama.block_count: value -3 is negative (expected an unsigned integer)");
  EXPECT_EQ(error_of([] { Value::u64(UINT64_MAX).as_i64("k"); }),
            "key k: value 18446744073709551615 does not fit in int64");
  EXPECT_EQ(error_of([] { Value::str("x").as_u64("general.alignment"); }),
            "key general.alignment: expected an unsigned integer, found string \"x\"");
  EXPECT_EQ(error_of([] { Value::f32(1.5f).as_i64("k"); }), "key k: expected an integer, found f32 1.5");
  EXPECT_TRUE(Value::u16(1).is_integer());
  EXPECT_FALSE(Value::boolean(true).is_integer());
  EXPECT_TRUE(Value::f64(1).is_float());
}

TEST(Value, OtherAccessors) {
  EXPECT_EQ(Value::f32(0.1f).as_f64("k"), static_cast<double>(0.1f));
  EXPECT_EQ(Value::f64(0.1).as_f64("k"), 0.1);
  EXPECT_TRUE(Value::boolean(true).as_bool("k"));
  EXPECT_EQ(Value::str(std::string("a\0b", 3)).as_str("k").size(), 3u);
  EXPECT_EQ(Value::strings({"a", "b"}).as_array("k").size(), 2u);
  EXPECT_EQ(Value::strings({"a", "b"}).elem_type, ValueType::STRING);
  EXPECT_EQ(error_of([] { Value::u8(1).as_bool("k"); }), "key k: expected a bool, found u8 1");
  EXPECT_EQ(error_of([] { Value::i32s({1}).as_str("tokenizer.ggml.model"); }),
            "key tokenizer.ggml.model: expected a string, found array");
  EXPECT_EQ(error_of([] { Value::str("s").as_array("k"); }), "key k: expected an array, found string \"s\"");
  EXPECT_EQ(error_of([] { Value::str("s").as_f64("k"); }), "key k: expected a number, found string \"s\"");
}

TEST(Value, Equality) {
  EXPECT_EQ(Value::u32(1), Value::u32(1));
  EXPECT_NE(Value::u32(1), Value::u64(1));  // same number, different file type
  EXPECT_NE(Value::f32s({1.0f}), Value::array(ValueType::F64, {Value::f64(1.0)}));
  EXPECT_EQ(Value::strings({"a"}), Value::strings({"a"}));
  EXPECT_NE(Value::strings({"a"}), Value::strings({"a", "b"}));
}

TEST(Value, ToString) {
  EXPECT_EQ(Value::u32(42).to_string(), "42");
  EXPECT_EQ(Value::i64(-42).to_string(), "-42");
  EXPECT_EQ(Value::f32(0.1f).to_string(), "0.1");  // shortest form of the float, not 0.100000001
  EXPECT_EQ(Value::f64(1e-6).to_string(), "1e-06");
  EXPECT_EQ(Value::boolean(false).to_string(), "false");
  EXPECT_EQ(Value::str("say \"hi\"\n").to_string(), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(Value::i32s({1, 2, 3}).to_string(), "[1, 2, 3]");
  EXPECT_EQ(Value::i32s({1, 2, 3, 4}).to_string(2), "[1, 2, ...] (4 items)");
  EXPECT_EQ(Value::array(ValueType::ARRAY, {Value::strings({"a"}), Value::strings({})}).to_string(),
            "[[\"a\"], []]");
  std::string long_text(500, 'x');
  std::string shown = Value::str(long_text).to_string();
  EXPECT_LT(shown.size(), 150u);
  EXPECT_NE(shown.find("(500 bytes)"), std::string::npos);
}

TEST(ValueType, Names) {
  EXPECT_STREQ(value_type_name(ValueType::U8), "u8");
  EXPECT_STREQ(value_type_name(ValueType::ARRAY), "array");
  EXPECT_STREQ(value_type_name(ValueType::F64), "f64");
  EXPECT_STREQ(value_type_name(static_cast<ValueType>(99)), "unknown");
}
