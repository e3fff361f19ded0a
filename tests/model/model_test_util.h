#pragma once
// Helpers for the model tests: a temp folder, error capture, and GGUF header images (built
// here, independently of gguf::Writer) mapped over untouched zero pages, so full-size presets
// load without writing gigabytes.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../common/error_of.h"
#include "gguf/gguf.h"
#include "model/synth.h"
#include "util/error.h"

namespace kiln::model::test {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kiln-model-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

using ::kiln::test::error_of;

struct TensorInfo {
  std::string name;
  gguf::Type type;
  std::vector<int64_t> shape;
};

// A GGUF v3 image of these keys and tensors whose data section is all zeros, in an anonymous
// mapping (untouched pages cost no memory). The File it parses points into it.
class HeaderImage {
 public:
  HeaderImage(const std::vector<gguf::KeyValue>& metadata, const std::vector<TensorInfo>& tensors,
              uint64_t alignment = 32) {
    std::string head;
    put_u32(head, 0x46554747);  // "GGUF"
    put_u32(head, 3);
    put_u64(head, tensors.size());
    put_u64(head, metadata.size());
    for (const gguf::KeyValue& kv : metadata) {
      put_str(head, kv.key);
      put_u32(head, uint32_t(kv.value.type));
      put_value(head, kv.value);
    }
    uint64_t offset = 0;
    for (const TensorInfo& t : tensors) {
      put_str(head, t.name);
      put_u32(head, uint32_t(t.shape.size()));
      int64_t elements = 1;
      for (int64_t d : t.shape) {
        put_u64(head, uint64_t(d));
        elements *= d;
      }
      put_u32(head, uint32_t(t.type));
      put_u64(head, offset);
      offset = align(offset + gguf::bytes_for(t.type, elements), alignment);
    }
    head.resize(align(head.size(), alignment), '\0');
    size_ = head.size() + offset;
    void* addr = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    KILN_CHECK(addr != MAP_FAILED, "cannot map ", size_, " bytes for a header image");
    addr_ = static_cast<uint8_t*>(addr);
    std::memcpy(addr_, head.data(), head.size());
  }
  ~HeaderImage() { munmap(addr_, size_); }
  HeaderImage(const HeaderImage&) = delete;
  HeaderImage& operator=(const HeaderImage&) = delete;

  gguf::File parse(const std::string& name) const {
    return gguf::File::parse(std::span<const uint8_t>(addr_, size_), name);
  }
  uint64_t size() const { return size_; }

 private:
  static uint64_t align(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
  static void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<char*>(&v), 4); }
  static void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<char*>(&v), 8); }
  static void put_str(std::string& out, const std::string& s) {
    put_u64(out, s.size());
    out += s;
  }
  static void put_value(std::string& out, const gguf::Value& v) {
    using VT = gguf::ValueType;
    switch (v.type) {
      case VT::U32: put_u32(out, uint32_t(v.as_u64("u32"))); return;
      case VT::I32: put_u32(out, uint32_t(int32_t(v.as_i64("i32")))); return;
      case VT::U64: put_u64(out, v.as_u64("u64")); return;
      case VT::F32: {
        float f = float(v.as_f64("f32"));
        out.append(reinterpret_cast<char*>(&f), 4);
        return;
      }
      case VT::STRING: put_str(out, v.as_str("string")); return;
      case VT::ARRAY: {
        const auto& items = v.as_array("array");
        put_u32(out, uint32_t(v.elem_type));
        put_u64(out, items.size());
        for (const gguf::Value& item : items) put_value(out, item);
        return;
      }
      default: fail("header image: value type ", gguf::value_type_name(v.type), " not supported");
    }
  }

  uint8_t* addr_ = nullptr;
  uint64_t size_ = 0;
};

inline std::vector<TensorInfo> tensor_infos(const std::vector<SynthTensor>& tensors) {
  std::vector<TensorInfo> out;
  for (const SynthTensor& t : tensors) out.push_back({t.slot.name, t.type, t.slot.shape});
  return out;
}

// Writes a preset's keys and tensors, with the given edits applied, to `path` (real data).
inline void write_variant(const Preset& preset, const SynthOptions& options,
                          const std::vector<gguf::KeyValue>& metadata,
                          const std::vector<SynthTensor>& tensors, const std::string& path) {
  gguf::Writer writer;
  for (const gguf::KeyValue& kv : metadata) writer.set(kv.key, kv.value);
  const HParams hp = synthetic_hparams(preset, options);
  for (const SynthTensor& t : tensors) {
    writer.add_tensor_chunked(t.slot.name, t.type, t.slot.shape,
                              [t, &preset, hp, &options](uint8_t* dst, uint64_t off, uint64_t n) {
                                fill_synthetic(t, preset, hp, options.seed, dst, off, n);
                              });
  }
  writer.write(path, 2);
}

}  // namespace kiln::model::test
