#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "util/error.h"

namespace kiln::tokenizer::jinja {

Value::Value(Json json)
    : kind_(Kind::Data), root_(std::make_shared<const Json>(std::move(json))), at_(root_.get()) {}

Value Value::undefined(std::string name) {
  Value v;
  v.name_ = std::move(name);
  return v;
}

Value Value::view(std::shared_ptr<const Json> root, const Json* at) {
  Value v;
  v.kind_ = Kind::Data;
  v.root_ = std::move(root);
  v.at_ = at;
  return v;
}

Value Value::namespace_object(Attrs attrs) {
  Value v;
  v.kind_ = Kind::Namespace;
  v.attrs_ = std::make_shared<Attrs>(std::move(attrs));
  return v;
}

Value Value::macro(const Stmt* definition) {
  Value v;
  v.kind_ = Kind::Macro;
  v.macro_ = definition;
  return v;
}

Value Value::function(std::string name) {
  Value v;
  v.kind_ = Kind::Function;
  v.name_ = std::move(name);
  return v;
}

const Json& Value::json() const {
  if (kind_ != Kind::Data) throw TemplateError(cat("expected data, got ", type_name(*this)));
  return *at_;
}

Value Value::element(const Json& child) const { return view(root_, &child).add_tuple_levels(tuple_levels_ >> 1); }

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "undefined";
    case Value::Kind::Namespace: return "namespace";
    case Value::Kind::Macro: return "macro";
    case Value::Kind::Function: return "function";
    case Value::Kind::Data: break;
  }
  if (v.is_generator()) return "generator";
  if (v.is_markup()) return "Markup";
  switch (v.json().type()) {
    case Json::value_t::null: return "NoneType";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_float: return "float";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "int";
    case Json::value_t::string: return "str";
    case Json::value_t::array: return "list";
    case Json::value_t::object: return "dict";
    default: return "binary";
  }
}

bool truthy(const Value& v) {
  if (v.is_undefined()) return false;
  if (!v.is_data() || v.is_generator()) return true;
  const Json& j = v.json();
  if (j.is_null()) return false;
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number()) return j.get<double>() != 0.0;
  if (j.is_string()) return !j.get_ref<const std::string&>().empty();  // json::empty() is false for strings
  if (j.is_array() || j.is_object()) return !j.empty();
  return true;
}

// ---- UTF-8 -------------------------------------------------------------------------------

char32_t decode_utf8(const std::string& s, std::size_t i, std::size_t* len) {
  auto b = static_cast<unsigned char>(s[i]);
  int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return *len = 1, b;
  char32_t c = n == 1 ? b : b & (0x7f >> n);
  for (int k = 1; k < n; ++k) {
    auto cont = static_cast<unsigned char>(s[i + k]);
    if ((cont >> 6) != 2) return *len = 1, b;
    c = (c << 6) | (cont & 0x3f);
  }
  *len = n;
  return c;
}

std::vector<std::size_t> code_point_starts(const std::string& s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    starts.push_back(i);
    decode_utf8(s, i, &len);
  }
  starts.push_back(s.size());
  return starts;
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  bool whitespace = chars.is_undefined() || (chars.is_data() && chars.json().is_null());
  std::u32string set;
  if (!whitespace) {
    if (!chars.json().is_string()) throw TemplateError("strip arg must be None or str");
    const std::string& c = chars.json().get_ref<const std::string&>();
    for (std::size_t i = 0, len = 0; i < c.size(); i += len) set += decode_utf8(c, i, &len);
  }
  auto drop = [&](char32_t c) { return whitespace ? is_python_space(c) : set.find(c) != set.npos; };
  std::vector<std::size_t> starts = code_point_starts(s);
  std::size_t first = 0, last = starts.size() - 1;  // code point range [first, last)
  std::size_t len = 0;
  while (left && first < last && drop(decode_utf8(s, starts[first], &len))) ++first;
  while (right && last > first && drop(decode_utf8(s, starts[last - 1], &len))) --last;
  return s.substr(starts[first], starts[last] - starts[first]);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// ---- printing ----------------------------------------------------------------------------

std::string python_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // shortest round-trip digits, e.g. "-1.5e-07"
  std::size_t e = sci.find('e');
  int exp = std::stoi(sci.substr(e + 1));
  std::string out = sci[0] == '-' ? "-" : "", digits;
  for (char c : sci.substr(0, e))
    if (c >= '0' && c <= '9') digits += c;
  if (exp >= -4 && exp < 16) {  // Python's repr switches to exponent form outside this range
    if (exp < 0) return out + "0." + std::string(-exp - 1, '0') + digits;
    std::size_t int_len = exp + 1;
    if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
    return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  out += digits[0];
  if (digits.size() > 1) out.append(".").append(digits, 1);
  char tail[16];
  std::snprintf(tail, sizeof tail, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + tail;
}

static std::string repr_string(const std::string& s) {
  char quote = s.find('\'') != s.npos && s.find('"') == s.npos ? '"' : '\'';
  std::string out(1, quote);
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    char32_t c = decode_utf8(s, i, &len);
    char buf[16];
    if (c == '\\' || c == static_cast<char32_t>(quote)) out += '\\', out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c)), out += buf;
    else if ((c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) || (c >= 0x205f && c <= 0x2064) ||
             c == 0x1680 || c == 0x3000 || c == 0xfeff)  // spaces and format characters Python escapes
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c)), out += buf;
    else out.append(s, i, len);
  }
  return out + quote;
}

std::string python_repr(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "None";
    case Json::value_t::boolean: return j.get<bool>() ? "True" : "False";
    case Json::value_t::number_float: return python_float(j.get<double>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return j.dump();
    case Json::value_t::string: return repr_string(j.get_ref<const std::string&>());
    case Json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + python_repr(j[i]);
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "{";
      for (auto it = j.begin(); it != j.end(); ++it)
        out += (it == j.begin() ? "" : ", ") + repr_string(it.key()) + ": " + python_repr(it.value());
      return out + "}";
    }
    default: throw TemplateError("cannot print binary data");
  }
}

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "";
    case Value::Kind::Data:
      if (v.is_generator()) throw TemplateError("printing a generator (from select/reject/map) is not supported; add |list");
      if (v.json().is_string()) return v.json().get<std::string>();
      if (v.tuple_levels() && v.json().is_structured()) throw TemplateError("printing a Python tuple is not supported");
      return python_repr(v.json());
    default: throw TemplateError(cat("cannot print a ", type_name(v)));
  }
}

static void dump_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    char32_t c = decode_utf8(s, i, &len);
    char buf[16];
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7f && c < 0x10000)) {
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      out += buf;
    } else if (ensure_ascii && c >= 0x10000) {  // a UTF-16 surrogate pair, as Python writes it
      char32_t v = c - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", unsigned(0xd800 + (v >> 10)), unsigned(0xdc00 + (v & 0x3ff)));
      out += buf;
    } else {
      out.append(s, i, len);
    }
  }
  out += '"';
}

static void dump(const Json& j, const JsonStyle& style, int level, std::string& out) {
  auto newline = [&](int depth) {
    if (style.indent >= 0) out += '\n' + std::string(std::size_t(style.indent) * depth, ' ');
  };
  const std::string& item_sep =
      style.item_separator.empty() ? (style.indent >= 0 ? "," : ", ") : style.item_separator;
  switch (j.type()) {
    case Json::value_t::number_float: {
      double d = j.get<double>();
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : python_float(d);
      return;
    }
    case Json::value_t::string: return dump_string(j.get_ref<const std::string&>(), style.ensure_ascii, out);
    case Json::value_t::array:
      if (j.empty()) return void(out += "[]");
      out += '[';
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        dump(j[i], style, level + 1, out);
      }
      newline(level);
      out += ']';
      return;
    case Json::value_t::object: {
      if (j.empty()) return void(out += "{}");
      std::vector<std::pair<const std::string*, const Json*>> items;
      for (auto it = j.begin(); it != j.end(); ++it) items.emplace_back(&it.key(), &it.value());
      if (style.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
      out += '{';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        dump_string(*items[i].first, style.ensure_ascii, out);
        out += style.key_separator;
        dump(*items[i].second, style, level + 1, out);
      }
      newline(level);
      out += '}';
      return;
    }
    case Json::value_t::binary: throw TemplateError("cannot serialize binary data");
    default: out += j.dump();  // null, bool, integers: same text in JSON and Python
  }
}

std::string dump_json(const Json& j, const JsonStyle& style) {
  std::string out;
  dump(j, style, 0, out);
  return out;
}

// ---- comparing ---------------------------------------------------------------------------

static bool numeric(const Json& j) { return j.is_number() || j.is_boolean(); }
static bool integral(const Json& j) { return j.is_number_integer() || j.is_boolean(); }
static std::int64_t as_int(const Json& j) { return j.is_boolean() ? j.get<bool>() : j.get<std::int64_t>(); }
static double as_double(const Json& j) { return j.is_boolean() ? j.get<bool>() : j.get<double>(); }

static bool json_equals(const Json& a, const Json& b) {
  if (numeric(a) && numeric(b))
    return integral(a) && integral(b) ? as_int(a) == as_int(b) : as_double(a) == as_double(b);
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!json_equals(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {  // Python dicts compare without regard to order
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !json_equals(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool equals(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined: return true;
    case Value::Kind::Data: return !a.is_generator() && !b.is_generator() && json_equals(a.json(), b.json());
    case Value::Kind::Namespace: return &a.attrs() == &b.attrs();
    case Value::Kind::Macro: return a.macro() == b.macro();
    case Value::Kind::Function: return a.name() == b.name();
  }
  return false;
}

static int json_compare(const Json& a, const Json& b) {
  if (numeric(a) && numeric(b)) {
    if (integral(a) && integral(b)) return as_int(a) < as_int(b) ? -1 : as_int(a) > as_int(b);
    return as_double(a) < as_double(b) ? -1 : as_double(a) > as_double(b);
  }
  if (a.is_string() && b.is_string()) {  // byte order is code point order in UTF-8
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_array() && b.is_array()) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
      if (int c = json_compare(a[i], b[i])) return c;
    return a.size() < b.size() ? -1 : a.size() > b.size();
  }
  throw TemplateError("cannot order these values");
}

int compare(const Value& a, const Value& b) {
  try {
    return json_compare(a.json(), b.json());
  } catch (const TemplateError&) {
    throw TemplateError(cat("cannot compare ", type_name(a), " with ", type_name(b)));
  }
}

}  // namespace kiln::tokenizer::jinja
