// The table of GGUF tensor types: block size and bytes per block for every id a file may hold,
// and which of them kiln converts on the CPU.
#include "gguf/types.h"

#include "util/error.h"

namespace kiln::gguf {
namespace {

struct TypeRow {
  Type type;
  TypeInfo info;
};

// Block geometry as defined by ggml's block structs (elements per block, bytes per block).
constexpr TypeRow kTypeTable[] = {
    {Type::F32, {"F32", 1, 4, true}},
    {Type::F16, {"F16", 1, 2, true}},
    {Type::Q4_0, {"Q4_0", 32, 18, true}},
    {Type::Q4_1, {"Q4_1", 32, 20, false}},
    {Type::Q5_0, {"Q5_0", 32, 22, false}},
    {Type::Q5_1, {"Q5_1", 32, 24, false}},
    {Type::Q8_0, {"Q8_0", 32, 34, true}},
    {Type::Q8_1, {"Q8_1", 32, 36, false}},
    {Type::Q2_K, {"Q2_K", 256, 84, false}},
    {Type::Q3_K, {"Q3_K", 256, 110, false}},
    {Type::Q4_K, {"Q4_K", 256, 144, true}},
    {Type::Q5_K, {"Q5_K", 256, 176, false}},
    {Type::Q6_K, {"Q6_K", 256, 210, true}},
    {Type::Q8_K, {"Q8_K", 256, 292, false}},
    {Type::IQ2_XXS, {"IQ2_XXS", 256, 66, false}},
    {Type::IQ2_XS, {"IQ2_XS", 256, 74, false}},
    {Type::IQ3_XXS, {"IQ3_XXS", 256, 98, false}},
    {Type::IQ1_S, {"IQ1_S", 256, 50, false}},
    {Type::IQ4_NL, {"IQ4_NL", 32, 18, false}},
    {Type::IQ3_S, {"IQ3_S", 256, 110, false}},
    {Type::IQ2_S, {"IQ2_S", 256, 82, false}},
    {Type::IQ4_XS, {"IQ4_XS", 256, 136, false}},
    {Type::I8, {"I8", 1, 1, false}},
    {Type::I16, {"I16", 1, 2, false}},
    {Type::I32, {"I32", 1, 4, false}},
    {Type::I64, {"I64", 1, 8, false}},
    {Type::F64, {"F64", 1, 8, false}},
    {Type::IQ1_M, {"IQ1_M", 256, 56, false}},
    {Type::BF16, {"BF16", 1, 2, true}},
    {Type::TQ1_0, {"TQ1_0", 256, 54, false}},
    {Type::TQ2_0, {"TQ2_0", 256, 66, false}},
    {Type::MXFP4, {"MXFP4", 32, 17, true}},
};

}  // namespace

TypeInfo type_info(uint32_t type_id) {
  for (const TypeRow& row : kTypeTable) {
    if (static_cast<uint32_t>(row.type) == type_id) return row.info;
  }
  return TypeInfo{"unknown", 0, 0, false};
}

std::string_view type_name(Type type) { return type_info(type).name; }

uint64_t bytes_for(Type type, int64_t elements) {
  TypeInfo info = type_info(type);
  KILN_CHECK(info.block_elems > 0, "unknown tensor type id ", static_cast<uint32_t>(type));
  KILN_CHECK(elements >= 0, "negative element count ", elements, " for type ", info.name);
  KILN_CHECK(elements % info.block_elems == 0, elements, " elements of ", info.name,
             " is not a multiple of its block size ", info.block_elems);
  uint64_t blocks = static_cast<uint64_t>(elements / info.block_elems);
  uint64_t bytes = 0;
  KILN_CHECK(!__builtin_mul_overflow(blocks, static_cast<uint64_t>(info.block_bytes), &bytes),
             elements, " elements of ", info.name, " take more than 2^64 bytes");
  return bytes;
}

}  // namespace kiln::gguf
