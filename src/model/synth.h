#pragma once
// Synthetic models: random-weight GGUF files with a preset's exact keys, tensor names, shapes
// and types (shared/presets.md), so kiln and llama.cpp can be timed on the same bytes, and
// tiny ones of every arch for tests. Values are random but valid (finite, realistic
// magnitudes) and a pure function of (seed, tensor name, block index): any thread count
// writes the same bytes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"
#include "model/tensor_schema.h"

namespace kiln::model {

// Llama 3.x RoPE scaling, written as the rope_freqs.weight tensor (one divisor per pair).
struct Llama3RopeScaling {
  float factor = 8.f;
  float low_freq_factor = 1.f;
  float high_freq_factor = 4.f;
  int original_context = 8192;
};

struct Preset {
  std::string name, arch;
  HParams hp;               // exactly what load_model reads back from the written file
  std::string description;
  bool tied_output = false;  // no output.weight: the LM head is token_embd
  gguf::Type weight_type = gguf::Type::Q8_0;  // embeddings, attention, output
  gguf::Type ffn_type = gguf::Type::Q8_0;     // FFN matrices, dense or expert (gpt-oss: MXFP4)
  uint32_t file_type = 7;   // general.file_type: 7 MOSTLY_Q8_0, 38 MOSTLY_MXFP4_MOE
  std::optional<Llama3RopeScaling> llama3;  // writes rope_freqs.weight
  bool tiny = false;        // a small test model, not a row of the seed table
};

// The ten seed-table presets, then the tiny ones (llama-tiny, ..., gpt-oss-tiny).
const std::vector<Preset>& presets();
// Throws kiln::Error listing the preset names when `name` is unknown.
const Preset& find_preset(const std::string& name);

struct SynthOptions {
  uint64_t seed = 1;
  int layers = 0;  // 0: the preset's
  int vocab = 0;   // 0: the preset's (or the tokenizer's, when extra_metadata carries one)
  // Written after the preset's keys (replacing any of the same name), e.g. a tokenizer's
  // tokenizer.ggml.* keys. When it holds tokenizer.ggml.tokens, the vocabulary is fitted to it:
  // a shorter list is padded with "[PAD<id>]" tokens up to the vocabulary (as llama.cpp's
  // converter pads), a longer one sets the vocabulary.
  std::vector<gguf::KeyValue> extra_metadata;
  int threads = 0;  // 0: default_threads()
  std::function<void(uint64_t done, uint64_t total)> progress;
};

void write_synthetic(const Preset& preset, const SynthOptions& options, const std::string& path);
uint64_t synthetic_file_bytes(const Preset& preset, const SynthOptions& options);

// The pieces write_synthetic uses, for tests that build variants (hostile files) of a preset.
// The hparams a file written with these options has (layers, vocab applied).
HParams synthetic_hparams(const Preset& preset, const SynthOptions& options);
// Every key and value, in file order (tokenizer padding applied).
std::vector<gguf::KeyValue> synthetic_metadata(const Preset& preset, const SynthOptions& options);

struct SynthTensor {
  TensorSlot slot;  // name, shape, role
  gguf::Type type = gguf::Type::F32;
};
std::vector<SynthTensor> synthetic_tensors(const Preset& preset, const SynthOptions& options);

// Fills bytes [offset, offset + bytes) of a tensor's data (offset and bytes in whole blocks of
// its type). `hp` gives rope_freqs its dimension and base.
void fill_synthetic(const SynthTensor& tensor, const Preset& preset, const HParams& hp,
                    uint64_t seed, uint8_t* dst, uint64_t offset, uint64_t bytes);

// A writer holding everything write_synthetic writes (call .write(path, threads, progress)).
gguf::Writer synthetic_writer(const Preset& preset, const SynthOptions& options);

// Total parameters (tensor elements) of a preset's file.
uint64_t synthetic_params(const Preset& preset, const SynthOptions& options);

}  // namespace kiln::model
