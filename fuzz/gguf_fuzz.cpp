// libFuzzer target for gguf::File::parse: any input must either parse or throw a one-line
// kiln::Error; anything else (a crash, a sanitizer report, another exception, an error message
// with a newline) is a bug. On success it also reads what a loader would: every value, and the
// first block of each tensor through the CPU converters, so out-of-bounds pointers show up.
// Build and run: fuzz/run_gguf_fuzz.sh [seconds]
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/types.h"
#include "util/error.h"

namespace {

void touch(const kiln::gguf::Value& v, int depth) {
  (void)v.to_string(4);
  if (v.type == kiln::gguf::ValueType::ARRAY) {
    for (const kiln::gguf::Value& item : v.as_array("fuzz")) touch(item, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    kiln::gguf::File f = kiln::gguf::File::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
    for (const kiln::gguf::KeyValue& kv : f.metadata()) touch(kv.value, 0);
    (void)f.get_u64_or("general.alignment", 0);
    std::vector<float> out;
    for (const kiln::gguf::Tensor& t : f.tensors()) {
      if (t.data < data || t.data + t.bytes > data + size) std::abort();
      volatile uint8_t first = t.data[0], last = t.data[t.bytes - 1];
      (void)first;
      (void)last;
      kiln::gguf::TypeInfo info = kiln::gguf::type_info(t.type);
      if (info.cpu_supported) {
        out.resize(static_cast<size_t>(info.block_elems));
        kiln::gguf::dequantize(t.type, t.data, out.data(), info.block_elems);
      }
      (void)t.shape_string();
      (void)t.rows();
    }
  } catch (const kiln::Error& e) {
    if (std::strchr(e.what(), '\n') != nullptr || e.what()[0] == '\0') std::abort();
  }
  return 0;
}
