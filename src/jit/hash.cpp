#include "jit/hash.h"

namespace kiln::jit {

Hasher& Hasher::add(std::string_view bytes) {
  uint64_t h = state_;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  state_ = h;
  return *this;
}

uint64_t Hasher::value() const {
  // splitmix64's finalizer: every input bit reaches every output bit.
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string hex64(uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[i] = digits[value & 15];
  return out;
}

std::string Hasher::hex() const { return hex64(value()); }

}  // namespace kiln::jit
