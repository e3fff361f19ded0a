// Synthetic tensor values. Every block is a pure function of (seed, tensor name, block index)
// through a counter-based generator (wyrand from a start set by both), so chunks can be filled
// in any order on any thread. Quantized blocks are made directly - random int8 / FP4 codes
// and a scale - instead of quantizing floats, which keeps writing at disk speed. Each block
// holds one code of the largest magnitude, as a quantizer would write it, so
// quantize(dequantize(block)) gives the block back.
#include <cmath>
#include <cstring>

#include "gguf/types.h"
#include "model/synth.h"
#include "util/error.h"

namespace kiln::model {
namespace {

// Value distributions, chosen so activations stay O(1) through every layer: a matrix keeps
// the RMS of what it multiplies (std 1/sqrt(fan_in)), norms are ~1, biases and sinks small.
// Embeddings have std 1/sqrt(n_embd): as a tied LM head that gives logits of std ~1, and
// gemma3's sqrt(n_embd) embedding scale turns them into hidden states of RMS ~1.
struct SynthScales {
  static constexpr float norm_mean = 1.f;
  static constexpr float norm_std = 0.1f;
  static constexpr float bias_std = 0.05f;
  static constexpr float sinks_std = 0.1f;
  // Per-block scale jitter: the block's scale is std * (1 - jitter .. 1 + jitter).
  static constexpr float scale_jitter = 0.2f;
  static constexpr int scale_levels = 16;
  // RMS of the codes of a block (one of the 32 forced to the largest magnitude): int8 uniform
  // over -127..127 (-128 folded onto -127): mean square (31 * 5460.5 + 127^2) / 32; FP4 E2M1
  // uniform over its 16 codes (magnitudes 0, .5, 1, 1.5, 2, 3, 4, 6: mean square 8.5625):
  // (31 * 8.5625 + 6^2) / 32.
  static constexpr double q8_code_rms = 76.12;
  static constexpr double fp4_code_rms = 3.069;
};

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// wyrand (one 64x64->128 multiply per 8 bytes) from a start set by (tensor key, block index):
// consecutive blocks start one increment apart in the key's own sequence stretched by the
// block index, and the multiply-fold output mixes them apart.
struct BlockRandom {
  uint64_t state;
  BlockRandom(uint64_t tensor_key, uint64_t block) : state(tensor_key + block * kBlockStride) {}
  uint64_t next() {
    state += 0xa0761d6478bd642full;
    const __uint128_t product = __uint128_t(state) * (state ^ 0xe7037ed1a0b428dbull);
    return uint64_t(product >> 64) ^ uint64_t(product);
  }
  // Each block draws at most 8 words.
  static constexpr uint64_t kBlockStride = 8 * 0xa0761d6478bd642full;
};

uint64_t name_hash(const std::string& name) {  // FNV-1a
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Uniform in [-1, 1).
float symmetric_unit(uint64_t r) { return float(r >> 40) * (2.f / float(1 << 24)) - 1.f; }

struct Distribution {
  float mean = 0.f;
  float std = 0.f;
};

Distribution distribution(const SynthTensor& t, const HParams& hp) {
  const float unit_rms = t.slot.fan_in > 0 ? 1.f / std::sqrt(float(t.slot.fan_in)) : 0.f;
  switch (t.slot.role) {
    case TensorRole::embedding:
    case TensorRole::output: return {0.f, 1.f / std::sqrt(float(hp.n_embd))};
    case TensorRole::matrix:
    case TensorRole::expert_matrix:
    case TensorRole::router: return {0.f, unit_rms};
    case TensorRole::norm: return {SynthScales::norm_mean, SynthScales::norm_std};
    case TensorRole::bias:
    case TensorRole::expert_bias:
    case TensorRole::router_bias: return {0.f, SynthScales::bias_std};
    case TensorRole::sinks: return {0.f, SynthScales::sinks_std};
    case TensorRole::rope_freqs: return {1.f, 0.f};
  }
  return {};
}

void fill_q8_0(uint64_t key, float std, uint8_t* dst, uint64_t first_block, uint64_t blocks) {
  constexpr int kLevels = SynthScales::scale_levels;
  uint16_t scales[kLevels];
  for (int i = 0; i < kLevels; ++i) {
    float jitter = 1.f + SynthScales::scale_jitter * (2.f * i / (kLevels - 1) - 1.f);
    scales[i] = gguf::f32_to_f16(float(std / SynthScales::q8_code_rms) * jitter);
  }
  for (uint64_t b = 0; b < blocks; ++b, dst += 34) {
    BlockRandom rng(key, first_block + b);
    uint64_t words[4] = {rng.next(), rng.next(), rng.next(), rng.next()};
    int8_t q[32];
    std::memcpy(q, words, sizeof q);
    for (int8_t& v : q) v = v == -128 ? -127 : v;
    const uint64_t r = rng.next();
    q[r & 31] = (r >> 5) & 1 ? 127 : -127;
    const uint16_t d = scales[(r >> 8) % kLevels];
    dst[0] = uint8_t(d);
    dst[1] = uint8_t(d >> 8);
    std::memcpy(dst + 2, q, sizeof q);
  }
}

void fill_mxfp4(uint64_t key, float std, uint8_t* dst, uint64_t first_block, uint64_t blocks) {
  // The scale 2^(e - 127) is a power of two: blocks take the exponent below or above the exact
  // log2(std / code_rms), the upper one with the probability that makes the mean square right.
  const double exact = std::log2(std / SynthScales::fp4_code_rms);
  const int low_e = 127 + int(std::floor(exact));
  const double p_high = (std::exp2(2 * (exact - std::floor(exact))) - 1) / 3;
  const uint64_t high_threshold = uint64_t(p_high * double(1 << 16));
  KILN_CHECK(low_e > 1 && low_e < 254, "synth: MXFP4 scale for std ", std, " out of range");
  constexpr uint8_t kLargestPositive = 7, kLargestNegative = 15;  // +6, -6
  for (uint64_t b = 0; b < blocks; ++b, dst += 17) {
    BlockRandom rng(key, first_block + b);
    uint64_t words[2] = {rng.next(), rng.next()};
    uint8_t codes[16];
    std::memcpy(codes, words, sizeof codes);
    for (uint8_t& c : codes) {  // code 8 is -0: a quantizer writes +0 (code 0)
      const uint8_t lo = c & 0x0f, hi = c >> 4;
      c = uint8_t((hi == 8 ? 0 : hi) << 4 | (lo == 8 ? 0 : lo));
    }
    const uint64_t r = rng.next();
    const int pos = int(r & 31);
    const uint8_t largest = (r >> 5) & 1 ? kLargestPositive : kLargestNegative;
    uint8_t& byte = codes[pos % 16];
    byte = pos < 16 ? uint8_t((byte & 0xf0) | largest) : uint8_t((byte & 0x0f) | (largest << 4));
    dst[0] = uint8_t(low_e + (((r >> 8) & 0xffff) < high_threshold ? 1 : 0));
    std::memcpy(dst + 1, codes, sizeof codes);
  }
}

void fill_f32(uint64_t key, Distribution dist, float* dst, uint64_t first, uint64_t count) {
  const float half_width = dist.std * std::sqrt(3.f);  // uniform with this std
  for (uint64_t i = 0; i < count; ++i)
    dst[i] = dist.mean + half_width * symmetric_unit(mix64(key ^ mix64(first + i + 1)));
}

// llama3 RoPE scaling as the converter writes rope_freqs.weight: per pair i with frequency
// base^(-2i/dim) and wavelength 2 pi / freq, the divisor is 1 for short wavelengths (below
// original / high_freq_factor), `factor` for long ones (above original / low_freq_factor),
// and a smooth blend 1 / ((1 - s) / factor + s) in between.
void fill_llama3_rope_freqs(const Llama3RopeScaling& s, const HParams& hp, float* dst,
                            uint64_t first, uint64_t count) {
  const double pi = 3.14159265358979323846;
  const double low_wavelen = s.original_context / s.low_freq_factor;
  const double high_wavelen = s.original_context / s.high_freq_factor;
  for (uint64_t k = 0; k < count; ++k) {
    const uint64_t i = first + k;
    const double freq = 1.0 / std::pow(double(hp.rope_base), double(2 * i) / hp.rope_dim);
    const double wavelen = 2 * pi / freq;
    double divisor;
    if (wavelen < high_wavelen) {
      divisor = 1.0;
    } else if (wavelen > low_wavelen) {
      divisor = s.factor;
    } else {
      const double smooth = (s.original_context / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      divisor = 1.0 / ((1 - smooth) / s.factor + smooth);
    }
    dst[k] = float(divisor);
  }
}

}  // namespace

void fill_synthetic(const SynthTensor& tensor, const Preset& preset, const HParams& hp,
                    uint64_t seed, uint8_t* dst, uint64_t offset, uint64_t bytes) {
  const gguf::TypeInfo info = gguf::type_info(tensor.type);
  KILN_CHECK(info.block_bytes > 0 && offset % info.block_bytes == 0 && bytes % info.block_bytes == 0,
             "synth: tensor ", tensor.slot.name, ": range [", offset, ", +", bytes,
             ") is not in whole ", info.name, " blocks");
  const uint64_t key = mix64(seed * kGolden ^ name_hash(tensor.slot.name));
  const uint64_t first = offset / info.block_bytes, blocks = bytes / info.block_bytes;
  const Distribution dist = distribution(tensor, hp);
  if (tensor.slot.role == TensorRole::rope_freqs) {
    KILN_CHECK(preset.llama3 && tensor.type == gguf::Type::F32, "synth: ", tensor.slot.name,
               " needs llama3 scaling and type F32");
    std::vector<float> values(blocks);
    fill_llama3_rope_freqs(*preset.llama3, hp, values.data(), first, blocks);
    std::memcpy(dst, values.data(), bytes);
    return;
  }
  switch (tensor.type) {
    case gguf::Type::Q8_0: fill_q8_0(key, dist.std, dst, first, blocks); return;
    case gguf::Type::MXFP4: fill_mxfp4(key, dist.std, dst, first, blocks); return;
    case gguf::Type::F32: {
      std::vector<float> values(blocks);
      fill_f32(key, dist, values.data(), first, blocks);
      std::memcpy(dst, values.data(), bytes);
      return;
    }
    default:
      fail("synth: tensor ", tensor.slot.name, ": cannot make values of type ", info.name);
  }
}

}  // namespace kiln::model
