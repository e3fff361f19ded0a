#include "tokenizer/jinja_builtins.h"

#include <algorithm>

#include "util/error.h"

namespace kiln::tokenizer::jinja {

std::int64_t to_int(const Value& v, const char* what) {
  if (!is_int(v)) throw TemplateError(cat(what, " must be an integer, got ", type_name(v)));
  return v.json().get<std::int64_t>();
}
std::string need_string(const Value& v, const char* what) {
  if (!is_string(v)) throw TemplateError(cat(what, " must be a string, got ", type_name(v)));
  return str_ref(v);
}

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


namespace {

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

}  // namespace

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
