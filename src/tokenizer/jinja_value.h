#pragma once
// The values a chat template computes with: JSON data (Python's None/bool/int/float/str/list/dict),
// Jinja's undefined, namespace() objects, macros and the few global functions. Printing,
// comparing and tojson follow Python, because HF renders these templates with Python's Jinja2.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::tokenizer::jinja {

// Insertion-ordered like Python dicts, so tool schemas print in the order they were given.
using Json = nlohmann::ordered_json;

struct Stmt;

// A render-time failure without a position yet; the evaluator adds "line:col" and rethrows it
// as kiln::Error.
struct TemplateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Value {
 public:
  enum class Kind { Undefined, Data, Namespace, Macro, Function };
  using Attrs = std::map<std::string, Value, std::less<>>;

  Value() = default;  // undefined
  Value(Json json);   // NOLINT: data values convert implicitly
  static Value undefined(std::string name);
  // A view of `at`, an element inside *root (no copy: loops over messages share the root).
  static Value view(std::shared_ptr<const Json> root, const Json* at);
  static Value namespace_object(Attrs attrs);
  static Value macro(const Stmt* definition);
  static Value function(std::string name);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_data() const { return kind_ == Kind::Data; }
  const Json& json() const;              // throws unless data
  Value element(const Json& child) const;  // child must live inside json()
  Attrs& attrs() const { return *attrs_; }  // namespace
  const Stmt* macro() const { return macro_; }
  const std::string& name() const { return name_; }  // undefined variable or function name

  // Python types that JSON cannot tell apart, remembered so they behave (or refuse) as in Python.
  // Tuples (items(), "(a, b)") print unlike lists: bit d says the arrays d levels down are tuples
  // (bit 0: this value), and printing such a value is refused.
  std::uint32_t tuple_levels() const { return tuple_levels_; }
  Value& add_tuple_levels(std::uint32_t levels) { return tuple_levels_ |= levels, *this; }
  // Markup: a string marked safe (|safe, |escape); `+` HTML-escapes a plain string joined to it.
  bool is_markup() const { return markup_; }
  Value& as_markup(bool on = true) { return markup_ = markup_ || on, *this; }
  // Generator: the lazy result of select/reject/map; always truthy, no len(), not printable.
  bool is_generator() const { return generator_; }
  Value& as_generator() { return generator_ = true, *this; }

 private:
  Kind kind_ = Kind::Undefined;
  std::shared_ptr<const Json> root_;
  const Json* at_ = nullptr;
  std::shared_ptr<Attrs> attrs_;
  const Stmt* macro_ = nullptr;
  std::string name_;
  std::uint32_t tuple_levels_ = 0;
  bool markup_ = false, generator_ = false;
};

// Python-flavoured type name for error messages: "str", "int", "list", "undefined", ...
std::string type_name(const Value& v);
bool truthy(const Value& v);
// str(v) as Python prints it ({{ v }}); undefined prints as "". Throws for macros/namespaces.
std::string to_str(const Value& v);
std::string python_repr(const Json& j);
std::string python_float(double d);
bool equals(const Value& a, const Value& b);
// -1/0/1 for numbers, strings and lists; TemplateError for anything Python cannot order.
int compare(const Value& a, const Value& b);
// json.dumps(v, ensure_ascii, indent, separators, sort_keys) exactly as Python writes it.
struct JsonStyle {
  int indent = -1;  // < 0: single line
  bool ensure_ascii = false;
  bool sort_keys = false;
  std::string item_separator, key_separator = ": ";  // item default: ", " or "," with indent
};
std::string dump_json(const Json& j, const JsonStyle& style);

// UTF-8 helpers: Python indexes strings by code point.
// Decodes the code point at s[i] and its byte length; an invalid byte decodes as itself (length 1).
char32_t decode_utf8(const std::string& s, std::size_t i, std::size_t* len);
std::vector<std::size_t> code_point_starts(const std::string& s);  // plus s.size() at the end
bool is_python_space(char32_t c);
std::string strip(const std::string& s, const Value& chars, bool left, bool right);
std::string html_escape(const std::string& s);  // markupsafe's escape: & < > " '

}  // namespace kiln::tokenizer::jinja
