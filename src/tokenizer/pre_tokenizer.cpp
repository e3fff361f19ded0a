#include "tokenizer/pre_tokenizer.h"

#include <array>
#include <cstdint>

#include "tokenizer/unicode.h"

namespace kiln::tokenizer {

namespace {

// What a regex character class can ask about one character, as bits.
enum KindBit : uint16_t {
  kLu = 1 << 0, kLl = 1 << 1, kLt = 1 << 2, kLm = 1 << 3, kLo = 1 << 4,
  kMark = 1 << 5, kNumber = 1 << 6,
  kCR = 1 << 7, kLF = 1 << 8, kSpace = 1 << 9, kOtherSpace = 1 << 10,
  kSlash = 1 << 11, kOther = 1 << 12,
};
constexpr uint16_t kAny = (1 << 13) - 1;
constexpr uint16_t kLetter = kLu | kLl | kLt | kLm | kLo;                    // \p{L}
constexpr uint16_t kWhite = kCR | kLF | kSpace | kOtherSpace;                // \s
constexpr uint16_t kNotCrLfLetterNumber = kAny & ~(kCR | kLF | kLetter | kNumber);
constexpr uint16_t kNotSpaceLetterNumber = kAny & ~(kWhite | kLetter | kNumber);
constexpr uint16_t kUpperish = kLu | kLt | kLm | kLo | kMark;  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
constexpr uint16_t kLowerish = kLl | kLm | kLo | kMark;        // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
constexpr uint16_t kCrLf = kCR | kLF;
constexpr uint16_t kCrLfSlash = kCR | kLF | kSlash;
constexpr uint16_t kUnbounded = 0xFFFF;

uint16_t kind_of_slow(uint32_t cp) {
  if (cp == '\r') return kCR;
  if (cp == '\n') return kLF;
  if (cp == ' ') return kSpace;
  if (cp == '/') return kSlash;
  if (is_white_space(cp)) return kOtherSpace;
  switch (char_class(cp)) {
    case CharClass::kLu: return kLu;
    case CharClass::kLl: return kLl;
    case CharClass::kLt: return kLt;
    case CharClass::kLm: return kLm;
    case CharClass::kLo: return kLo;
    case CharClass::kMark: return kMark;
    case CharClass::kNumber: return kNumber;
    case CharClass::kOther: break;
  }
  return kOther;
}

const std::array<uint16_t, 128> kAsciiKinds = [] {
  std::array<uint16_t, 128> t{};
  for (uint32_t c = 0; c < 128; ++c) t[c] = kind_of_slow(c);
  return t;
}();

uint16_t kind_of(uint32_t cp) { return cp < 128 ? kAsciiKinds[cp] : kind_of_slow(cp); }

// One element of a regex alternative. Quantified classes are greedy and backtrack.
struct Item {
  enum Op : uint8_t {
    kClass,                // [mask]{min,max}
    kContraction,          // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    kOptionalContraction,  // (?i:'s|'t|'re|'ve|'m|'ll|'d)?
    kNotBeforeNonSpace,    // (?!\S)
  };
  Op op;
  uint16_t mask = 0;
  uint16_t min = 0, max = 0;
};

struct Alternative {
  Item items[4];
  int count;
};

constexpr Item cls(uint16_t mask, uint16_t min, uint16_t max) { return {Item::kClass, mask, min, max}; }

// The tail shared by all three families: |\s*[\r\n]+|\s+(?!\S)|\s+
constexpr Alternative kNewlines{{cls(kWhite, 0, kUnbounded), cls(kCrLf, 1, kUnbounded)}, 2};
constexpr Alternative kSpacesBeforeSpace{
    {cls(kWhite, 1, kUnbounded), {Item::kNotBeforeNonSpace}}, 2};
constexpr Alternative kSpaces{{cls(kWhite, 1, kUnbounded)}, 1};

constexpr Alternative kLlama3[] = {
    {{{Item::kContraction}}, 1},
    {{cls(kNotCrLfLetterNumber, 0, 1), cls(kLetter, 1, kUnbounded)}, 2},
    {{cls(kNumber, 1, 3)}, 1},
    {{cls(kSpace, 0, 1), cls(kNotSpaceLetterNumber, 1, kUnbounded), cls(kCrLf, 0, kUnbounded)}, 3},
    kNewlines, kSpacesBeforeSpace, kSpaces,
};

constexpr Alternative kQwen2[] = {
    {{{Item::kContraction}}, 1},
    {{cls(kNotCrLfLetterNumber, 0, 1), cls(kLetter, 1, kUnbounded)}, 2},
    {{cls(kNumber, 1, 1)}, 1},
    {{cls(kSpace, 0, 1), cls(kNotSpaceLetterNumber, 1, kUnbounded), cls(kCrLf, 0, kUnbounded)}, 3},
    kNewlines, kSpacesBeforeSpace, kSpaces,
};

constexpr Alternative kO200k[] = {
    {{cls(kNotCrLfLetterNumber, 0, 1), cls(kUpperish, 0, kUnbounded),
      cls(kLowerish, 1, kUnbounded), {Item::kOptionalContraction}}, 4},
    {{cls(kNotCrLfLetterNumber, 0, 1), cls(kUpperish, 1, kUnbounded),
      cls(kLowerish, 0, kUnbounded), {Item::kOptionalContraction}}, 4},
    {{cls(kNumber, 1, 3)}, 1},
    {{cls(kSpace, 0, 1), cls(kNotSpaceLetterNumber, 1, kUnbounded),
      cls(kCrLfSlash, 0, kUnbounded)}, 3},
    kNewlines, kSpacesBeforeSpace, kSpaces,
};

struct Chars {
  std::vector<uint32_t> cps;
  std::vector<uint16_t> kinds;
  std::vector<uint32_t> offsets;  // byte offset of each character, plus the end
};

uint32_t ascii_lower(uint32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp; }

// Length in characters of the contraction at pos, or 0.
size_t contraction_length(const Chars& t, size_t pos) {
  const size_t n = t.cps.size();
  if (pos + 1 >= n || t.cps[pos] != '\'') return 0;
  const uint32_t a = ascii_lower(t.cps[pos + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= n) return 0;
  const uint32_t b = ascii_lower(t.cps[pos + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// End (in characters) of the match of items[0..count) at pos, or -1. Greedy with backtracking,
// as a regex engine tries it: quantifiers shrink one step at a time until the rest matches.
long match_items(const Chars& t, const Item* item, int count, size_t pos) {
  if (count == 0) return long(pos);
  const size_t n = t.cps.size();
  switch (item->op) {
    case Item::kClass: {
      size_t run = 0;
      while (run < item->max && pos + run < n && (t.kinds[pos + run] & item->mask)) ++run;
      if (run < item->min) return -1;
      for (size_t k = run + 1; k-- > item->min;) {
        long end = match_items(t, item + 1, count - 1, pos + k);
        if (end >= 0) return end;
      }
      return -1;
    }
    case Item::kContraction:
    case Item::kOptionalContraction: {
      if (size_t len = contraction_length(t, pos)) {
        long end = match_items(t, item + 1, count - 1, pos + len);
        if (end >= 0) return end;
      }
      if (item->op == Item::kContraction) return -1;
      return match_items(t, item + 1, count - 1, pos);
    }
    case Item::kNotBeforeNonSpace:
      if (pos < n && !(t.kinds[pos] & kWhite)) return -1;
      return match_items(t, item + 1, count - 1, pos);
  }
  return -1;
}

template <size_t N>
void split(const Alternative (&alternatives)[N], const Chars& t, std::string_view text,
           std::vector<std::string_view>& out) {
  const size_t n = t.cps.size();
  size_t pos = 0;
  while (pos < n) {
    long end = -1;
    for (const Alternative& alt : alternatives) {
      end = match_items(t, alt.items, alt.count, pos);
      if (end > long(pos)) break;
    }
    // Every character matches some alternative (letters, numbers, spaces, anything else), so a
    // miss cannot happen; take one character if it ever did rather than loop.
    size_t stop = end > long(pos) ? size_t(end) : pos + 1;
    out.push_back(text.substr(t.offsets[pos], t.offsets[stop] - t.offsets[pos]));
    pos = stop;
  }
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name) {
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") return PreTokenizer::kLlama3;
  if (name == "qwen2") return PreTokenizer::kQwen2;
  if (name == "gpt-4o") return PreTokenizer::kO200k;
  return std::nullopt;
}

const char* pre_tokenizer_name(PreTokenizer kind) {
  switch (kind) {
    case PreTokenizer::kLlama3: return "llama-bpe";
    case PreTokenizer::kQwen2: return "qwen2";
    case PreTokenizer::kO200k: return "gpt-4o";
  }
  return "?";
}

void pre_tokenize(PreTokenizer kind, std::string_view text, std::vector<std::string_view>& out) {
  Chars t;
  t.cps.reserve(text.size());
  t.kinds.reserve(text.size());
  t.offsets.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    Utf8Char c = decode_utf8(text, i);
    t.cps.push_back(c.cp);
    t.kinds.push_back(kind_of(c.cp));
    t.offsets.push_back(uint32_t(i));
    i += c.len;
  }
  t.offsets.push_back(uint32_t(text.size()));
  switch (kind) {
    case PreTokenizer::kLlama3: split(kLlama3, t, text, out); break;
    case PreTokenizer::kQwen2: split(kQwen2, t, text, out); break;
    case PreTokenizer::kO200k: split(kO200k, t, text, out); break;
  }
}

}  // namespace kiln::tokenizer
