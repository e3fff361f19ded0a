// kiln tokenize: text -> token ids with a GGUF file's tokenizer.
//   kiln tokenize -m FILE [TEXT | --file F] [--no-bos] [--no-special] [--pieces] [--time]
// Prints the ids on one line, comma-separated (the form `kiln logits --tokens` takes); with
// --pieces, id:"piece" pairs where piece is the token's bytes, escaped (\n, \t, \xNN for
// control bytes and invalid UTF-8).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "apps/command.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "util/error.h"

namespace kiln::apps {

namespace {

struct TokenizeOptions {
  std::string model_path;
  std::string text;
  std::string text_file;
  bool no_bos = false;
  bool no_special = false;
  bool pieces = false;
  bool time = false;
};

// A piece as a quoted string: valid UTF-8 as is, escapes for the rest.
std::string quoted(const std::string& piece) {
  std::string out = "\"";
  for (size_t i = 0; i < piece.size();) {
    const tokenizer::Utf8Char c = tokenizer::decode_utf8(piece, i);
    const uint32_t cp = c.cp;
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += char(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || cp == 0x7F || cp >= tokenizer::kInvalidByte) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", uint8_t(piece[i]));
      out += buf;
    } else {
      out.append(piece, i, c.len);
    }
    i += c.len;
  }
  return out + "\"";
}

std::string read_text(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  KILN_CHECK(in, "tokenize: cannot open --file ", path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int run_tokenize(const TokenizeOptions& opt) {
  KILN_CHECK(opt.text.empty() || opt.text_file.empty(),
             "tokenize: give the text or --file F, not both");
  const auto start_load = std::chrono::steady_clock::now();
  const gguf::File file = gguf::File::open(opt.model_path);
  const std::unique_ptr<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::from_gguf(file);
  const auto loaded = std::chrono::steady_clock::now();
  const std::string text = opt.text_file.empty() ? opt.text : read_text(opt.text_file);
  const std::vector<int32_t> ids = tok->encode(text, !opt.no_bos, !opt.no_special);
  const auto encoded = std::chrono::steady_clock::now();

  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ',';
    line += std::to_string(ids[i]);
    if (opt.pieces) line += ':' + quoted(tok->decode_piece(ids[i], /*render_special=*/true));
  }
  std::printf("%s\n", line.c_str());
  if (opt.time) {
    auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::fprintf(stderr, "tokenize: %zu bytes -> %zu tokens; load %.1f ms, encode %.1f ms\n",
                 text.size(), ids.size(), ms(start_load, loaded), ms(loaded, encoded));
  }
  return 0;
}

}  // namespace

Run add_tokenize(CLI::App& app) {
  auto opt = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "print the token ids of a text with a GGUF's tokenizer");
  cmd->add_option("-m,--model", opt->model_path, "GGUF file")->required();
  cmd->add_option("text", opt->text, "text to tokenize");
  cmd->add_option("--file", opt->text_file, "read the text from this file ('-': stdin)");
  cmd->add_flag("--no-bos", opt->no_bos, "do not add BOS/EOS even where the file asks for them");
  cmd->add_flag("--no-special", opt->no_special,
                "treat control tokens written in the text as plain text");
  cmd->add_flag("--pieces", opt->pieces, "print id:\"piece\" pairs");
  cmd->add_flag("--time", opt->time, "print load and encode times to stderr");
  return [opt] { return run_tokenize(*opt); };
}

}  // namespace kiln::apps
