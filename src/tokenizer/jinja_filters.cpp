#include "tokenizer/jinja_builtins.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "util/error.h"

namespace kiln::tokenizer::jinja {
namespace {

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

}  // namespace kiln::tokenizer::jinja
