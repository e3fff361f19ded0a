#pragma once
// What an SPM tokenizer's decode gives back for a text: SPM spells spaces U+2581, so a literal
// U+2581 in the input decodes as a space (as in HF). The round-trip tests expect this text.
#include <string>
#include <string_view>

namespace kiln::tokenizer::testing {

inline std::string spm_spaces(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, 3) == "\xE2\x96\x81") {
      out += ' ';
      i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace kiln::tokenizer::testing
