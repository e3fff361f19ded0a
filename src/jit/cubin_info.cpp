#include "jit/cubin_info.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "util/error.h"

namespace kiln::jit {

namespace {

constexpr uint8_t kAttrFrameSize = 0x11, kAttrRegCount = 0x2f;
constexpr uint8_t kFormatSizedValue = 0x04;  // a 16-bit size, then that many bytes of payload

template <class T>
T read(std::string_view bytes, uint64_t offset) {
  KILN_CHECK(offset <= bytes.size() && sizeof(T) <= bytes.size() - offset, "cubin: read past the end (offset ", offset,
             " of ", bytes.size(), " bytes)");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace

CubinInfo cubin_info(std::string_view cubin) {
  KILN_CHECK(cubin.size() >= 64 && cubin.substr(0, 4) == "\x7f" "ELF" && cubin[4] == 2,
             "cubin: not a 64-bit ELF image (", cubin.size(), " bytes)");
  const auto section_headers = read<uint64_t>(cubin, 0x28);
  const auto header_size = read<uint16_t>(cubin, 0x3a), count = read<uint16_t>(cubin, 0x3c);
  const auto names_index = read<uint16_t>(cubin, 0x3e);
  KILN_CHECK(header_size >= 64 && names_index < count, "cubin: bad section header table");
  // Section header: name offset at 0, file offset at 0x18, size at 0x20.
  const auto section = [&](int i, uint64_t field) { return section_headers + uint64_t(i) * header_size + field; };
  const uint64_t names = read<uint64_t>(cubin, section(names_index, 0x18));
  CubinInfo info;
  for (int i = 0; i < count; ++i) {
    const uint64_t name = names + read<uint32_t>(cubin, section(i, 0));
    KILN_CHECK(name < cubin.size(), "cubin: section name outside the image");
    if (cubin.compare(name, 8, ".nv.info") != 0) continue;
    const uint64_t offset = read<uint64_t>(cubin, section(i, 0x18)), size = read<uint64_t>(cubin, section(i, 0x20));
    KILN_CHECK(offset <= cubin.size() && size <= cubin.size() - offset, "cubin: section outside the image");
    for (uint64_t at = offset; at + 4 <= offset + size;) {
      const auto format = read<uint8_t>(cubin, at), attribute = read<uint8_t>(cubin, at + 1);
      const auto value = read<uint16_t>(cubin, at + 2);
      if (format == kFormatSizedValue && value >= 8 && (attribute == kAttrRegCount || attribute == kAttrFrameSize)) {
        const int v = static_cast<int>(read<uint32_t>(cubin, at + 8));  // after the symbol index
        int& field = attribute == kAttrRegCount ? info.registers : info.stack_bytes;
        field = std::max(field, v);
      }
      at += 4 + (format == kFormatSizedValue ? value : 0);
    }
  }
  return info;
}

}  // namespace kiln::jit
