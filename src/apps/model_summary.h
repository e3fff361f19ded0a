#pragma once
// The one-line identity of a model the CLI prints: "llama 8B Q8_0", its bytes and params.
#include <cstdint>
#include <string>

#include "model/model.h"

namespace kiln::apps {

struct ModelSummary {
  std::string type;     // "<arch> <size> <file type>", as llama-bench's model column
  uint64_t bytes = 0;   // tensor data bytes
  uint64_t params = 0;  // tensor elements
};

ModelSummary summarize(const model::Model& model);

}  // namespace kiln::apps
