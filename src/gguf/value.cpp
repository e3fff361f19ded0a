// gguf::Value: factories, checked accessors and the one-line rendering used by `kiln info`.
#include <charconv>
#include <limits>

#include "gguf/gguf.h"
#include "gguf/text.h"
#include "util/error.h"

namespace kiln::gguf {
namespace {

constexpr size_t kMaxShownStringBytes = 120;

bool is_unsigned_type(ValueType t) {
  return t == ValueType::U8 || t == ValueType::U16 || t == ValueType::U32 || t == ValueType::U64;
}
bool is_signed_type(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

template <class T>
std::string shortest(T v) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, result.ptr);
}

Value scalar(ValueType type, std::variant<uint64_t, int64_t, double, bool, std::string,
                                          std::vector<Value>> data) {
  Value v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

[[noreturn]] void mismatch(std::string_view key, const char* expected, const Value& v) {
  fail("key ", escaped(key), ": expected ", expected, ", found ", value_type_name(v.type),
       v.type == ValueType::ARRAY ? "" : " ", v.type == ValueType::ARRAY ? "" : v.to_string());
}

}  // namespace

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::U8: return "u8";
    case ValueType::I8: return "i8";
    case ValueType::U16: return "u16";
    case ValueType::I16: return "i16";
    case ValueType::U32: return "u32";
    case ValueType::I32: return "i32";
    case ValueType::F32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::U64: return "u64";
    case ValueType::I64: return "i64";
    case ValueType::F64: return "f64";
  }
  return "unknown";
}

Value Value::u8(uint8_t v) { return scalar(ValueType::U8, uint64_t{v}); }
Value Value::i8(int8_t v) { return scalar(ValueType::I8, int64_t{v}); }
Value Value::u16(uint16_t v) { return scalar(ValueType::U16, uint64_t{v}); }
Value Value::i16(int16_t v) { return scalar(ValueType::I16, int64_t{v}); }
Value Value::u32(uint32_t v) { return scalar(ValueType::U32, uint64_t{v}); }
Value Value::i32(int32_t v) { return scalar(ValueType::I32, int64_t{v}); }
Value Value::u64(uint64_t v) { return scalar(ValueType::U64, uint64_t{v}); }
Value Value::i64(int64_t v) { return scalar(ValueType::I64, int64_t{v}); }
Value Value::f32(float v) { return scalar(ValueType::F32, double{v}); }
Value Value::f64(double v) { return scalar(ValueType::F64, double{v}); }
Value Value::boolean(bool v) { return scalar(ValueType::BOOL, v); }
Value Value::str(std::string v) { return scalar(ValueType::STRING, std::move(v)); }

Value Value::array(ValueType elem_type, std::vector<Value> items) {
  Value v = scalar(ValueType::ARRAY, std::move(items));
  v.elem_type = elem_type;
  return v;
}

Value Value::strings(const std::vector<std::string>& items) {
  std::vector<Value> values;
  values.reserve(items.size());
  for (const std::string& s : items) values.push_back(str(s));
  return array(ValueType::STRING, std::move(values));
}

Value Value::f32s(const std::vector<float>& items) {
  std::vector<Value> values;
  values.reserve(items.size());
  for (float f : items) values.push_back(f32(f));
  return array(ValueType::F32, std::move(values));
}

Value Value::i32s(const std::vector<int32_t>& items) {
  std::vector<Value> values;
  values.reserve(items.size());
  for (int32_t i : items) values.push_back(i32(i));
  return array(ValueType::I32, std::move(values));
}

bool Value::is_integer() const { return is_unsigned_type(type) || is_signed_type(type); }
bool Value::is_float() const { return type == ValueType::F32 || type == ValueType::F64; }

uint64_t Value::as_u64(std::string_view key) const {
  if (const auto* u = std::get_if<uint64_t>(&data); u && is_unsigned_type(type)) return *u;
  if (const auto* i = std::get_if<int64_t>(&data); i && is_signed_type(type)) {
    KILN_CHECK(*i >= 0, "key ", escaped(key), ": value ", *i,
               " is negative (expected an unsigned integer)");
    return static_cast<uint64_t>(*i);
  }
  mismatch(key, "an unsigned integer", *this);
}

int64_t Value::as_i64(std::string_view key) const {
  if (const auto* i = std::get_if<int64_t>(&data); i && is_signed_type(type)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&data); u && is_unsigned_type(type)) {
    KILN_CHECK(*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "key ",
               escaped(key), ": value ", *u, " does not fit in int64");
    return static_cast<int64_t>(*u);
  }
  mismatch(key, "an integer", *this);
}

double Value::as_f64(std::string_view key) const {
  if (const auto* d = std::get_if<double>(&data); d && is_float()) return *d;
  if (const auto* u = std::get_if<uint64_t>(&data); u && is_unsigned_type(type)) {
    return static_cast<double>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&data); i && is_signed_type(type)) {
    return static_cast<double>(*i);
  }
  mismatch(key, "a number", *this);
}

bool Value::as_bool(std::string_view key) const {
  if (const auto* b = std::get_if<bool>(&data); b && type == ValueType::BOOL) return *b;
  mismatch(key, "a bool", *this);
}

const std::string& Value::as_str(std::string_view key) const {
  if (const auto* s = std::get_if<std::string>(&data); s && type == ValueType::STRING) return *s;
  mismatch(key, "a string", *this);
}

const std::vector<Value>& Value::as_array(std::string_view key) const {
  if (const auto* a = std::get_if<std::vector<Value>>(&data); a && type == ValueType::ARRAY) {
    return *a;
  }
  mismatch(key, "an array", *this);
}

bool Value::operator==(const Value& other) const {
  if (type != other.type) return false;
  if (type == ValueType::ARRAY && elem_type != other.elem_type) return false;
  return data == other.data;
}

std::string Value::to_string(size_t max_items) const {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint64_t> || std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return type == ValueType::F32 ? shortest(static_cast<float>(v)) : shortest(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          std::string out = "\"";
          for (char c : escaped(v, kMaxShownStringBytes)) {
            if (c == '"') out += '\\';
            out += c;
          }
          out += '"';
          if (v.size() > kMaxShownStringBytes) out += cat(" (", v.size(), " bytes)");
          return out;
        } else {
          std::string out = "[";
          for (size_t i = 0; i < v.size() && i < max_items; ++i) {
            if (i > 0) out += ", ";
            out += v[i].to_string(max_items);
          }
          if (v.size() > max_items) out += max_items > 0 ? ", ..." : "...";
          out += "]";
          if (v.size() > max_items) out += cat(" (", v.size(), " items)");
          return out;
        }
      },
      data);
}

}  // namespace kiln::gguf
