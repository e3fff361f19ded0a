#pragma once
// A 64-bit content hash (FNV-1a with a final avalanche) for cache keys and entry checksums.
// Not cryptographic: cache entries also store the text they were keyed by and are checked
// against it, so a collision costs a recompile, never a wrong kernel.
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::jit {

class Hasher {
 public:
  Hasher& add(std::string_view bytes);
  Hasher& add(const void* data, size_t bytes) { return add(std::string_view(static_cast<const char*>(data), bytes)); }
  uint64_t value() const;
  std::string hex() const;  // 16 lower-case hex digits

 private:
  uint64_t state_ = 0xcbf29ce484222325ull;
};

inline uint64_t hash64(std::string_view bytes) { return Hasher().add(bytes).value(); }
std::string hex64(uint64_t value);

}  // namespace kiln::jit
