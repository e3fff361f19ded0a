#pragma once
// The reader's result before it becomes a File. Internal to src/gguf.
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace kiln::gguf {

struct Layout {
  uint32_t version = 0;
  uint64_t alignment = 0;
  uint64_t data_offset = 0;
  std::vector<KeyValue> metadata;
  std::vector<Tensor> tensors;  // data points into `bytes`
};

// Parses and validates a whole GGUF image; throws kiln::Error("NAME: problem") on the first
// problem (reader.cpp lists them).
Layout parse_layout(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace kiln::gguf
