#pragma once
// Sizes as people read them, the same in every message and table.
#include <cstdint>
#include <string>

namespace kiln {

// "512 B", "1.50 KiB", "7.95 GiB": the largest binary unit that keeps the value >= 1.
std::string bytes_text(uint64_t bytes);
// Always in GiB with two decimals ("7.95 GiB"), for columns and model sizes.
std::string gib_text(uint64_t bytes);

}  // namespace kiln
