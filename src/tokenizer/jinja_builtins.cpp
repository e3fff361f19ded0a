#include "tokenizer/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "util/error.h"

namespace kiln::tokenizer::jinja {
namespace {

using Params = std::initializer_list<std::string_view>;

bool given(const Value& v) { return !v.is_undefined(); }
bool is_none(const Value& v) { return v.is_data() && v.json().is_null(); }
bool is_string(const Value& v) { return v.is_data() && v.json().is_string(); }
bool is_int(const Value& v) { return v.is_data() && v.json().is_number_integer(); }
const std::string& str_ref(const Value& v) { return v.json().get_ref<const std::string&>(); }
std::int64_t to_int(const Value& v, const char* what) {
  if (!is_int(v)) throw TemplateError(cat(what, " must be an integer, got ", type_name(v)));
  return v.json().get<std::int64_t>();
}
std::string need_string(const Value& v, const char* what) {
  if (!is_string(v)) throw TemplateError(cat(what, " must be a string, got ", type_name(v)));
  return str_ref(v);
}

// Binds Python-style positional and keyword arguments to named parameters; unset ones stay
// undefined.
std::vector<Value> bind_args(const std::string& what, const Args& args, Params params) {
  std::vector<Value> out(params.size());
  if (args.positional.size() > params.size())
    throw TemplateError(cat(what, " takes at most ", params.size(), " arguments, got ", args.positional.size()));
  std::copy(args.positional.begin(), args.positional.end(), out.begin());
  for (const auto& [key, value] : args.keyword) {
    auto it = std::find(params.begin(), params.end(), key);
    if (it == params.end()) throw TemplateError(cat(what, " got an unexpected keyword argument '", key, "'"));
    out[it - params.begin()] = value;
  }
  return out;
}

// ---- strings ----

// Case mapping is ASCII only; non-ASCII text is refused rather than mapped differently from Python.
std::string ascii_map(std::string s, int (*f)(int)) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) throw TemplateError("changing the case of non-ASCII text is not supported");
    c = static_cast<char>(f(c));
  }
  return s;
}
std::string upper(const std::string& s) { return ascii_map(s, [](int c) { return std::toupper(c); }); }
std::string lower(const std::string& s) { return ascii_map(s, [](int c) { return std::tolower(c); }); }
std::string capitalize(const std::string& s) { return s.empty() ? s : upper(s.substr(0, 1)) + lower(s.substr(1)); }
// str.title(): a letter after a non-letter starts a word.
std::string title(const std::string& s) {
  std::string out = lower(s);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (std::isalpha(static_cast<unsigned char>(out[i])) && (i == 0 || !std::isalpha(static_cast<unsigned char>(out[i - 1]))))
      out[i] = static_cast<char>(std::toupper(out[i]));
  return out;
}
// Jinja's |title: words start after spaces, '-', '(', '{', '[' or '<'; the rest is lowercased.
std::string title_filter(const std::string& s) {
  std::string out = lower(s);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (i == 0 || std::string_view(" \t\n\r\v\f-({[<").find(out[i - 1]) != std::string_view::npos)
      out[i] = static_cast<char>(std::toupper(out[i]));
  return out;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, std::int64_t count) {
  std::string out;
  std::size_t pos = 0;
  if (from.empty()) {  // Python inserts `to` around every code point
    std::vector<std::size_t> starts = code_point_starts(s);
    for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
      if (count < 0 || std::int64_t(i) < count) out += to;
      out.append(s, starts[i], starts[i + 1] - starts[i]);
    }
    if (count < 0 || std::int64_t(starts.size() - 1) < count) out += to;
    return out;
  }
  for (std::int64_t n = 0; count < 0 || n < count; ++n) {
    std::size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos).append(to);
    pos = hit + from.size();
  }
  return out.append(s, pos);
}

Json split(const std::string& s, const Value& sep, std::int64_t maxsplit) {
  Json parts = Json::array();
  if (!given(sep) || is_none(sep)) {  // runs of whitespace, no empty parts
    std::size_t i = 0;
    auto space = [&](std::size_t k) { return is_python_space(static_cast<unsigned char>(s[k])); };
    while (true) {
      while (i < s.size() && space(i)) ++i;
      if (i == s.size()) break;
      if (maxsplit >= 0 && std::int64_t(parts.size()) == maxsplit) {
        std::string rest = s.substr(i);
        while (!rest.empty() && is_python_space(static_cast<unsigned char>(rest.back()))) rest.pop_back();
        parts.push_back(rest);
        break;
      }
      std::size_t j = i;
      while (j < s.size() && !space(j)) ++j;
      parts.push_back(s.substr(i, j - i));
      i = j;
    }
    return parts;
  }
  std::string delim = need_string(sep, "split separator");
  if (delim.empty()) throw TemplateError("empty separator in split");
  std::size_t pos = 0;
  for (std::size_t hit; (maxsplit < 0 || std::int64_t(parts.size()) < maxsplit) &&
                        (hit = s.find(delim, pos)) != std::string::npos;
       pos = hit + delim.size())
    parts.push_back(s.substr(pos, hit - pos));
  parts.push_back(s.substr(pos));
  return parts;
}

std::int64_t length(const Value& v) {
  if (v.is_undefined()) return 0;
  if (v.is_generator()) throw TemplateError("object of type 'generator' has no len(); add |list first");
  if (is_string(v)) return std::int64_t(code_point_starts(str_ref(v)).size()) - 1;
  if (v.is_data() && (v.json().is_array() || v.json().is_object())) return std::int64_t(v.json().size());
  throw TemplateError(cat("object of type '", type_name(v), "' has no len()"));
}

Value to_list(const Value& v) {
  Json list = Json::array();
  for (const Value& item : iterate(v)) list.push_back(item.json());
  return Value(std::move(list)).add_tuple_levels(v.tuple_levels() & ~1u);
}

// "a.b.0" style attribute paths, as selectattr/map(attribute=...) take them.
Value attr_path(const Value& item, const std::string& path) {
  Value v = item;
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t dot = std::min(path.find('.', start), path.size());
    std::string part = path.substr(start, dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = numeric ? get_item(v, Value(Json(std::stoll(part)))) : get_item(v, Value(Json(part)));
    start = dot + 1;
  }
  return v;
}

// select/reject/selectattr/rejectattr: args are (test name, test args...), or none for truthiness.
Value select(const Value& seq, const Args& args, std::size_t test_at, bool keep, bool by_attr) {
  if (by_attr && (args.positional.empty() || !is_string(args.positional[0])))
    throw TemplateError("selectattr/rejectattr need an attribute name");
  Json out = Json::array();
  for (const Value& item : truthy(seq) ? iterate(seq) : std::vector<Value>{}) {  // Jinja skips falsy input
    Value subject = by_attr ? attr_path(item, str_ref(args.positional[0])) : item;
    bool pass;
    if (args.positional.size() > test_at) {
      std::string test = need_string(args.positional[test_at], "test name");
      if (!is_test(test)) throw TemplateError(cat("unknown test '", test, "'"));
      Args test_args{{args.positional.begin() + test_at + 1, args.positional.end()}, {}};
      pass = apply_test(test, subject, test_args);
    } else {
      pass = truthy(subject);
    }
    if (pass == keep) out.push_back(item.json());
  }
  return Value(std::move(out)).add_tuple_levels(seq.tuple_levels() & ~1u).as_generator();
}

Value map_filter(const Value& seq, const Args& args) {
  Json out = Json::array();
  std::uint32_t levels = 0;
  auto attribute = std::find_if(args.keyword.begin(), args.keyword.end(), [](auto& kw) { return kw.first == "attribute"; });
  for (const Value& item : truthy(seq) ? iterate(seq) : std::vector<Value>{}) {  // Jinja skips falsy input
    Value result;
    if (attribute != args.keyword.end()) {
      result = attr_path(item, need_string(attribute->second, "map attribute"));
      for (const auto& [key, value] : args.keyword)
        if (key == "default" && result.is_undefined()) result = value;
    } else {
      if (args.positional.empty()) throw TemplateError("map needs a filter name or attribute=");
      std::string filter = need_string(args.positional[0], "map filter name");
      if (!is_filter(filter)) throw TemplateError(cat("unknown filter '", filter, "'"));
      result = apply_filter(filter, item, Args{{args.positional.begin() + 1, args.positional.end()}, args.keyword});
    }
    if (!result.is_data() || result.is_generator() || result.is_markup())
      throw TemplateError(cat("map produced a ", type_name(result), ", which this value model cannot hold in a list"));
    out.push_back(result.json());
    levels |= result.tuple_levels() << 1;
  }
  return Value(std::move(out)).add_tuple_levels(levels).as_generator();
}

// Jinja's sort/unique key: strings compare lowercased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && is_string(v) ? Value(Json(lower(str_ref(v)))) : v;
}

Value dictsort(const Value& v, const Args& args) {
  auto p = bind_args("dictsort", args, {"case_sensitive", "by", "reverse"});
  if (!v.is_data() || !v.json().is_object()) throw TemplateError(cat("dictsort needs a dict, got ", type_name(v)));
  bool by_value = given(p[1]) && to_str(p[1]) == "value", reverse = given(p[2]) && truthy(p[2]);
  std::vector<std::pair<Value, Value>> items;  // (key, value)
  for (auto it = v.json().begin(); it != v.json().end(); ++it) items.emplace_back(Value(Json(it.key())), v.element(*it));
  auto key = [&](const std::pair<Value, Value>& kv) { return sort_key(by_value ? kv.second : kv.first, truthy(p[0])); };
  std::stable_sort(items.begin(), items.end(), [&](auto& a, auto& b) { return compare(key(a), key(b)) * (reverse ? -1 : 1) < 0; });
  Json out = Json::array();
  for (const auto& [k, value] : items) out.push_back(Json::array({k.json(), value.json()}));
  return Value(std::move(out)).add_tuple_levels(2);
}

Value unique(const Value& v, const Args& args) {
  auto p = bind_args("unique", args, {"case_sensitive", "attribute"});
  std::vector<Value> seen;
  Json out = Json::array();
  for (const Value& item : iterate(v)) {
    Value key = sort_key(given(p[1]) ? attr_path(item, to_str(p[1])) : item, truthy(p[0]));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) continue;
    seen.push_back(key);
    out.push_back(item.json());
  }
  return Value(std::move(out)).add_tuple_levels(v.tuple_levels() & ~1u).as_generator();
}

Value tojson(const Value& v, const Args& args) {
  auto p = bind_args("tojson", args, {"indent", "ensure_ascii", "separators", "sort_keys"});
  if (!v.is_data() || v.is_generator()) throw TemplateError(cat("Object of type ", type_name(v), " is not JSON serializable"));
  JsonStyle style;
  if (given(p[0]) && !is_none(p[0])) style.indent = int(to_int(p[0], "tojson indent"));
  style.ensure_ascii = given(p[1]) && truthy(p[1]);
  if (given(p[2]) && !is_none(p[2])) {
    const Json& sep = p[2].json();
    if (!sep.is_array() || sep.size() != 2 || !sep[0].is_string() || !sep[1].is_string())
      throw TemplateError("tojson separators must be a pair of strings");
    style.item_separator = sep[0].get<std::string>();
    style.key_separator = sep[1].get<std::string>();
  }
  style.sort_keys = given(p[3]) && truthy(p[3]);
  return Value(Json(dump_json(v.json(), style)));
}

Value to_number(const Value& v, const Args& args, bool integer) {
  auto p = bind_args(integer ? "int" : "float", args, integer ? Params{"default", "base"} : Params{"default"});
  Value fallback = given(p[0]) ? p[0] : Value(integer ? Json(0) : Json(0.0));
  std::int64_t base = integer && given(p[1]) ? to_int(p[1], "int base") : 10;
  if (!v.is_data()) return fallback;
  const Json& j = v.json();
  if (j.is_boolean() || j.is_number())
    return integer ? Value(Json(j.is_boolean() ? std::int64_t(j.get<bool>()) : std::int64_t(j.get<double>())))
                   : Value(Json(j.get<double>()));
  if (!j.is_string()) return fallback;
  std::string s = strip(j.get<std::string>(), Value(), true, true);
  if (s.empty()) return fallback;
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  if (integer) {
    std::int64_t n = std::strtoll(begin, &end, int(base));
    if (end == begin + s.size() && errno == 0) return Value(Json(n));
  }
  double d = std::strtod(begin, &end);  // int("1.5") falls back to int(float("1.5")) like Jinja
  if (end != begin + s.size() || errno != 0 || !std::isfinite(d)) return fallback;
  return integer ? Value(Json(std::int64_t(d))) : Value(Json(d));
}

Value default_filter(const Value& v, const Args& args) {
  auto p = bind_args("default", args, {"default_value", "boolean"});
  bool use_default = v.is_undefined() || (given(p[1]) && truthy(p[1]) && !truthy(v));
  return use_default ? (given(p[0]) ? p[0] : Value(Json(""))) : v;
}

Value escape_filter(const Value& v, const Args& args) {
  bind_args("escape", args, {});
  return v.is_markup() ? v : Value(Json(html_escape(to_str(v)))).as_markup();  // never escapes twice
}

using Filter = std::function<Value(const Value&, const Args&)>;

// A str filter; `keeps_markup`: markupsafe's Markup returns Markup from this method.
Value string_filter(const Value& v, const Args& args, const char* name, std::string (*f)(const std::string&),
                    bool keeps_markup) {
  bind_args(name, args, {});
  return Value(Json(f(to_str(v)))).as_markup(keeps_markup && v.is_markup());
}

const std::map<std::string, Filter, std::less<>>& filters() {
  static const std::map<std::string, Filter, std::less<>> table = {
      {"trim", [](const Value& v, const Args& a) {
         auto p = bind_args("trim", a, {"chars"});
         if (v.is_markup() && given(p[0])) throw TemplateError("trim(chars) on |safe text is not supported");
         return Value(Json(strip(to_str(v), p[0], true, true))).as_markup(v.is_markup());
       }},
      {"length", [](const Value& v, const Args& a) { return bind_args("length", a, {}), Value(Json(length(v))); }},
      {"count", [](const Value& v, const Args& a) { return bind_args("count", a, {}), Value(Json(length(v))); }},
      {"upper", [](const Value& v, const Args& a) { return string_filter(v, a, "upper", upper, true); }},
      {"lower", [](const Value& v, const Args& a) { return string_filter(v, a, "lower", lower, true); }},
      {"capitalize", [](const Value& v, const Args& a) { return string_filter(v, a, "capitalize", capitalize, true); }},
      {"title", [](const Value& v, const Args& a) { return string_filter(v, a, "title", title_filter, false); }},
      {"escape", escape_filter},
      {"e", escape_filter},
      {"string", [](const Value& v, const Args& a) {
         return string_filter(v, a, "string", [](const std::string& s) { return s; }, true);
       }},
      {"safe", [](const Value& v, const Args& a) {
         bind_args("safe", a, {});
         return Value(Json(to_str(v))).as_markup();
       }},
      {"tojson", tojson},
      {"int", [](const Value& v, const Args& a) { return to_number(v, a, true); }},
      {"float", [](const Value& v, const Args& a) { return to_number(v, a, false); }},
      {"items", [](const Value& v, const Args& a) {
         bind_args("items", a, {});
         if (v.is_undefined()) return Value(Json::array());
         return call_method(v, "items", Args{});
       }},
      {"list", [](const Value& v, const Args& a) { return bind_args("list", a, {}), to_list(v); }},
      {"first", [](const Value& v, const Args& a) {
         bind_args("first", a, {});
         std::vector<Value> items = iterate(v);
         return items.empty() ? Value::undefined("first item") : items.front();
       }},
      {"last", [](const Value& v, const Args& a) {
         bind_args("last", a, {});
         if (v.is_generator()) throw TemplateError("last of a generator: add |list first");
         std::vector<Value> items = iterate(v);
         return items.empty() ? Value::undefined("last item") : items.back();
       }},
      {"default", default_filter},
      {"d", default_filter},
      {"join", [](const Value& v, const Args& a) {
         auto p = bind_args("join", a, {"d", "attribute"});
         std::string sep = given(p[0]) ? to_str(p[0]) : "", out;
         bool first = true;
         for (const Value& item : iterate(v)) {
           out += (first ? "" : sep) + to_str(given(p[1]) ? attr_path(item, to_str(p[1])) : item);
           first = false;
         }
         return Value(Json(out));
       }},
      {"replace", [](const Value& v, const Args& a) {
         auto p = bind_args("replace", a, {"old", "new", "count"});
         std::int64_t count = given(p[2]) && !is_none(p[2]) ? to_int(p[2], "replace count") : -1;
         return Value(Json(replace(to_str(v), to_str(p[0]), to_str(p[1]), count)));
       }},
      {"select", [](const Value& v, const Args& a) { return select(v, a, 0, true, false); }},
      {"reject", [](const Value& v, const Args& a) { return select(v, a, 0, false, false); }},
      {"selectattr", [](const Value& v, const Args& a) { return select(v, a, 1, true, true); }},
      {"rejectattr", [](const Value& v, const Args& a) { return select(v, a, 1, false, true); }},
      {"map", map_filter},
      {"dictsort", dictsort},
      {"unique", unique},
  };
  return table;
}

using Test = std::function<bool(const Value&, const std::vector<Value>&)>;

const Value& arg(const std::vector<Value>& args, std::size_t i, const char* test) {
  if (i >= args.size()) throw TemplateError(cat("test '", test, "' needs an argument"));
  return args[i];
}

const std::map<std::string, Test, std::less<>>& tests() {
  auto data_is = [](Json::value_t t1, Json::value_t t2 = Json::value_t::discarded) {
    return [=](const Value& v, const std::vector<Value>&) {
      return v.is_data() && (v.json().type() == t1 || v.json().type() == t2);
    };
  };
  auto eq = [](const Value& v, const std::vector<Value>& a) { return equals(v, arg(a, 0, "eq")); };
  auto ne = [](const Value& v, const std::vector<Value>& a) { return !equals(v, arg(a, 0, "ne")); };
  auto lt = [](const Value& v, const std::vector<Value>& a) { return compare(v, arg(a, 0, "lt")) < 0; };
  auto le = [](const Value& v, const std::vector<Value>& a) { return compare(v, arg(a, 0, "le")) <= 0; };
  auto gt = [](const Value& v, const std::vector<Value>& a) { return compare(v, arg(a, 0, "gt")) > 0; };
  auto ge = [](const Value& v, const std::vector<Value>& a) { return compare(v, arg(a, 0, "ge")) >= 0; };
  using T = Json::value_t;
  static const std::map<std::string, Test, std::less<>> table = {
      {"defined", [](const Value& v, auto&) { return !v.is_undefined(); }},
      {"undefined", [](const Value& v, auto&) { return v.is_undefined(); }},
      {"none", data_is(T::null)},
      {"boolean", data_is(T::boolean)},
      {"true", [](const Value& v, auto&) { return v.is_data() && v.json().is_boolean() && v.json().get<bool>(); }},
      {"false", [](const Value& v, auto&) { return v.is_data() && v.json().is_boolean() && !v.json().get<bool>(); }},
      {"integer", data_is(T::number_integer, T::number_unsigned)},
      {"float", data_is(T::number_float)},
      {"number", [](const Value& v, auto&) { return v.is_data() && (v.json().is_number() || v.json().is_boolean()); }},
      {"string", data_is(T::string)},
      {"mapping", data_is(T::object)},
      {"iterable", [](const Value& v, auto&) {  // Jinja's undefined iterates as empty
         return v.is_undefined() || (v.is_data() && (v.json().is_string() || v.json().is_structured()));
       }},
      {"sequence", [](const Value& v, auto&) {
         if (v.is_generator()) return false;
         return v.is_undefined() || (v.is_data() && (v.json().is_string() || v.json().is_structured()));
       }},
      {"callable", [](const Value& v, auto&) {
         return v.kind() == Value::Kind::Macro || v.kind() == Value::Kind::Function;
       }},
      {"eq", eq}, {"equalto", eq}, {"==", eq}, {"ne", ne}, {"!=", ne},
      {"lt", lt}, {"lessthan", lt}, {"<", lt}, {"le", le}, {"<=", le},
      {"gt", gt}, {"greaterthan", gt}, {">", gt}, {"ge", ge}, {">=", ge},
      {"in", [](const Value& v, const std::vector<Value>& a) { return contains(arg(a, 0, "in"), v); }},
      {"sameas", [](const Value& v, const std::vector<Value>& a) {  // identity: only None/True/False are shared
         const Value& other = arg(a, 0, "sameas");
         return v.is_data() && other.is_data() && (v.json().is_null() || v.json().is_boolean()) &&
                v.json() == other.json();
       }},
      {"odd", [](const Value& v, auto&) { return to_int(v, "odd test operand") % 2 != 0; }},
      {"even", [](const Value& v, auto&) { return to_int(v, "even test operand") % 2 == 0; }},
      {"divisibleby", [](const Value& v, const std::vector<Value>& a) {
         std::int64_t d = to_int(arg(a, 0, "divisibleby"), "divisibleby argument");
         if (d == 0) throw TemplateError("divisibleby 0");
         return to_int(v, "divisibleby operand") % d == 0;
       }},
      {"lower", [](const Value& v, auto&) { return is_string(v) && lower(str_ref(v)) == str_ref(v); }},
      {"upper", [](const Value& v, auto&) { return is_string(v) && upper(str_ref(v)) == str_ref(v); }},
  };
  return table;
}

const char* const kDictMethods[] = {"items", "keys", "values", "get", "pop", "popitem", "copy", "update",
                                    "clear", "setdefault", "fromkeys"};
const char* const kStrMethods[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                   "replace", "upper", "lower", "title", "capitalize", "find", "rfind",
                                   "count", "join", "format", "splitlines", "index", "isdigit", "isspace"};
const char* const kListMethods[] = {"append", "extend", "insert", "pop", "remove", "index", "count",
                                    "sort", "reverse", "copy", "clear"};
template <std::size_t N>
bool listed(const char* const (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// Python's attribute-before-key rule: d.items is the method even when d has a key "items".
// A method is only usable when called, so naming one without a call is an error, not a guess.
[[noreturn]] void method_reference(const Value& object, const std::string& name) {
  throw TemplateError(cat("'", name, "' names a ", type_name(object), " method; only calling it (",
                          name, "(...)) is supported"));
}

bool starts_or_ends(const std::string& s, const Value& affix, bool start) {
  if (affix.is_data() && affix.json().is_array()) {  // a tuple of candidates
    for (const Json& a : affix.json())
      if (starts_or_ends(s, Value(a), start)) return true;
    return false;
  }
  std::string a = need_string(affix, start ? "startswith argument" : "endswith argument");
  if (a.size() > s.size()) return false;
  return s.compare(start ? 0 : s.size() - a.size(), a.size(), a) == 0;
}

Value string_method(const std::string& s, const std::string& name, const Args& args) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    auto p = bind_args(name, args, {"chars"});
    return Value(Json(strip(s, p[0], name != "rstrip", name != "lstrip")));
  }
  if (name == "split") {
    auto p = bind_args(name, args, {"sep", "maxsplit"});
    return Value(split(s, p[0], given(p[1]) ? to_int(p[1], "maxsplit") : -1));
  }
  if (name == "startswith" || name == "endswith") {
    auto p = bind_args(name, args, {"prefix"});
    return Value(Json(starts_or_ends(s, p[0], name == "startswith")));
  }
  if (name == "replace") {
    auto p = bind_args(name, args, {"old", "new", "count"});
    return Value(Json(replace(s, need_string(p[0], "replace old"), need_string(p[1], "replace new"),
                              given(p[2]) ? to_int(p[2], "replace count") : -1)));
  }
  if (name == "upper") return bind_args(name, args, {}), Value(Json(upper(s)));
  if (name == "lower") return bind_args(name, args, {}), Value(Json(lower(s)));
  if (name == "title") return bind_args(name, args, {}), Value(Json(title(s)));
  if (name == "capitalize") return bind_args(name, args, {}), Value(Json(capitalize(s)));
  if (name == "find" || name == "count") {
    std::string sub = need_string(bind_args(name, args, {"sub"})[0], "find argument");
    if (name == "find") {
      std::size_t hit = s.find(sub);
      if (hit == std::string::npos) return Value(Json(-1));
      return Value(Json(std::int64_t(code_point_starts(s.substr(0, hit)).size()) - 1));
    }
    if (sub.empty()) return Value(Json(std::int64_t(code_point_starts(s).size())));
    std::int64_t n = 0;
    for (std::size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
    return Value(Json(n));
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const Value& item : iterate(bind_args(name, args, {"iterable"})[0])) {
      out += (first ? "" : s) + need_string(item, "join item");
      first = false;
    }
    return Value(Json(out));
  }
  throw TemplateError(cat("unsupported str method '", name, "'"));
}

}  // namespace

bool is_filter(std::string_view name) { return filters().count(name) != 0; }
bool is_test(std::string_view name) { return tests().count(name) != 0; }

Value apply_filter(const std::string& name, const Value& operand, const Args& args) {
  auto it = filters().find(name);
  if (it == filters().end()) throw TemplateError(cat("unknown filter '", name, "'"));
  return it->second(operand, args);
}

bool apply_test(const std::string& name, const Value& operand, const Args& args) {
  auto it = tests().find(name);
  if (it == tests().end()) throw TemplateError(cat("unknown test '", name, "'"));
  return it->second(operand, args.positional);
}

Value call_method(const Value& object, const std::string& method, const Args& args) {
  if (object.is_undefined()) throw TemplateError(cat("'", object.name(), "' is undefined"));
  if (is_string(object) && object.is_markup()) {  // markupsafe escapes some methods' arguments
    static const Params kSafe = {"strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize",
                                 "startswith", "endswith", "find", "count"};
    if (std::find(kSafe.begin(), kSafe.end(), method) == kSafe.end() ||
        (!args.positional.empty() && method.find("strip") != std::string::npos))
      throw TemplateError(cat("method '", method, "' on |safe text is not supported"));
    return string_method(str_ref(object), method, args).as_markup(method != "startswith" && method != "endswith" &&
                                                                   method != "find" && method != "count");
  }
  if (is_string(object)) return string_method(str_ref(object), method, args);
  if (object.is_data() && object.json().is_object()) {
    const Json& d = object.json();
    if (method == "get") {
      auto p = bind_args("get", args, {"key", "default"});
      if (is_string(p[0]))
        if (auto it = d.find(str_ref(p[0])); it != d.end()) return object.element(*it);
      return given(p[1]) ? p[1] : Value(Json(nullptr));
    }
    if (method == "items" || method == "keys" || method == "values") {
      bind_args(method, args, {});
      Json out = Json::array();
      for (auto it = d.begin(); it != d.end(); ++it) {
        if (method == "items") out.push_back(Json::array({it.key(), it.value()}));
        else out.push_back(method == "keys" ? Json(it.key()) : it.value());
      }
      return Value(std::move(out)).add_tuple_levels(method == "items" ? 2u : (object.tuple_levels() >> 1) << 1);
    }
  }
  throw TemplateError(cat("unsupported method '", method, "' on ", type_name(object),
                          object.is_data() && object.json().is_array() ? " (templates cannot modify lists)" : ""));
}

Value get_attr(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::Undefined: throw TemplateError(cat("'", object.name(), "' is undefined"));
    case Value::Kind::Namespace: {
      auto it = object.attrs().find(name);
      return it == object.attrs().end() ? Value::undefined(name) : it->second;
    }
    case Value::Kind::Data: break;
    default: return Value::undefined(name);
  }
  const Json& j = object.json();
  if ((j.is_object() && listed(kDictMethods, name)) || (j.is_string() && listed(kStrMethods, name)) ||
      (j.is_array() && listed(kListMethods, name)))
    method_reference(object, name);
  if (j.is_object())
    if (auto it = j.find(name); it != j.end()) return object.element(*it);
  return Value::undefined(name);
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) throw TemplateError(cat("'", object.name(), "' is undefined"));
  if (object.is_generator()) return Value::undefined("item");  // generators cannot be indexed
  if (object.kind() == Value::Kind::Namespace && is_string(key)) return get_attr(object, str_ref(key));
  if (!object.is_data() || !key.is_data()) return Value::undefined("item");
  const Json& j = object.json();
  if (j.is_object() && is_string(key)) {
    if (auto it = j.find(str_ref(key)); it != j.end()) return object.element(*it);
    if (listed(kDictMethods, str_ref(key))) method_reference(object, str_ref(key));  // Jinja falls back to getattr
    return Value::undefined(str_ref(key));
  }
  if (!is_int(key) || !(j.is_array() || j.is_string())) return Value::undefined("item");
  std::int64_t i = key.json().get<std::int64_t>();
  if (j.is_array()) {
    std::int64_t n = std::int64_t(j.size());
    if (i < 0) i += n;
    return i >= 0 && i < n ? object.element(j[std::size_t(i)]) : Value::undefined("item");
  }
  const std::string& s = str_ref(object);
  std::vector<std::size_t> starts = code_point_starts(s);
  std::int64_t n = std::int64_t(starts.size()) - 1;
  if (i < 0) i += n;
  if (i < 0 || i >= n) return Value::undefined("item");
  return Value(Json(s.substr(starts[i], starts[i + 1] - starts[i]))).as_markup(object.is_markup());
}

Value get_slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (object.is_undefined()) throw TemplateError(cat("'", object.name(), "' is undefined"));
  if (!object.is_data() || object.is_generator() || !(object.json().is_array() || object.json().is_string()))
    return Value::undefined("slice");
  auto bound = [](const Value& v) { return given(v) && !is_none(v); };
  std::int64_t step = bound(step_v) ? to_int(step_v, "slice step") : 1;
  if (step == 0) throw TemplateError("slice step cannot be zero");
  const Json& j = object.json();
  std::vector<std::size_t> starts;
  if (j.is_string()) starts = code_point_starts(str_ref(object));
  std::int64_t n = j.is_string() ? std::int64_t(starts.size()) - 1 : std::int64_t(j.size());
  // Python's slice.indices(): clamp into [lower, upper] after wrapping negatives.
  std::int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
  auto clamp = [&](const Value& v, std::int64_t fallback) {
    if (!bound(v)) return fallback;
    std::int64_t i = to_int(v, "slice index");
    if (i < 0) i += n;
    return std::clamp(i, lower, upper);
  };
  std::int64_t start = clamp(start_v, step > 0 ? lower : upper), stop = clamp(stop_v, step > 0 ? upper : lower);
  Json list = Json::array();
  std::string text;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (j.is_array()) list.push_back(j[std::size_t(i)]);
    else text.append(str_ref(object), starts[i], starts[i + 1] - starts[i]);
  }
  return j.is_array() ? Value(std::move(list)).add_tuple_levels(object.tuple_levels())
                      : Value(Json(text)).as_markup(object.is_markup());
}

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> items;
  if (v.is_undefined()) return items;
  if (!v.is_data() || !(v.json().is_structured() || v.json().is_string()))
    throw TemplateError(cat("'", type_name(v), "' object is not iterable"));
  const Json& j = v.json();
  if (j.is_array()) {
    for (const Json& e : j) items.push_back(v.element(e));
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) items.emplace_back(Json(it.key()));
  } else {
    const std::string& s = str_ref(v);
    std::vector<std::size_t> starts = code_point_starts(s);
    for (std::size_t i = 0; i + 1 < starts.size(); ++i)
      items.emplace_back(Json(s.substr(starts[i], starts[i + 1] - starts[i])));
  }
  return items;
}

bool contains(const Value& haystack, const Value& needle) {
  if (haystack.is_undefined()) return false;
  if (is_string(haystack)) {
    if (!is_string(needle)) throw TemplateError(cat("'in <string>' requires a string, not ", type_name(needle)));
    return str_ref(haystack).find(str_ref(needle)) != std::string::npos;
  }
  if (haystack.is_data() && haystack.json().is_array()) {
    for (const Json& e : haystack.json())
      if (equals(haystack.element(e), needle)) return true;
    return false;
  }
  if (haystack.is_data() && haystack.json().is_object())
    return is_string(needle) && haystack.json().contains(str_ref(needle));
  if (haystack.kind() == Value::Kind::Namespace)
    return is_string(needle) && haystack.attrs().count(str_ref(needle)) != 0;
  throw TemplateError(cat("argument of type '", type_name(haystack), "' is not iterable"));
}

}  // namespace kiln::tokenizer::jinja
