#include "apps/model_summary.h"

#include <cmath>
#include <cstdio>

namespace kiln::apps {

namespace {

// general.file_type, as the quantizer writes it (the most common ones).
std::string file_type_name(uint64_t file_type) {
  switch (file_type) {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 7: return "Q8_0";
    case 15: return "Q4_K - Medium";
    case 18: return "Q6_K";
    case 32: return "BF16";
    case 38: return "MXFP4 MoE";
    default: return "type " + std::to_string(file_type);
  }
}

}  // namespace

ModelSummary summarize(const model::Model& model) {
  ModelSummary s;
  for (const auto& t : model.file->tensors()) {
    s.bytes += t.bytes;
    s.params += uint64_t(t.elements());
  }
  char size[32];
  double b = s.params / 1e9;
  if (b >= 1) std::snprintf(size, sizeof size, "%.*fB", b < 10 ? 1 : 0, b);
  else std::snprintf(size, sizeof size, "%.0fM", s.params / 1e6);
  s.type = model.arch.name + " " + size + " " +
           file_type_name(model.file->get_u64_or("general.file_type", 0));
  return s;
}

}  // namespace kiln::apps
