// kiln info: what a GGUF file holds and what kiln makes of it.
//   kiln info FILE [--tensors] [--items N]
// Prints the metadata (arrays abbreviated), the tensors (the per-block ones collapsed to one
// line per blk.N.* name unless --tensors) and the description model::load_model derives. A file
// kiln cannot run still gets its metadata and tensors printed, then the one-line error.
#include <cstdio>
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "apps/command.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "util/error.h"
#include "util/format.h"

namespace kiln::apps {

namespace {

struct InfoOptions {
  std::string path;
  bool all_tensors = false;
  int items = 8;  // array items shown per metadata value
};

constexpr size_t kMaxNameWidth = 40;

// Keys and tensor names come from the file: show control bytes escaped.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out;
}

// "blk.12.attn_q.weight" -> (12, "attn_q.weight"); -1 when not a block tensor.
int block_of(const std::string& name, std::string& suffix) {
  if (name.rfind("blk.", 0) != 0) return -1;
  size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4 || dot - 4 > 6) return -1;
  int block = 0;
  for (size_t i = 4; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    block = block * 10 + (name[i] - '0');
  }
  suffix = name.substr(dot + 1);
  return block;
}

// {0,1,2,3,5} -> "0-3,5"
std::string ranges(const std::vector<int>& blocks) {
  std::string out;
  for (size_t i = 0; i < blocks.size();) {
    size_t j = i;
    while (j + 1 < blocks.size() && blocks[j + 1] == blocks[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(blocks[i]);
    if (j > i) out += "-" + std::to_string(blocks[j]);
    i = j + 1;
  }
  return out;
}

void print_tensor_row(const std::string& name, const gguf::Tensor& t, const std::string& note) {
  std::printf("  %-*s %-6s %-16s %11s%s\n", int(kMaxNameWidth), printable(name).c_str(),
              std::string(gguf::type_name(t.type)).c_str(), t.shape_string().c_str(),
              bytes_text(t.bytes).c_str(), note.c_str());
}

void print_tensors(const gguf::File& file, bool all) {
  uint64_t total = 0;
  for (const gguf::Tensor& t : file.tensors()) total += t.bytes;
  std::printf("tensors (%zu, %s)\n", file.tensors().size(), bytes_text(total).c_str());
  if (all) {
    for (const gguf::Tensor& t : file.tensors()) print_tensor_row(t.name, t, "");
    return;
  }
  // One row per (blk.N suffix, type, shape), in first-appearance order, naming its blocks.
  struct Group {
    const gguf::Tensor* first;
    std::string suffix;
    std::vector<int> blocks;
    uint64_t bytes = 0;
  };
  std::vector<Group> groups;
  std::map<std::string, size_t> group_of;
  for (const gguf::Tensor& t : file.tensors()) {
    std::string suffix;
    int block = block_of(t.name, suffix);
    if (block < 0) {
      print_tensor_row(t.name, t, "");
      continue;
    }
    std::string key = suffix + "|" + std::string(gguf::type_name(t.type)) + "|" + t.shape_string();
    auto [it, fresh] = group_of.emplace(key, groups.size());
    if (fresh) groups.push_back(Group{&t, suffix, {}, 0});
    Group& g = groups[it->second];
    g.blocks.push_back(block);
    g.bytes += t.bytes;
  }
  for (Group& g : groups) {
    std::sort(g.blocks.begin(), g.blocks.end());
    std::string name = "blk.[" + ranges(g.blocks) + "]." + g.suffix;
    std::string note = g.blocks.size() > 1
                           ? " each, x" + std::to_string(g.blocks.size()) + " = " + bytes_text(g.bytes)
                           : "";
    print_tensor_row(name, *g.first, note);
  }
}

int run_info(const InfoOptions& opt) {
  const gguf::File file = gguf::File::open(opt.path);
  std::printf("file %s: GGUF v%u, %s, alignment %llu, tensor data at byte %llu\n",
              printable(opt.path).c_str(), file.version(), bytes_text(file.file_size()).c_str(),
              static_cast<unsigned long long>(file.alignment()),
              static_cast<unsigned long long>(file.data_offset()));
  std::printf("metadata (%zu keys)\n", file.metadata().size());
  for (const gguf::KeyValue& kv : file.metadata()) {
    std::string type = gguf::value_type_name(kv.value.type);
    if (kv.value.type == gguf::ValueType::ARRAY)
      type = std::string("array of ") + gguf::value_type_name(kv.value.elem_type);
    std::printf("  %-*s %-8s %s\n", int(kMaxNameWidth), printable(kv.key).c_str(),
                type.c_str(), kv.value.to_string(size_t(opt.items)).c_str());
  }
  print_tensors(file, opt.all_tensors);
  std::fflush(stdout);
  const model::Model model = model::load_model(file);  // throws: main prints the error, exit 1
  std::printf("kiln runs it as\n");
  std::string text = model.describe();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::printf("  %s\n", text.substr(start, end - start).c_str());
    start = end + 1;
  }
  return 0;
}

}  // namespace

Run add_info(CLI::App& app) {
  auto opt = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "print a GGUF's metadata, tensors, and how kiln runs it");
  cmd->add_option("file", opt->path, "GGUF file")->required();
  cmd->add_flag("--tensors", opt->all_tensors, "list every tensor (default: one row per blk.N.* name)");
  cmd->add_option("--items", opt->items, "array items shown per metadata value (default 8)")
      ->check(CLI::NonNegativeNumber);
  return [opt] { return run_info(*opt); };
}

}  // namespace kiln::apps
