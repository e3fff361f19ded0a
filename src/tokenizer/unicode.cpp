#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <memory>

#include "tokenizer/unicode_data.h"

namespace kiln::tokenizer {

namespace ud = unicode_data;

namespace {

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Class of every BMP code point, expanded once from the run table (64 KiB; most text is BMP).
const std::array<uint8_t, 0x10000>& bmp_classes() {
  static const std::unique_ptr<std::array<uint8_t, 0x10000>> table = [] {
    auto t = std::make_unique<std::array<uint8_t, 0x10000>>();
    for (size_t i = 0; i < ud::kClassRunCount; ++i) {
      uint32_t first = ud::kClassRuns[i].first;
      if (first >= 0x10000) break;
      uint32_t end = i + 1 < ud::kClassRunCount ? ud::kClassRuns[i + 1].first : 0x110000;
      std::fill(t->begin() + first, t->begin() + std::min<uint32_t>(end, 0x10000),
                ud::kClassRuns[i].cls);
    }
    return t;
  }();
  return *table;
}

// Hangul syllable arithmetic (Unicode ch. 3.12).
constexpr uint32_t kHangulS = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr uint32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr uint32_t kHangulN = kHangulVCount * kHangulTCount, kHangulSCount = kHangulLCount * kHangulN;

bool nfc_may_change(uint32_t cp) {
  const ud::CodeRange* end = ud::kNfcMaybe + ud::kNfcMaybeCount;
  const ud::CodeRange* it = std::upper_bound(
      ud::kNfcMaybe, end, cp, [](uint32_t c, const ud::CodeRange& r) { return c < r.first; });
  return it != ud::kNfcMaybe && cp <= (it - 1)->last;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kHangulS && cp < kHangulS + kHangulSCount) {
    uint32_t s = cp - kHangulS;
    out.push_back(kHangulL + s / kHangulN);
    out.push_back(kHangulV + (s % kHangulN) / kHangulTCount);
    if (s % kHangulTCount != 0) out.push_back(kHangulT + s % kHangulTCount);
    return;
  }
  const ud::Decomposition* end = ud::kDecompositions + ud::kDecompositionCount;
  const ud::Decomposition* it = std::lower_bound(
      ud::kDecompositions, end, cp, [](const ud::Decomposition& d, uint32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  for (uint32_t c : it->nfd) {
    if (c != 0) out.push_back(c);
  }
}

// The primary composite of (first, second), or 0.
uint32_t compose(uint32_t first, uint32_t second) {
  if (first >= kHangulL && first < kHangulL + kHangulLCount && second >= kHangulV &&
      second < kHangulV + kHangulVCount) {
    return kHangulS + ((first - kHangulL) * kHangulVCount + (second - kHangulV)) * kHangulTCount;
  }
  if (first >= kHangulS && first < kHangulS + kHangulSCount && (first - kHangulS) % kHangulTCount == 0 &&
      second > kHangulT && second < kHangulT + kHangulTCount) {
    return first + (second - kHangulT);
  }
  const ud::Composition* end = ud::kCompositions + ud::kCompositionCount;
  const ud::Composition* it = std::lower_bound(
      ud::kCompositions, end, std::pair{first, second},
      [](const ud::Composition& c, std::pair<uint32_t, uint32_t> key) {
        return c.first != key.first ? c.first < key.first : c.second < key.second;
      });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

}  // namespace

int utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

Utf8Char decode_utf8(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t left = text.size() - pos;
  const uint8_t b0 = s[pos];
  const Utf8Char invalid{kInvalidByte + b0, 1};
  const int n = utf8_sequence_length(b0);
  if (n == 1) return {b0, 1};
  if (n == 0 || left < size_t(n)) return invalid;
  const uint8_t b1 = s[pos + 1];
  // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 == 0xE0) lo = 0xA0;
  else if (b0 == 0xED) hi = 0x9F;
  else if (b0 == 0xF0) lo = 0x90;
  else if (b0 == 0xF4) hi = 0x8F;
  if (b1 < lo || b1 > hi) return invalid;
  if (n == 2) return {uint32_t(b0 & 0x1F) << 6 | (b1 & 0x3F), 2};
  const uint8_t b2 = s[pos + 2];
  if (!is_continuation(b2)) return invalid;
  if (n == 3) return {uint32_t(b0 & 0x0F) << 12 | uint32_t(b1 & 0x3F) << 6 | (b2 & 0x3F), 3};
  const uint8_t b3 = s[pos + 3];
  if (!is_continuation(b3)) return invalid;
  return {uint32_t(b0 & 0x07) << 18 | uint32_t(b1 & 0x3F) << 12 | uint32_t(b2 & 0x3F) << 6 |
              (b3 & 0x3F),
          4};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp >= kInvalidByte) {
    out.push_back(char(cp - kInvalidByte));
  } else if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

CharClass char_class(uint32_t cp) {
  if (cp < 0x10000) return CharClass(bmp_classes()[cp]);
  if (cp >= 0x110000) return CharClass::kOther;
  const ud::ClassRun* end = ud::kClassRuns + ud::kClassRunCount;
  const ud::ClassRun* it = std::upper_bound(
      ud::kClassRuns, end, cp, [](uint32_t c, const ud::ClassRun& r) { return c < r.first; });
  return CharClass((it - 1)->cls);
}

bool is_white_space(uint32_t cp) {
  // PropList.txt White_Space (unchanged since Unicode 6.3).
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

uint8_t combining_class(uint32_t cp) {
  const ud::CccRange* end = ud::kCccRanges + ud::kCccRangeCount;
  const ud::CccRange* it = std::upper_bound(
      ud::kCccRanges, end, cp, [](uint32_t c, const ud::CccRange& r) { return c < r.first; });
  return it != ud::kCccRanges && cp <= (it - 1)->last ? (it - 1)->ccc : 0;
}

bool nfc(std::string_view text, std::string& out) {
  bool may_change = false;
  for (size_t i = 0; i < text.size() && !may_change;) {
    // Lead bytes below 0xCC start code points below U+0300, which NFC never touches.
    if (uint8_t(text[i]) < 0xCC) {
      ++i;
      continue;
    }
    Utf8Char c = decode_utf8(text, i);
    may_change = nfc_may_change(c.cp);
    i += c.len;
  }
  if (!may_change) return false;

  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    Utf8Char c = decode_utf8(text, i);
    decompose(c.cp, cps);
    i += c.len;
  }
  // Canonical order: stable-sort each run of non-starters by combining class.
  std::vector<uint8_t> ccc(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) ccc[i] = combining_class(cps[i]);
  for (size_t i = 0; i < cps.size();) {
    if (ccc[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && ccc[j] != 0) ++j;
    if (j - i > 1) {
      std::vector<std::pair<uint8_t, uint32_t>> run;
      for (size_t k = i; k < j; ++k) run.emplace_back(ccc[k], cps[k]);
      std::stable_sort(run.begin(), run.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t k = i; k < j; ++k) std::tie(ccc[k], cps[k]) = run[k - i];
    }
    i = j;
  }
  // Canonical composition: a character joins the last starter unless something between them
  // blocks it (a starter, or a mark of the same or higher class).
  std::vector<uint32_t> composed;
  composed.reserve(cps.size());
  long starter = -1;
  int last_ccc = -1;  // class of the last character kept after the starter; -1: none
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    const int cc = ccc[i];
    if (starter >= 0 && (last_ccc == -1 || last_ccc < cc)) {
      if (uint32_t c = compose(composed[starter], cp)) {
        composed[starter] = c;
        continue;
      }
    }
    if (cc == 0) {
      starter = long(composed.size());
      last_ccc = -1;
    } else {
      last_ccc = cc;
    }
    composed.push_back(cp);
  }
  out.clear();
  out.reserve(text.size());
  for (uint32_t cp : composed) append_utf8(out, cp);
  return true;
}

const char* unicode_version() { return ud::kUnicodeVersion; }

}  // namespace kiln::tokenizer
