#pragma once
// GGUF files: a bounds-checked reader over an mmap'd file (tensors are never copied on load)
// and a writer. Format facts: magic "GGUF", version 2 or 3, little-endian, metadata key/values,
// tensor infos (name, dims with ne[0] = row length first, type, offset into the data section),
// data section aligned to general.alignment (default 32).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gguf/types.h"

namespace kiln::gguf {

// Metadata value types, numbered as in the file.
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* value_type_name(ValueType type);

// One metadata value. Integers keep their file type; accessors convert with range checks and
// throw kiln::Error naming the key on a type mismatch.
struct Value {
  ValueType type = ValueType::U32;
  ValueType elem_type = ValueType::U32;  // arrays only
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<Value>> data;

  static Value u8(uint8_t v);
  static Value i8(int8_t v);
  static Value u16(uint16_t v);
  static Value i16(int16_t v);
  static Value u32(uint32_t v);
  static Value i32(int32_t v);
  static Value u64(uint64_t v);
  static Value i64(int64_t v);
  static Value f32(float v);
  static Value f64(double v);
  static Value boolean(bool v);
  static Value str(std::string v);
  static Value array(ValueType elem_type, std::vector<Value> items);
  static Value strings(const std::vector<std::string>& items);
  static Value f32s(const std::vector<float>& items);
  static Value i32s(const std::vector<int32_t>& items);

  bool is_integer() const;
  bool is_float() const;
  uint64_t as_u64(std::string_view key) const;  // any non-negative integer type
  int64_t as_i64(std::string_view key) const;   // any integer type that fits
  double as_f64(std::string_view key) const;    // F32, F64 or any integer
  bool as_bool(std::string_view key) const;
  const std::string& as_str(std::string_view key) const;
  const std::vector<Value>& as_array(std::string_view key) const;
  std::string to_string(size_t max_items = 8) const;  // for `kiln info`
  // Same type, element type and data (recursively; floats compare as numbers).
  bool operator==(const Value& other) const;
};

struct KeyValue {
  std::string key;
  Value value;
};

struct Tensor {
  std::string name;
  Type type = Type::F32;
  std::vector<int64_t> shape;  // ne[0] (row length) first, at most 4 dims
  uint64_t offset = 0;         // from the start of the data section
  uint64_t bytes = 0;          // exact size of the tensor's data
  const uint8_t* data = nullptr;  // into the mapping

  int64_t elements() const;
  int64_t rows() const;  // elements / shape[0]
  std::string shape_string() const;  // "4096x14336"
};

// A parsed, validated GGUF file. Construction checks everything a hostile file could get wrong
// (see reader.cpp) and throws kiln::Error("FILE: problem") on the first problem.
class File {
 public:
  static File open(const std::string& path);
  // Parses bytes already in memory (no copy; the caller keeps them alive). For tests/fuzzing.
  static File parse(std::span<const uint8_t> bytes, std::string name);

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  std::span<const uint8_t> bytes() const { return bytes_; }

  const std::vector<KeyValue>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;
  const Value& get(std::string_view key) const;  // throws "FILE: missing key KEY"
  uint64_t get_u64(std::string_view key) const;
  uint64_t get_u64_or(std::string_view key, uint64_t fallback) const;
  double get_f64(std::string_view key) const;
  double get_f64_or(std::string_view key, double fallback) const;
  std::string get_str(std::string_view key) const;
  std::string get_str_or(std::string_view key, std::string fallback) const;

  const std::vector<Tensor>& tensors() const { return tensors_; }
  const Tensor* find_tensor(std::string_view name) const;

 private:
  File() = default;
  struct Mapping;
  std::unique_ptr<Mapping> mapping_;
  std::string path_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> metadata_;
  std::vector<Tensor> tensors_;
};

// Writes a GGUF v3 file. Tensor data is produced by a callback into the output buffer so that
// multi-GB synthetic files stream to disk without being held in memory.
class Writer {
 public:
  using Fill = std::function<void(uint8_t* dst, uint64_t bytes)>;
  // Fills bytes [offset, offset + bytes) of one tensor's data. The writer calls it on chunks of
  // at most ~64 MB (whole blocks), from several threads at once, so memory stays bounded for
  // tensors of any size. Use this for large tensors; a Fill needs a buffer of the whole tensor.
  using FillRange = std::function<void(uint8_t* dst, uint64_t offset, uint64_t bytes)>;

  void set(std::string key, Value value);  // replaces an existing key, keeps insertion order
  void set_alignment(uint64_t alignment);  // also written as general.alignment
  // Adds a tensor; its byte size is computed from type and shape (validated).
  void add_tensor(std::string name, Type type, std::vector<int64_t> shape, Fill fill);
  void add_tensor(std::string name, Type type, std::vector<int64_t> shape,
                  std::span<const uint8_t> data);  // copies data
  void add_tensor_chunked(std::string name, Type type, std::vector<int64_t> shape,
                          FillRange fill);
  uint64_t total_bytes() const;  // size of the file write() will produce
  // Writes to path atomically (temp file + rename). `threads` fill callbacks run in parallel
  // (threads <= 0: default_threads()); buffers in flight stay under ~1 GB unless one Fill
  // tensor alone is larger. progress(done, total) runs on the calling thread.
  void write(const std::string& path, int threads = 1,
             const std::function<void(uint64_t done, uint64_t total)>& progress = {}) const;

 private:
  struct PendingTensor {
    std::string name;
    Type type;
    std::vector<int64_t> shape;
    uint64_t bytes;
    Fill fill;             // one of fill / fill_range is set
    FillRange fill_range;
  };
  std::vector<KeyValue> metadata_;
  std::vector<PendingTensor> tensors_;
  uint64_t alignment_ = 32;
};

}  // namespace kiln::gguf
