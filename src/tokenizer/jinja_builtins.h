#pragma once
// Jinja's filters and tests (jinja_filters.cpp), Python's str and dict methods
// (jinja_methods.cpp), and attribute/subscript lookup with Jinja2's rules (jinja_lookup.cpp: a
// missing key or index is undefined; only undefined itself cannot be indexed). Everything
// throws TemplateError for what it cannot compute exactly as Python would.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace kiln::tokenizer::jinja {

struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

bool is_filter(std::string_view name);
bool is_test(std::string_view name);

Value apply_filter(const std::string& name, const Value& operand, const Args& args);
bool apply_test(const std::string& name, const Value& operand, const Args& args);
Value call_method(const Value& object, const std::string& method, const Args& args);

Value get_attr(const Value& object, const std::string& name);  // object.name
Value get_item(const Value& object, const Value& key);          // object[key]
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// The items a for loop visits: list elements, dict keys, string characters; undefined is empty.
std::vector<Value> iterate(const Value& v);
// `needle in haystack`: substring, list element or dict key.
bool contains(const Value& haystack, const Value& needle);

// ---- shared by the builtins' files ----

inline bool given(const Value& v) { return !v.is_undefined(); }
inline bool is_none(const Value& v) { return v.is_data() && v.json().is_null(); }
inline bool is_string(const Value& v) { return v.is_data() && v.json().is_string(); }
inline bool is_int(const Value& v) { return v.is_data() && v.json().is_number_integer(); }
inline const std::string& str_ref(const Value& v) { return v.json().get_ref<const std::string&>(); }
std::int64_t to_int(const Value& v, const char* what);
std::string need_string(const Value& v, const char* what);

using Params = std::initializer_list<std::string_view>;
// Binds Python-style positional and keyword arguments to the named parameters of a builtin;
// parameters not passed stay undefined.
std::vector<Value> bind_args(const std::string& what, const Args& args, Params params);

// Python str operations; case changes are ASCII only (non-ASCII text is refused).
std::string upper(const std::string& s);
std::string lower(const std::string& s);
std::string capitalize(const std::string& s);
std::string title_filter(const std::string& s);  // Jinja's |title, not str.title()
std::string replace(const std::string& s, const std::string& from, const std::string& to, std::int64_t count);

}  // namespace kiln::tokenizer::jinja
