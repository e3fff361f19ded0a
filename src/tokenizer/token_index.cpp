#include "tokenizer/token_index.h"

#include <cstring>

namespace kiln::tokenizer {

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x;
}

// 8 bytes at a time: tokens are short, so this is a few multiplies per lookup.
uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, s.data() + i, 8);
    h = mix(h ^ chunk) * 0x9E3779B97F4A7C15ull;
  }
  uint64_t tail = 0;
  if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);
  return mix(h ^ tail ^ (uint64_t(s.size() - i) << 59));
}

}  // namespace

void TokenIndex::build(const std::vector<std::string>* keys, const std::vector<bool>& include) {
  keys_ = keys;
  size_t count = 0;
  for (size_t id = 0; id < keys->size(); ++id) count += include.empty() || include[id];
  size_t capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  const size_t mask = capacity - 1;
  for (size_t id = 0; id < keys->size(); ++id) {
    if (!include.empty() && !include[id]) continue;
    const std::string& key = (*keys)[id];
    const uint64_t h = hash_bytes(key);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id < 0) {
        slot = {uint32_t(h >> 32), int32_t(id)};
        break;
      }
      if (slot.hash == uint32_t(h >> 32) && (*keys)[slot.id] == key) break;  // keep the first
    }
  }
}

int32_t TokenIndex::find(std::string_view key) const {
  if (slots_.empty()) return -1;
  const uint64_t h = hash_bytes(key);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.id < 0) return -1;
    if (slot.hash == uint32_t(h >> 32) && (*keys_)[slot.id] == key) return slot.id;
  }
}

}  // namespace kiln::tokenizer
