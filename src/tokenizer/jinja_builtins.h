#pragma once
// Jinja's filters and tests, Python's str/dict methods, and attribute/subscript lookup with
// Jinja2's rules (a missing key or index is undefined; only undefined itself cannot be indexed).
// Everything throws TemplateError for what it cannot compute exactly as Python would.
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

}  // namespace kiln::tokenizer::jinja
