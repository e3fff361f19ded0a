#pragma once
// Applies a model's chat template (GGUF key tokenizer.chat_template: a Jinja2 template in HF's
// style) to a conversation, rendering exactly what HF transformers' apply_chat_template renders.
// Anything the built-in Jinja subset cannot render exactly is an error, never a wrong prompt.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::tokenizer {

namespace jinja {
struct Stmt;
}

struct ChatMessage {
  std::string role, content;  // role: "system", "user", "assistant", "tool", ...
};

struct ChatOptions {
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  // More template variables, e.g. enable_thinking, reasoning_effort, tools, date_string. Ordered
  // so that tool schemas keep their key order when a template prints them with tojson.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  // The clock behind strftime_now(): unset = local time now; set = this instant, in UTC, for
  // reproducible prompts.
  std::optional<std::int64_t> now_unix_s;
};

class ChatTemplate {
 public:
  // Parses once; throws kiln::Error "chat template L:C: ..." on a syntax error.
  explicit ChatTemplate(std::string source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders with HF's variables: messages, tools (extra["tools"] or none), documents (none),
  // add_generation_prompt, bos_token, eos_token, then every key of extra. Throws kiln::Error,
  // with the template's own message for raise_exception().
  std::string apply(const std::vector<ChatMessage>& messages, const ChatOptions& options) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::unique_ptr<std::vector<std::unique_ptr<jinja::Stmt>>> body_;
};

}  // namespace kiln::tokenizer
