#include "tokenizer/jinja_builtins.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace kiln::tokenizer::jinja {

namespace {

// Case mapping is ASCII only; non-ASCII text is refused rather than mapped unlike Python.
std::string ascii_map(std::string s, int (*f)(int)) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) throw TemplateError("changing the case of non-ASCII text is not supported");
    c = static_cast<char>(f(c));
  }
  return s;
}

// str.title(): a letter after a non-letter starts a word.
std::string title(const std::string& s) {
  std::string out = lower(s);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (std::isalpha(static_cast<unsigned char>(out[i])) && (i == 0 || !std::isalpha(static_cast<unsigned char>(out[i - 1]))))
      out[i] = static_cast<char>(std::toupper(out[i]));
  return out;
}

Json split(const std::string& s, const Value& sep, std::int64_t maxsplit) {
  Json parts = Json::array();
  if (!given(sep) || is_none(sep)) {  // runs of (Unicode) whitespace, no empty parts
    std::vector<std::size_t> at = code_point_starts(s);  // byte offset of each code point, then the end
    std::size_t n = at.size() - 1, i = 0, len = 0;
    auto space = [&](std::size_t k) { return is_python_space(decode_utf8(s, at[k], &len)); };
    while (true) {
      while (i < n && space(i)) ++i;
      if (i == n) break;
      std::size_t j = i;
      if (maxsplit >= 0 && std::int64_t(parts.size()) == maxsplit) j = n;  // the rest, as it is
      while (j < n && !space(j)) ++j;
      parts.push_back(s.substr(at[i], at[j] - at[i]));
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

std::string upper(const std::string& s) { return ascii_map(s, [](int c) { return std::toupper(c); }); }
std::string lower(const std::string& s) { return ascii_map(s, [](int c) { return std::tolower(c); }); }
std::string capitalize(const std::string& s) { return s.empty() ? s : upper(s.substr(0, 1)) + lower(s.substr(1)); }
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

}  // namespace kiln::tokenizer::jinja
