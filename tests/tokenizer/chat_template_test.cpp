// Real chat templates rendered by kiln vs Python Jinja2 with HF's settings (golden files written
// by data/templates/generate_golden.py), byte for byte, plus the ChatTemplate API's own rules.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "util/error.h"

namespace kiln::tokenizer {
namespace {

const std::string kTemplates = std::string(KILN_TEST_DATA_DIR) + "/templates/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Where two renderings first differ, with some context: a whole prompt is hard to compare by eye.
std::string first_difference(const std::string& want, const std::string& got) {
  std::size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  std::size_t from = i < 40 ? 0 : i - 40;
  return "first difference at byte " + std::to_string(i) + "\n want: ..." + want.substr(from, 100) +
         "\n  got: ..." + got.substr(from, 100);
}

void check_golden(const std::string& name) {
  auto golden = nlohmann::ordered_json::parse(read_file(kTemplates + name + ".golden.json"));
  ChatTemplate chat(read_file(kTemplates + golden["template"].get<std::string>()));
  ASSERT_GE(golden["cases"].size(), 6u);
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(name + " / " + c["name"].get<std::string>());
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    ChatOptions options;
    options.add_generation_prompt = c["add_generation_prompt"];
    options.bos_token = c["bos_token"];
    options.eos_token = c["eos_token"];
    options.extra = c["extra"];
    options.now_unix_s = c["now_unix_s"].get<std::int64_t>();
    if (c.contains("expected")) {
      std::string want = c["expected"], got = chat.apply(messages, options);
      EXPECT_TRUE(want == got) << first_difference(want, got);
      continue;
    }
    try {
      chat.apply(messages, options);
      ADD_FAILURE() << "rendered, but Jinja2 failed with: " << c["error"]["message"];
    } catch (const Error& e) {
      if (c["error"]["kind"] == "raise_exception") {  // the template's own words reach the user
        EXPECT_NE(std::string(e.what()).find(c["error"]["message"].get<std::string>()), std::string::npos)
            << e.what();
      }
    }
  }
}

TEST(ChatTemplateGolden, Llama3_1) { check_golden("llama3_1"); }
TEST(ChatTemplateGolden, Llama3_1Instruct) { check_golden("llama3_1-instruct"); }
TEST(ChatTemplateGolden, Qwen3) { check_golden("qwen3"); }
TEST(ChatTemplateGolden, Gemma3) { check_golden("gemma3"); }
TEST(ChatTemplateGolden, GptOss) { check_golden("gpt-oss"); }

TEST(ChatTemplate, PassesHfVariables) {
  ChatTemplate chat(
      "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}|{{ documents }}|"
      "{{ messages|length }}|{{ messages[0].role }}:{{ messages[0]['content'] }}|{{ custom }}");
  ChatOptions options;
  options.bos_token = "<s>";
  options.eos_token = "</s>";
  options.add_generation_prompt = false;
  options.extra = {{"custom", 7}};
  EXPECT_EQ(chat.apply({{"user", "hi"}}, options), "<s>|</s>|False|None|None|1|user:hi|7");
}

TEST(ChatTemplate, ExtraOverridesAndKeepsToolKeyOrder) {
  ChatTemplate chat("{{ tools|tojson }}{{ date_string }}");
  ChatOptions options;
  options.extra = nlohmann::ordered_json::parse(R"({"tools": [{"z": 1, "a": 2}], "date_string": "26 Jul 2024"})");
  EXPECT_EQ(chat.apply({}, options), R"([{"z": 1, "a": 2}]26 Jul 2024)");
}

TEST(ChatTemplate, FixedClockForStrftimeNow) {
  ChatTemplate chat("{{ strftime_now('%d %b %Y %H:%M') }}");
  ChatOptions options;
  options.now_unix_s = 1721952000;  // 2024-07-26 00:00:00 UTC
  EXPECT_EQ(chat.apply({}, options), "26 Jul 2024 00:00");
  options.now_unix_s.reset();  // the real clock: just a plausible date
  EXPECT_EQ(chat.apply({}, options).size(), std::string("26 Jul 2024 00:00").size());
}

TEST(ChatTemplate, RaiseExceptionBecomesErrorWithItsMessage) {
  ChatTemplate chat("{% if messages|length == 0 %}{{ raise_exception('No messages given!') }}{% endif %}ok");
  EXPECT_EQ(chat.apply({{"user", "x"}}, {}), "ok");
  try {
    chat.apply({}, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "chat template 1:33: the template raised an error: No messages given!");
  }
}

TEST(ChatTemplate, SyntaxErrorAtConstructionNamesLineAndColumn) {
  try {
    ChatTemplate chat("ok\n{% for m in messages %}{{ m.content }}");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "chat template 2:4: 'for' is never closed: the template ends before 'endfor'");
  }
}

TEST(ChatTemplate, RejectsNonObjectExtra) {
  ChatTemplate chat("x");
  ChatOptions options;
  options.extra = nlohmann::ordered_json::array();
  EXPECT_THROW(chat.apply({}, options), Error);
}

}  // namespace
}  // namespace kiln::tokenizer
