#include "tokenizer/chat_template.h"

#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_parser.h"
#include "util/error.h"

namespace kiln::tokenizer {

ChatTemplate::ChatTemplate(std::string source)
    : source_(std::move(source)), body_(std::make_unique<jinja::Body>(jinja::parse(jinja::lex(source_)))) {}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::apply(const std::vector<ChatMessage>& messages, const ChatOptions& options) const {
  KILN_CHECK(body_, "chat template: apply() on a moved-from ChatTemplate");
  jinja::RenderContext context;
  jinja::Json& vars = context.variables;
  vars["messages"] = jinja::Json::array();
  for (const ChatMessage& m : messages) vars["messages"].push_back({{"role", m.role}, {"content", m.content}});
  vars["tools"] = nullptr;
  vars["documents"] = nullptr;
  vars["add_generation_prompt"] = options.add_generation_prompt;
  vars["bos_token"] = options.bos_token;
  vars["eos_token"] = options.eos_token;
  if (!options.extra.is_null()) {
    KILN_CHECK(options.extra.is_object(), "chat template: ChatOptions.extra must be a JSON object, got ",
               options.extra.type_name());
    for (auto it = options.extra.begin(); it != options.extra.end(); ++it) vars[it.key()] = it.value();
  }
  context.now_unix_s = options.now_unix_s;
  return jinja::render(*body_, std::move(context));
}

}  // namespace kiln::tokenizer
