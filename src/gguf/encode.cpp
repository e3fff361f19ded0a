#include "gguf/encode.h"

#include <bit>
#include <cstring>
#include <limits>

#include "gguf/format.h"
#include "gguf/text.h"
#include "util/error.h"

namespace kiln::gguf {
namespace {

template <class T>
void append(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <class T>
bool fits(uint64_t v) { return v <= std::numeric_limits<T>::max(); }
template <class T>
bool fits(int64_t v) { return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max(); }

void check_value(std::string_view key, const Value& v, int depth) {
  auto bad = [&](auto... parts) { fail("key ", escaped(key), ": ", parts...); };
  if (!format::is_valid_value_type(static_cast<uint32_t>(v.type))) {
    bad("unknown value type ", static_cast<uint32_t>(v.type));
  }
  const auto* u = std::get_if<uint64_t>(&v.data);
  const auto* i = std::get_if<int64_t>(&v.data);
  bool ok = true;
  switch (v.type) {
    case ValueType::U8: ok = u && fits<uint8_t>(*u); break;
    case ValueType::U16: ok = u && fits<uint16_t>(*u); break;
    case ValueType::U32: ok = u && fits<uint32_t>(*u); break;
    case ValueType::U64: ok = u != nullptr; break;
    case ValueType::I8: ok = i && fits<int8_t>(*i); break;
    case ValueType::I16: ok = i && fits<int16_t>(*i); break;
    case ValueType::I32: ok = i && fits<int32_t>(*i); break;
    case ValueType::I64: ok = i != nullptr; break;
    case ValueType::F32: case ValueType::F64: ok = std::holds_alternative<double>(v.data); break;
    case ValueType::BOOL: ok = std::holds_alternative<bool>(v.data); break;
    case ValueType::STRING: ok = std::holds_alternative<std::string>(v.data); break;
    case ValueType::ARRAY: {
      const auto* items = std::get_if<std::vector<Value>>(&v.data);
      if (!items) break;
      if (depth >= format::ReaderLimits::max_array_depth) {
        bad("arrays nested deeper than ", format::ReaderLimits::max_array_depth, " levels");
      }
      if (!format::is_valid_value_type(static_cast<uint32_t>(v.elem_type))) {
        bad("unknown array element type ", static_cast<uint32_t>(v.elem_type));
      }
      for (size_t n = 0; n < items->size(); ++n) {
        const Value& item = (*items)[n];
        if (item.type != v.elem_type) {
          bad("array item ", n, " is ", value_type_name(item.type), " in an array of ",
              value_type_name(v.elem_type));
        }
        check_value(key, item, depth + 1);
      }
      return;
    }
  }
  if (!ok) bad("the data does not hold a ", value_type_name(v.type), " value");
}

}  // namespace

void check_writable(std::string_view key, const Value& value) { check_value(key, value, 0); }

void encode_u32(std::string& out, uint32_t v) { append(out, v); }
void encode_u64(std::string& out, uint64_t v) { append(out, v); }

void encode_string(std::string& out, std::string_view s) {
  append<uint64_t>(out, s.size());
  out.append(s);
}

void encode_value(std::string& out, const Value& v) {
  switch (v.type) {
    case ValueType::U8: append(out, static_cast<uint8_t>(std::get<uint64_t>(v.data))); break;
    case ValueType::U16: append(out, static_cast<uint16_t>(std::get<uint64_t>(v.data))); break;
    case ValueType::U32: append(out, static_cast<uint32_t>(std::get<uint64_t>(v.data))); break;
    case ValueType::U64: append(out, std::get<uint64_t>(v.data)); break;
    case ValueType::I8: append(out, static_cast<int8_t>(std::get<int64_t>(v.data))); break;
    case ValueType::I16: append(out, static_cast<int16_t>(std::get<int64_t>(v.data))); break;
    case ValueType::I32: append(out, static_cast<int32_t>(std::get<int64_t>(v.data))); break;
    case ValueType::I64: append(out, std::get<int64_t>(v.data)); break;
    case ValueType::F32: append(out, static_cast<float>(std::get<double>(v.data))); break;
    case ValueType::F64: append(out, std::get<double>(v.data)); break;
    case ValueType::BOOL: append<uint8_t>(out, std::get<bool>(v.data) ? 1 : 0); break;
    case ValueType::STRING: encode_string(out, std::get<std::string>(v.data)); break;
    case ValueType::ARRAY: {
      const auto& items = std::get<std::vector<Value>>(v.data);
      append(out, static_cast<uint32_t>(v.elem_type));
      append<uint64_t>(out, items.size());
      for (const Value& item : items) encode_value(out, item);
      break;
    }
  }
}

}  // namespace kiln::gguf
