#include "tokenizer/hf_import.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace kiln::tokenizer {

namespace {

using nlohmann::json;

// The Split regexes of the supported byte-level families, exactly as tokenizer.json stores them.
struct KnownRegex {
  PreTokenizer kind;
  const char* pattern;
};
const KnownRegex kKnownRegexes[] = {
    {PreTokenizer::kLlama3,
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {PreTokenizer::kQwen2,
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
    {PreTokenizer::kO200k,
     R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
};

const char kSpmSpace[] = "\xE2\x96\x81";  // U+2581

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  KILN_CHECK(in, path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json read_json(const std::filesystem::path& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    fail(path.string(), ": not valid JSON (", e.what(), ")");
  }
}

// A tokenizer_config.json token entry: "text", {"content": "text", ...} or null.
std::optional<std::string> token_content(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

// Every component of a (possibly Sequence) normalizer / pre-tokenizer / processor.
std::vector<const json*> components(const json& node, const char* list_key) {
  std::vector<const json*> out;
  if (node.is_null()) return out;
  if (node.value("type", "") == "Sequence" && node.contains(list_key)) {
    for (const json& part : node[list_key]) {
      for (const json* p : components(part, list_key)) out.push_back(p);
    }
  } else {
    out.push_back(&node);
  }
  return out;
}

const json* find_component(const json& node, const char* list_key, std::string_view type) {
  for (const json* c : components(node, list_key)) {
    if (c->value("type", "") == type) return c;
  }
  return nullptr;
}

struct Family {
  Model model;
  std::optional<PreTokenizer> pre;  // BPE
  bool add_space_prefix = false;    // SPM
};

Family detect_family(const json& tj, const std::string& where) {
  const json& model = tj["model"];
  KILN_CHECK(model.value("type", "") == "BPE", where, ": model type \"", model.value("type", "?"),
             "\" is not supported (kiln imports BPE tokenizers)");
  const json& normalizer = tj.contains("normalizer") ? tj["normalizer"] : json();
  const json& pre = tj.contains("pre_tokenizer") ? tj["pre_tokenizer"] : json();

  if (model.value("byte_fallback", false)) {
    // SentencePiece style: spaces become U+2581 (normalizer Replace or a Metaspace
    // pre-tokenizer), unknown characters fall back to <0xXX> tokens.
    Family family{Model::kSpm, std::nullopt, false};
    bool escapes_spaces = false;
    for (const json* c : components(normalizer, "normalizers")) {
      const std::string type = c->value("type", "");
      if (type == "Replace" && c->contains("pattern") &&
          (*c)["pattern"].value("String", "") == " " && c->value("content", "") == kSpmSpace) {
        escapes_spaces = true;
      } else if (type == "Prepend" && c->value("prepend", "") == kSpmSpace) {
        family.add_space_prefix = true;
      } else {
        fail(where, ": normalizer \"", type, "\" is not supported for a SentencePiece-style ",
             "tokenizer (kiln handles Replace \" \" -> \"\u2581\" and Prepend \"\u2581\")");
      }
    }
    if (const json* meta = find_component(pre, "pretokenizers", "Metaspace")) {
      escapes_spaces = true;
      const std::string scheme = meta->value("prepend_scheme", "always");
      family.add_space_prefix = meta->value("add_prefix_space", true) && scheme != "never";
    }
    KILN_CHECK(escapes_spaces, where, ": a byte-fallback BPE tokenizer that does not turn spaces ",
               "into \u2581 is not supported");
    return family;
  }

  KILN_CHECK(find_component(pre, "pretokenizers", "ByteLevel"), where,
             ": neither byte-level (no ByteLevel pre-tokenizer) nor byte-fallback BPE; ",
             "kiln imports those two kinds");
  const json* split = find_component(pre, "pretokenizers", "Split");
  KILN_CHECK(split && split->contains("pattern") && (*split)["pattern"].contains("Regex"), where,
             ": byte-level BPE without a Split regex pre-tokenizer is not supported");
  const std::string regex = (*split)["pattern"]["Regex"].get<std::string>();
  Family family{Model::kBpe, std::nullopt, false};
  for (const KnownRegex& known : kKnownRegexes) {
    if (regex == known.pattern) family.pre = known.kind;
  }
  KILN_CHECK(family.pre, where, ": pre-tokenizer regex ", json(regex).dump(),
             " is not one kiln implements (llama 3, qwen2, o200k)");
  // What kiln's runtime assumes for each pre-tokenizer name must hold for this file.
  const bool want_ignore_merges = *family.pre != PreTokenizer::kQwen2;
  KILN_CHECK(model.value("ignore_merges", false) == want_ignore_merges, where,
             ": ignore_merges = ", model.value("ignore_merges", false), " but kiln's \"",
             pre_tokenizer_name(*family.pre), "\" tokenizer assumes ", want_ignore_merges);
  const bool want_nfc = *family.pre == PreTokenizer::kQwen2;
  const bool has_nfc = normalizer.is_object() && normalizer.value("type", "") == "NFC";
  KILN_CHECK(has_nfc == want_nfc && (normalizer.is_null() || has_nfc), where, ": normalizer ",
             normalizer.dump(), " does not match what kiln's \"", pre_tokenizer_name(*family.pre),
             "\" tokenizer applies (", want_nfc ? "NFC" : "none", ")");
  return family;
}

// add_bos / add_eos from a TemplateProcessing post-processor: special tokens before / after $A.
void template_adds(const json& tj, std::optional<std::string>& first, std::optional<std::string>& last) {
  if (!tj.contains("post_processor")) return;
  const json* processor = find_component(tj["post_processor"], "processors", "TemplateProcessing");
  if (!processor || !processor->contains("single")) return;
  const json& single = (*processor)["single"];
  if (single.empty()) return;
  if (single.front().contains("SpecialToken")) first = single.front()["SpecialToken"]["id"].get<std::string>();
  if (single.back().contains("SpecialToken")) last = single.back()["SpecialToken"]["id"].get<std::string>();
}

std::optional<std::string> chat_template(const std::filesystem::path& dir, const json& config) {
  if (std::filesystem::exists(dir / "chat_template.jinja")) return read_file(dir / "chat_template.jinja");
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array() && !it->empty()) {  // [{"name": ..., "template": ...}]: the default one
    for (const json& named : *it) {
      if (named.value("name", "") == "default") return named.value("template", "");
    }
    return (*it)[0].value("template", "");
  }
  return std::nullopt;
}

std::vector<gguf::KeyValue> import_folder(const std::filesystem::path& dir,
                                          const HfImportOptions& options) {
  const std::string where = (dir / "tokenizer.json").string();
  const json tj = read_json(dir / "tokenizer.json");
  const json config = std::filesystem::exists(dir / "tokenizer_config.json")
                          ? read_json(dir / "tokenizer_config.json")
                          : json::object();
  KILN_CHECK(tj.contains("model") && tj["model"].contains("vocab") &&
                 tj["model"]["vocab"].is_object(),
             where, ": no model.vocab object");
  const Family family = detect_family(tj, where);
  const json& model = tj["model"];

  // Token texts by id: the model's vocabulary, then added tokens (which win on a clash).
  std::map<int64_t, std::string> by_id;
  for (const auto& [text, id] : model["vocab"].items()) by_id[id.get<int64_t>()] = text;
  std::unordered_map<int64_t, bool> added_special;
  if (tj.contains("added_tokens")) {
    for (const json& added : tj["added_tokens"]) {
      const int64_t id = added.at("id").get<int64_t>();
      by_id[id] = added.at("content").get<std::string>();
      added_special[id] = added.value("special", false);
    }
  }
  KILN_CHECK(!by_id.empty() && by_id.begin()->first >= 0, where, ": token ids must be >= 0");
  const int64_t tokenizer_size = by_id.rbegin()->first + 1;
  KILN_CHECK(tokenizer_size < (int64_t(1) << 31), where, ": token id ", tokenizer_size - 1,
             " is too large");
  int64_t n_vocab = tokenizer_size;
  if (options.vocab_size > 0) {
    KILN_CHECK(options.vocab_size >= tokenizer_size, where, ": the tokenizer has ids up to ",
               tokenizer_size - 1, " but the model's vocabulary has only ", options.vocab_size,
               " rows");
    n_vocab = options.vocab_size;
  }

  const std::string unk_text = model.contains("unk_token") && model["unk_token"].is_string()
                                   ? model["unk_token"].get<std::string>()
                                   : "";
  std::vector<std::string> tokens(n_vocab);
  std::vector<int32_t> types(n_vocab);
  std::unordered_map<std::string, int32_t> id_of;
  for (int64_t id = 0; id < n_vocab; ++id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      tokens[id] = "[PAD" + std::to_string(id) + "]";
      types[id] = int32_t(TokenType::kUnused);
      continue;
    }
    const std::string& text = it->second;
    tokens[id] = text;
    id_of.emplace(text, int32_t(id));
    TokenType type = TokenType::kNormal;
    auto added = added_special.find(id);
    if (added != added_special.end()) {
      // llama.cpp's rule: special added tokens, and ones that look like "<|...|>", are CONTROL.
      const bool looks_special = text.size() > 4 && text.starts_with("<|") && text.ends_with("|>");
      type = added->second || looks_special ? TokenType::kControl : TokenType::kUserDefined;
    }
    if (family.model == Model::kSpm) {
      if (text == unk_text) type = TokenType::kUnknown;
      else if (type == TokenType::kNormal && text.size() == 6 && text.starts_with("<0x") &&
               text.ends_with(">")) {
        type = TokenType::kByte;
      }
    }
    types[id] = int32_t(type);
  }

  // Merges: "a b" strings for llama.cpp; for SPM, the rank of each token's first merge.
  std::vector<std::string> merges;
  std::vector<float> scores;
  if (model.contains("merges")) {
    const json& list = model["merges"];
    if (family.model == Model::kBpe) merges.reserve(list.size());
    else scores.assign(n_vocab, kUnmergedScore);
    for (size_t rank = 0; rank < list.size(); ++rank) {
      const json& m = list[rank];
      std::string left, right;
      if (m.is_array() && m.size() == 2) {
        left = m[0].get<std::string>();
        right = m[1].get<std::string>();
      } else {
        const std::string joined = m.get<std::string>();
        const size_t space = joined.find(' ');
        KILN_CHECK(space != std::string::npos, where, ": merge ", rank, " \"", joined,
                   "\" is not \"LEFT RIGHT\"");
        left = joined.substr(0, space);
        right = joined.substr(space + 1);
      }
      if (family.model == Model::kBpe) {
        KILN_CHECK(left.find(' ') == std::string::npos && right.find(' ') == std::string::npos,
                   where, ": merge ", rank, " has a space inside a token, which GGUF's \"a b\" ",
                   "merge strings cannot express");
        merges.push_back(left + " " + right);
      } else {
        auto merged = id_of.find(left + right);
        if (merged != id_of.end() && scores[merged->second] == kUnmergedScore) {
          scores[merged->second] = -float(rank + 1);
        }
      }
    }
  }
  KILN_CHECK(family.model == Model::kSpm || !merges.empty(), where, ": no merges");
  if (family.model == Model::kSpm && scores.empty()) scores.assign(n_vocab, kUnmergedScore);

  std::vector<gguf::KeyValue> kv;
  auto set = [&](std::string key, gguf::Value value) { kv.push_back({std::move(key), std::move(value)}); };
  set("tokenizer.ggml.model", gguf::Value::str(family.model == Model::kBpe ? "gpt2" : "llama"));
  if (family.pre) set("tokenizer.ggml.pre", gguf::Value::str(pre_tokenizer_name(*family.pre)));
  set("tokenizer.ggml.tokens", gguf::Value::strings(tokens));
  if (family.model == Model::kSpm) set("tokenizer.ggml.scores", gguf::Value::f32s(scores));
  set("tokenizer.ggml.token_type", gguf::Value::i32s(types));
  if (family.model == Model::kBpe) set("tokenizer.ggml.merges", gguf::Value::strings(merges));

  auto lookup = [&](const std::optional<std::string>& text) -> std::optional<int32_t> {
    if (!text) return std::nullopt;
    auto it = id_of.find(*text);
    KILN_CHECK(it != id_of.end(), where, ": special token \"", *text, "\" is not in the vocabulary");
    return it->second;
  };
  std::optional<std::string> template_first, template_last;
  template_adds(tj, template_first, template_last);
  std::optional<int32_t> bos = lookup(token_content(config, "bos_token"));
  if (!bos && template_first) bos = lookup(template_first);
  const std::optional<int32_t> eos = lookup(token_content(config, "eos_token"));
  const std::optional<int32_t> pad = lookup(token_content(config, "pad_token"));
  std::optional<int32_t> unk = lookup(token_content(config, "unk_token"));
  if (!unk && !unk_text.empty() && id_of.count(unk_text)) unk = id_of[unk_text];
  std::optional<int32_t> eot;
  for (const char* text : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>"}) {
    if (!eot && id_of.count(text)) eot = id_of[text];
  }
  if (bos) set("tokenizer.ggml.bos_token_id", gguf::Value::u32(uint32_t(*bos)));
  if (eos) set("tokenizer.ggml.eos_token_id", gguf::Value::u32(uint32_t(*eos)));
  if (eot) set("tokenizer.ggml.eot_token_id", gguf::Value::u32(uint32_t(*eot)));
  if (unk) set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(uint32_t(*unk)));
  if (pad) set("tokenizer.ggml.padding_token_id", gguf::Value::u32(uint32_t(*pad)));

  // tokenizer_config's flags win; otherwise the post-processor template says.
  const bool add_bos = config.contains("add_bos_token") && config["add_bos_token"].is_boolean()
                           ? config["add_bos_token"].get<bool>()
                           : template_first.has_value();
  const bool add_eos = config.contains("add_eos_token") && config["add_eos_token"].is_boolean()
                           ? config["add_eos_token"].get<bool>()
                           : template_last.has_value();
  set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(add_bos));
  set("tokenizer.ggml.add_eos_token", gguf::Value::boolean(add_eos));
  if (family.model == Model::kSpm) {
    set("tokenizer.ggml.add_space_prefix", gguf::Value::boolean(family.add_space_prefix));
  }
  if (std::optional<std::string> chat = chat_template(dir, config)) {
    set("tokenizer.chat_template", gguf::Value::str(*chat));
  }
  return kv;
}

}  // namespace

std::vector<gguf::KeyValue> gguf_metadata_from_hf(const std::string& dir,
                                                  const HfImportOptions& options) {
  try {
    return import_folder(dir, options);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong JSON type somewhere (hand-edited or truncated files).
    fail((std::filesystem::path(dir) / "tokenizer.json").string(), ": unexpected content (",
         e.what(), ")");
  }
}

}  // namespace kiln::tokenizer
