#include "tokenizer/jinja_eval.h"

#include <cmath>
#include <ctime>

#include "tokenizer/jinja_builtins.h"
#include "util/error.h"

namespace kiln::tokenizer::jinja {
namespace {

// Bounds that keep a hostile template from exhausting the stack or memory.
struct RenderLimits {
  static constexpr int max_macro_depth = 64;  // macros may call themselves
  static constexpr std::int64_t max_range_items = 1 << 20;
  static constexpr std::size_t max_repeat_bytes = std::size_t(1) << 26;  // 'x' * n, [..] * n
};

struct Frame {
  Frame* parent = nullptr;
  Value::Attrs vars;

  const Value* find(std::string_view name) const {
    for (const Frame* f = this; f; f = f->parent)
      if (auto it = f->vars.find(name); it != f->vars.end()) return &it->second;
    return nullptr;
  }
};

enum class Flow { Next, Break, Continue };

bool numeric(const Value& v) { return v.is_data() && (v.json().is_number() || v.json().is_boolean()); }
bool integral(const Value& v) { return v.is_data() && (v.json().is_number_integer() || v.json().is_boolean()); }
std::int64_t as_int(const Value& v) { return v.json().is_boolean() ? v.json().get<bool>() : v.json().get<std::int64_t>(); }
double as_double(const Value& v) { return v.json().is_boolean() ? v.json().get<bool>() : v.json().get<double>(); }

template <class Op>
Value checked(Op op, std::int64_t x, std::int64_t y) {
  std::int64_t result = 0;
  if (op(x, y, &result)) throw TemplateError("integer overflow");
  return Value(Json(result));
}

Value repeat(const Value& seq, std::int64_t times) {
  std::size_t unit = seq.json().is_string() ? seq.json().get_ref<const std::string&>().size() : seq.json().size();
  if (times > 0 && unit > RenderLimits::max_repeat_bytes / std::size_t(times))
    throw TemplateError(cat("repeating a length-", unit, " value ", times, " times is too large"));
  if (seq.json().is_string()) {
    std::string out;
    for (std::int64_t i = 0; i < times; ++i) out += seq.json().get_ref<const std::string&>();
    return Value(Json(out)).as_markup(seq.is_markup());
  }
  Json out = Json::array();
  for (std::int64_t i = 0; i < times; ++i)
    for (const Json& e : seq.json()) out.push_back(e);
  return Value(std::move(out)).add_tuple_levels(seq.tuple_levels());
}

// Python's + - * / // % ** on the values Jinja passes them.
Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  for (const Value* v : {&a, &b})
    if (v->is_undefined()) throw TemplateError(cat("'", v->name(), "' is undefined"));
  auto unsupported = [&]() -> Value {
    throw TemplateError(cat("unsupported operand types for ", op, ": '", type_name(a), "' and '", type_name(b), "'"));
  };
  if (!a.is_data() || !b.is_data()) return unsupported();
  if (numeric(a) && numeric(b)) {
    if (integral(a) && integral(b)) {
      std::int64_t x = as_int(a), y = as_int(b);
      using I = std::int64_t;
      if (op == "+") return checked([](I p, I q, I* r) { return __builtin_add_overflow(p, q, r); }, x, y);
      if (op == "-") return checked([](I p, I q, I* r) { return __builtin_sub_overflow(p, q, r); }, x, y);
      if (op == "*") return checked([](I p, I q, I* r) { return __builtin_mul_overflow(p, q, r); }, x, y);
      if ((op == "//" || op == "%") && y == 0) throw TemplateError("integer division or modulo by zero");
      if (op == "//") return Value(Json(x / y - ((x % y != 0) && ((x < 0) != (y < 0)))));
      if (op == "%") return Value(Json(((x % y) + y) % y));
      if (op == "**" && y >= 0) {  // by squaring, so a huge exponent of 1 or -1 stays fast
        std::int64_t result = 1, base = x;
        for (; y > 0; y >>= 1) {
          if ((y & 1) && __builtin_mul_overflow(result, base, &result)) throw TemplateError("integer overflow");
          if (y > 1 && __builtin_mul_overflow(base, base, &base)) throw TemplateError("integer overflow");
        }
        return Value(Json(result));
      }
    }
    double x = as_double(a), y = as_double(b);
    if (op == "+") return Value(Json(x + y));
    if (op == "-") return Value(Json(x - y));
    if (op == "*") return Value(Json(x * y));
    if (op == "**") return Value(Json(std::pow(x, y)));
    if (y == 0) throw TemplateError("float division by zero");
    if (op == "/") return Value(Json(x / y));
    if (op == "//") return Value(Json(std::floor(x / y)));
    if (op == "%") {
      double r = std::fmod(x, y);
      return Value(Json(r != 0 && ((r < 0) != (y < 0)) ? r + y : r));
    }
    return unsupported();
  }
  if (a.is_generator() || b.is_generator()) return unsupported();
  const Json &x = a.json(), &y = b.json();
  if (op == "+" && x.is_string() && y.is_string()) {
    if (!a.is_markup() && !b.is_markup()) return Value(Json(x.get<std::string>() + y.get<std::string>()));
    auto safe = [](const Value& v) { return v.is_markup() ? to_str(v) : html_escape(to_str(v)); };
    return Value(Json(safe(a) + safe(b))).as_markup();  // Markup + str escapes the str
  }
  if (op == "+" && x.is_array() && y.is_array()) {
    Json out = x;
    out.insert(out.end(), y.begin(), y.end());
    return Value(std::move(out)).add_tuple_levels(a.tuple_levels() | b.tuple_levels());
  }
  if (op == "*" && (x.is_string() || x.is_array()) && integral(b)) return repeat(a, as_int(b));
  if (op == "*" && (y.is_string() || y.is_array()) && integral(a)) return repeat(b, as_int(a));
  return unsupported();
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return contains(b, a);
  if (op == "not in") return !contains(b, a);
  for (const Value* v : {&a, &b})
    if (v->is_undefined()) throw TemplateError(cat("'", v->name(), "' is undefined"));
  int c = compare(a, b);
  return op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
}

class Renderer {
 public:
  explicit Renderer(RenderContext context)
      : variables_(std::make_shared<const Json>(std::move(context.variables))), now_(context.now_unix_s) {}

  std::string run(const Body& body) {
    for (const char* name : {"raise_exception", "strftime_now", "namespace", "range"})
      root_.vars.emplace(name, Value::function(name));
    if (!variables_->is_object()) fail("chat template: the render context must be a JSON object");
    for (auto it = variables_->begin(); it != variables_->end(); ++it)
      root_.vars.insert_or_assign(it.key(), Value::view(variables_, &it.value()));
    std::string out;
    if (exec(body, root_, out) != Flow::Next) fail("chat template: 'break' or 'continue' outside a for loop");
    return out;
  }

 private:
  Flow exec(const Body& body, Frame& frame, std::string& out) {
    for (const auto& stmt : body)
      if (Flow flow = exec(*stmt, frame, out); flow != Flow::Next) return flow;
    return Flow::Next;
  }

  Flow exec(const Stmt& s, Frame& frame, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Text: out += s.text; break;
      case Stmt::Kind::Output: {
        Value v = eval(*s.exprs[0], frame);
        at(s.pos, [&] { out += to_str(v); });
        break;
      }
      case Stmt::Kind::If:
        for (std::size_t i = 0; i < s.exprs.size(); ++i)
          if (truthy(eval(*s.exprs[i], frame))) return exec(s.bodies[i], frame, out);
        if (s.bodies.size() > s.exprs.size()) return exec(s.bodies.back(), frame, out);
        break;
      case Stmt::Kind::For: exec_for(s, frame, out); break;
      case Stmt::Kind::Set: {
        Value v = eval(*s.exprs[0], frame);
        if (s.names.size() == 1) {
          frame.vars.insert_or_assign(s.names[0], std::move(v));
          break;
        }
        const Value* ns = frame.find(s.names[0]);
        if (!ns || ns->kind() != Value::Kind::Namespace)
          at(s.pos, [&] { throw TemplateError(cat("cannot set '", s.names[0], ".", s.names[1], "': '", s.names[0],
                                                  "' is not a namespace()")); });
        ns->attrs().insert_or_assign(s.names[1], std::move(v));
        break;
      }
      case Stmt::Kind::SetBlock: {
        std::string text;
        if (exec(s.bodies[0], frame, text) != Flow::Next)
          at(s.pos, [] { throw TemplateError("'break' or 'continue' inside set"); });
        frame.vars.insert_or_assign(s.names[0], Value(Json(text)));
        break;
      }
      case Stmt::Kind::Macro: frame.vars.insert_or_assign(s.names[0], Value::macro(&s)); break;
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
    }
    return Flow::Next;
  }

  void bind_targets(const Stmt& s, const Value& item, Frame& frame) {
    if (s.names.size() == 1) return void(frame.vars.insert_or_assign(s.names[0], item));
    if (!item.is_data() || !item.json().is_array() || item.json().size() != s.names.size())
      at(s.pos, [&] { throw TemplateError(cat("cannot unpack a ", type_name(item), " into ", s.names.size(), " loop variables")); });
    for (std::size_t i = 0; i < s.names.size(); ++i)
      frame.vars.insert_or_assign(s.names[i], item.element(item.json()[i]));
  }

  void exec_for(const Stmt& s, Frame& frame, std::string& out) {
    Value iterable = eval(*s.exprs[0], frame);
    std::vector<Value> items;
    at(s.exprs[0]->pos, [&] { items = iterate(iterable); });
    if (s.exprs[1]) {  // {% for x in xs if cond %}: loop.length counts only the kept items
      std::vector<Value> kept;
      for (const Value& item : items) {
        Frame scope{&frame, {}};
        bind_targets(s, item, scope);
        if (truthy(eval(*s.exprs[1], scope))) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      exec(s.bodies[1], frame, out);
      return;
    }
    const std::int64_t n = std::int64_t(items.size());
    for (std::int64_t i = 0; i < n; ++i) {
      Frame scope{&frame, {}};
      bind_targets(s, items[i], scope);
      scope.vars.insert_or_assign("loop", Value(Json{{"index", i + 1}, {"index0", i}, {"revindex", n - i},
                                                     {"revindex0", n - i - 1}, {"first", i == 0},
                                                     {"last", i == n - 1}, {"length", n}, {"depth", 1},
                                                     {"depth0", 0}}));
      if (exec(s.bodies[0], scope, out) == Flow::Break) break;
    }
  }

  // Runs f, turning a TemplateError into kiln::Error that names the template position.
  template <class F>
  void at(SourcePos pos, F&& f) {
    try {
      f();
    } catch (const TemplateError& e) {
      fail("chat template ", pos.line, ":", pos.col, ": ", e.what());
    } catch (const Json::exception& e) {
      fail("chat template ", pos.line, ":", pos.col, ": ", e.what());
    }
  }

  Value eval(const Expr& e, Frame& frame) {
    Value result;
    at(e.pos, [&] { result = eval_node(e, frame); });
    return result;
  }

  Args eval_args(const Expr& e, Frame& frame) {
    Args args;
    for (std::size_t i = 1; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], frame));
    for (const auto& [key, value] : e.kwargs) args.keyword.emplace_back(key, eval(*value, frame));
    return args;
  }

  Value eval_node(const Expr& e, Frame& frame) {
    auto operand = [&](std::size_t i) { return e.args[i] ? eval(*e.args[i], frame) : Value(); };
    switch (e.kind) {
      case Expr::Kind::Literal: return Value(e.literal);
      case Expr::Kind::Name: {
        const Value* v = frame.find(e.name);
        return v ? *v : Value::undefined(e.name);
      }
      case Expr::Kind::Attr: return get_attr(operand(0), e.name);
      case Expr::Kind::Index: return get_item(operand(0), operand(1));
      case Expr::Kind::Slice: return get_slice(operand(0), operand(1), operand(2), operand(3));
      case Expr::Kind::Call: return eval_call(e, frame);
      case Expr::Kind::Filter: return apply_filter(e.name, operand(0), eval_args(e, frame));
      case Expr::Kind::Test: return Value(Json(apply_test(e.name, operand(0), eval_args(e, frame)) != e.negated));
      case Expr::Kind::Unary: {
        Value v = operand(0);
        if (e.name == "not") return Value(Json(!truthy(v)));
        if (v.is_undefined()) throw TemplateError(cat("'", v.name(), "' is undefined"));
        if (!numeric(v)) throw TemplateError(cat("bad operand type for unary ", e.name, ": '", type_name(v), "'"));
        if (e.name == "+") return integral(v) ? Value(Json(as_int(v))) : v;
        return integral(v) ? arithmetic("-", Value(Json(0)), v) : Value(Json(-as_double(v)));
      }
      case Expr::Kind::Binary: {
        Value left = operand(0);
        if (e.name == "and") return truthy(left) ? operand(1) : left;
        if (e.name == "or") return truthy(left) ? left : operand(1);
        Value right = operand(1);
        if (e.name == "~") return Value(Json(to_str(left) + to_str(right)));
        return arithmetic(e.name, left, right);
      }
      case Expr::Kind::Compare: {
        Value left = operand(0);
        for (std::size_t i = 0; i < e.ops.size(); ++i) {
          Value right = operand(i + 1);
          if (!compare_op(e.ops[i], left, right)) return Value(Json(false));
          left = std::move(right);
        }
        return Value(Json(true));
      }
      case Expr::Kind::Cond:
        if (truthy(operand(1))) return operand(0);
        return e.args[2] ? operand(2) : Value::undefined("inline if without else");
      case Expr::Kind::List: {
        Json list = Json::array();
        std::uint32_t levels = e.name == "tuple" ? 1 : 0;
        for (std::size_t i = 0; i < e.args.size(); ++i) {
          Value v = operand(i);
          if (!v.is_data() || v.is_generator() || v.is_markup())
            throw TemplateError(cat("a list cannot hold a ", type_name(v), " here"));
          list.push_back(v.json());
          levels |= v.tuple_levels() << 1;
        }
        return Value(std::move(list)).add_tuple_levels(levels);
      }
      case Expr::Kind::Dict: {
        Json dict = Json::object();
        std::uint32_t levels = 0;
        for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value key = operand(i), value = operand(i + 1);
          if (!key.is_data() || !key.json().is_string()) throw TemplateError("dict keys must be strings");
          if (!value.is_data() || value.is_generator() || value.is_markup())
            throw TemplateError(cat("a dict cannot hold a ", type_name(value), " here"));
          dict[key.json().get<std::string>()] = value.json();
          levels |= value.tuple_levels() << 1;
        }
        return Value(std::move(dict)).add_tuple_levels(levels);
      }
    }
    throw TemplateError("unknown expression");
  }

  Value eval_call(const Expr& e, Frame& frame) {
    const Expr& callee = *e.args[0];
    if (callee.kind == Expr::Kind::Attr) {  // x.method(...)
      Value object = eval(*callee.args[0], frame);
      if (object.is_data()) return call_method(object, callee.name, eval_args(e, frame));
      if (object.is_undefined()) throw TemplateError(cat("'", object.name(), "' is undefined"));
    }
    Value fn = eval(callee, frame);
    Args args = eval_args(e, frame);
    switch (fn.kind()) {
      case Value::Kind::Macro: return call_macro(*fn.macro(), args);
      case Value::Kind::Function: return call_function(fn.name(), args);
      case Value::Kind::Undefined: throw TemplateError(cat("'", fn.name(), "' is undefined"));
      default: throw TemplateError(cat("'", type_name(fn), "' object is not callable"));
    }
  }

  Value call_macro(const Stmt& macro, const Args& args) {
    const std::string& name = macro.names[0];
    std::size_t n_params = macro.names.size() - 1;
    if (args.positional.size() > n_params)
      throw TemplateError(cat("macro '", name, "' takes at most ", n_params, " arguments, got ", args.positional.size()));
    if (depth_ >= RenderLimits::max_macro_depth) throw TemplateError(cat("macro '", name, "' nests deeper than ", RenderLimits::max_macro_depth));
    Frame scope{&root_, {}};
    for (const auto& [key, value] : args.keyword) {
      auto it = std::find(macro.names.begin() + 1, macro.names.end(), key);
      if (it == macro.names.end()) throw TemplateError(cat("macro '", name, "' has no parameter '", key, "'"));
      scope.vars.insert_or_assign(key, value);
    }
    for (std::size_t i = 0; i < n_params; ++i) {
      const std::string& param = macro.names[i + 1];
      if (i < args.positional.size()) scope.vars.insert_or_assign(param, args.positional[i]);
      else if (!scope.vars.count(param))
        scope.vars.emplace(param, macro.exprs[i] ? eval(*macro.exprs[i], scope) : Value::undefined(param));
    }
    std::string out;
    ++depth_;
    Flow flow = exec(macro.bodies[0], scope, out);
    --depth_;
    if (flow != Flow::Next) throw TemplateError(cat("'break' or 'continue' outside a for loop in macro '", name, "'"));
    return Value(Json(out));
  }

  Value call_function(const std::string& name, const Args& args) {
    auto one_string = [&]() {
      if (args.positional.size() != 1 || !args.keyword.empty() || !args.positional[0].is_data())
        throw TemplateError(cat(name, "() takes one argument"));
      return to_str(args.positional[0]);
    };
    if (name == "raise_exception") throw TemplateError("the template raised an error: " + one_string());
    if (name == "strftime_now") return Value(Json(strftime_now(one_string())));
    if (name == "namespace") {
      Value::Attrs attrs;
      for (const Value& v : args.positional) {
        if (!v.is_data() || !v.json().is_object()) throw TemplateError("namespace() takes a dict or key=value pairs");
        for (auto it = v.json().begin(); it != v.json().end(); ++it) attrs.insert_or_assign(it.key(), v.element(*it));
      }
      for (const auto& [key, value] : args.keyword) attrs.insert_or_assign(key, value);
      return Value::namespace_object(std::move(attrs));
    }
    // range(stop) / range(start, stop[, step])
    std::int64_t bounds[3] = {0, 0, 1};
    std::size_t n = args.positional.size();
    if (n < 1 || n > 3 || !args.keyword.empty()) throw TemplateError("range() takes 1 to 3 integers");
    for (std::size_t i = 0; i < n; ++i) {
      const Value& v = args.positional[i];
      if (!v.is_data() || !v.json().is_number_integer()) throw TemplateError("range() takes 1 to 3 integers");
      bounds[n == 1 ? 1 : i] = v.json().get<std::int64_t>();
    }
    auto [start, stop, step] = bounds;
    if (step == 0) throw TemplateError("range() step must not be zero");
    double count = std::ceil((double(stop) - double(start)) / double(step));
    if (count > double(RenderLimits::max_range_items)) throw TemplateError("range() is too long");
    Json list = Json::array();
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) list.push_back(i);
    return Value(std::move(list));
  }

  std::string strftime_now(const std::string& format) const {
    std::time_t t = now_ ? std::time_t(*now_) : std::time(nullptr);
    std::tm tm{};
    if (now_) gmtime_r(&t, &tm);
    else localtime_r(&t, &tm);
    std::string buf(256 + 8 * format.size(), '\0');
    std::size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
    if (n == 0 && !format.empty()) throw TemplateError(cat("strftime_now could not format '", format, "'"));
    buf.resize(n);
    return buf;
  }

  std::shared_ptr<const Json> variables_;
  std::optional<std::int64_t> now_;
  Frame root_;
  int depth_ = 0;
};

}  // namespace

std::string render(const Body& body, RenderContext context) { return Renderer(std::move(context)).run(body); }

}  // namespace kiln::tokenizer::jinja
