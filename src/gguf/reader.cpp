// The GGUF parser: every read is bounds-checked and every count is checked against the bytes
// left before anything is allocated for it. It rejects, with "NAME: problem":
//   bad magic; versions other than 2 and 3 (v1, big-endian files); counts and string lengths
//   larger than the rest of the file; unknown value types; bool bytes other than 0/1; arrays
//   nested deeper than ReaderLimits::max_array_depth or holding too many elements in total;
//   duplicate keys; a bad general.alignment (not a nonzero power of two); tensors with 0 or more
//   than 4 dims, a dim <= 0, an element count overflowing int64, an unknown type, a row length
//   that is not a multiple of the type's block, an offset not a multiple of the alignment, data
//   past the end of the file; duplicate tensor names; overlapping tensor data.
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <unordered_set>

#include "gguf/format.h"
#include "gguf/layout.h"
#include "gguf/text.h"
#include "util/error.h"

namespace kiln::gguf {
namespace {

static_assert(std::endian::native == std::endian::little, "the reader assumes a little-endian host");

using format::ReaderLimits;

// Cursor over the file image; `what` names the item being read for the error message.
class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  uint64_t pos() const { return pos_; }
  uint64_t left() const { return bytes_.size() - pos_; }
  uint64_t size() const { return bytes_.size(); }

  void need(uint64_t n, std::string_view what) const {
    KILN_CHECK(n <= left(), name_, ": ", what, ": needs ", n, " bytes at byte ", pos_,
               " but the file has ", bytes_.size(), " bytes");
  }

  template <class T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  // A string: u64 length, then that many bytes (any bytes, NUL included).
  std::string_view read_string(std::string_view what) {
    uint64_t length = read<uint64_t>(what);
    KILN_CHECK(length <= left(), name_, ": ", what, ": string length ", length,
               " is larger than the ", left(), " bytes left at byte ", pos_);
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return s;
  }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& name_;
  uint64_t pos_ = 0;
};

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const std::string& name)
      : bytes_(bytes), name_(name), in_(bytes, name) {}

  Layout parse() {
    Layout out;
    out.version = read_header();
    uint64_t n_tensors = in_.read<uint64_t>("tensor count");
    uint64_t n_kv = in_.read<uint64_t>("metadata count");
    check_count(n_tensors, format::kMinTensorInfoBytes, "tensor count");
    check_count(n_kv, format::kMinKeyValueBytes, "metadata count");
    out.metadata = read_metadata(n_kv);
    out.alignment = read_alignment(out.metadata);
    out.tensors = read_tensor_infos(n_tensors, out.alignment);
    out.data_offset = align_up(in_.pos(), out.alignment);
    place_tensors(out.tensors, out.data_offset);
    return out;
  }

 private:
  uint32_t read_header() {
    KILN_CHECK(bytes_.size() >= 8, name_, ": not a GGUF file (", bytes_.size(),
               " bytes, too short for a header)");
    uint32_t magic = in_.read<uint32_t>("magic");
    KILN_CHECK(magic == format::kMagic, name_, ": not a GGUF file (starts with '",
               escaped(std::string_view(reinterpret_cast<const char*>(bytes_.data()), 4)),
               "', expected 'GGUF')");
    uint32_t version = in_.read<uint32_t>("version");
    KILN_CHECK(version != 1, name_, ": GGUF version 1 is not supported (kiln reads versions 2 and 3)");
    // A big-endian file's small version number reads as 0x0N000000 here.
    KILN_CHECK(version == 0 || (version & 0xffff) != 0, name_,
               ": big-endian GGUF files are not supported");
    KILN_CHECK(version >= format::kOldestVersion && version <= format::kNewestVersion, name_,
               ": GGUF version ", version, " is not supported (kiln reads versions 2 and 3)");
    return version;
  }

  // Rejects a count whose items, at their smallest encoding, need more bytes than are left.
  void check_count(uint64_t count, uint64_t min_item_bytes, std::string_view what) {
    KILN_CHECK(count <= in_.left() / min_item_bytes, name_, ": ", what, " ", count,
               " cannot fit in the ", in_.left(), " bytes left at byte ", in_.pos(),
               " (each item takes at least ", min_item_bytes, " bytes)");
  }

  std::vector<KeyValue> read_metadata(uint64_t n_kv) {
    std::vector<KeyValue> metadata;
    metadata.reserve(n_kv);
    std::unordered_set<std::string_view> seen;
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string what = cat("key of metadata entry ", i);
      std::string_view key = in_.read_string(what);
      std::string context = cat("key ", escaped(key));
      KILN_CHECK(seen.insert(key).second, name_, ": duplicate key ", escaped(key));
      ValueType type = read_value_type(context);
      metadata.push_back(KeyValue{std::string(key), read_value(type, 0, context)});
    }
    return metadata;
  }

  ValueType read_value_type(const std::string& context) {
    uint64_t at = in_.pos();
    uint32_t id = in_.read<uint32_t>(context);
    KILN_CHECK(format::is_valid_value_type(id), name_, ": ", context, ": unknown value type ", id,
               " at byte ", at);
    return static_cast<ValueType>(id);
  }

  // `depth` counts the arrays around this value.
  Value read_value(ValueType type, int depth, const std::string& context) {
    Value v;
    v.type = type;
    switch (type) {
      case ValueType::U8: v.data = uint64_t{in_.read<uint8_t>(context)}; break;
      case ValueType::I8: v.data = int64_t{in_.read<int8_t>(context)}; break;
      case ValueType::U16: v.data = uint64_t{in_.read<uint16_t>(context)}; break;
      case ValueType::I16: v.data = int64_t{in_.read<int16_t>(context)}; break;
      case ValueType::U32: v.data = uint64_t{in_.read<uint32_t>(context)}; break;
      case ValueType::I32: v.data = int64_t{in_.read<int32_t>(context)}; break;
      case ValueType::U64: v.data = uint64_t{in_.read<uint64_t>(context)}; break;
      case ValueType::I64: v.data = int64_t{in_.read<int64_t>(context)}; break;
      case ValueType::F32: v.data = double{in_.read<float>(context)}; break;
      case ValueType::F64: v.data = double{in_.read<double>(context)}; break;
      case ValueType::BOOL: {
        uint64_t at = in_.pos();
        uint8_t byte = in_.read<uint8_t>(context);
        KILN_CHECK(byte <= 1, name_, ": ", context, ": invalid bool byte ", int{byte}, " at byte ",
                   at, " (must be 0 or 1)");
        v.data = byte == 1;
        break;
      }
      case ValueType::STRING: v.data = std::string(in_.read_string(context)); break;
      case ValueType::ARRAY: {
        KILN_CHECK(depth < ReaderLimits::max_array_depth, name_, ": ", context,
                   ": arrays nested deeper than ", ReaderLimits::max_array_depth, " levels");
        v.elem_type = read_value_type(context);
        uint64_t count = in_.read<uint64_t>(context);
        uint64_t min_bytes = format::min_value_bytes(v.elem_type);
        KILN_CHECK(count <= in_.left() / min_bytes, name_, ": ", context, ": array of ", count,
                   " ", value_type_name(v.elem_type), " values cannot fit in the ", in_.left(),
                   " bytes left at byte ", in_.pos());
        array_elements_ += count;
        KILN_CHECK(array_elements_ <= ReaderLimits::max_array_elements, name_, ": ", context,
                   ": metadata arrays hold more than ", ReaderLimits::max_array_elements,
                   " elements in total");
        std::vector<Value> items;
        items.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
          items.push_back(read_value(v.elem_type, depth + 1, context));
        }
        v.data = std::move(items);
        break;
      }
    }
    return v;
  }

  uint64_t read_alignment(const std::vector<KeyValue>& metadata) {
    for (const KeyValue& kv : metadata) {
      if (kv.key != format::kAlignmentKey) continue;
      KILN_CHECK(kv.value.is_integer(), name_, ": ", kv.key, " must be an integer, found ",
                 value_type_name(kv.value.type));
      const auto* signed_value = std::get_if<int64_t>(&kv.value.data);
      uint64_t alignment = signed_value && *signed_value < 0 ? 0 : kv.value.as_u64(kv.key);
      KILN_CHECK(format::is_power_of_two(alignment), name_, ": ", kv.key, " is ",
                 kv.value.to_string(), " (must be a nonzero power of two)");
      return alignment;
    }
    return format::kDefaultAlignment;
  }

  std::vector<Tensor> read_tensor_infos(uint64_t n_tensors, uint64_t alignment) {
    std::vector<Tensor> tensors;
    tensors.reserve(n_tensors);
    std::unordered_set<std::string_view> seen;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      std::string_view name = in_.read_string(cat("name of tensor info ", i));
      std::string context = cat("tensor ", escaped(name));
      KILN_CHECK(seen.insert(name).second, name_, ": duplicate tensor name ", escaped(name));
      Tensor t;
      t.name = std::string(name);
      uint32_t n_dims = in_.read<uint32_t>(context);
      KILN_CHECK(n_dims >= 1 && n_dims <= ReaderLimits::max_dims, name_, ": ", context, " has ",
                 n_dims, " dims (must be 1 to ", ReaderLimits::max_dims, ")");
      int64_t elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        int64_t dim = in_.read<int64_t>(context);
        KILN_CHECK(dim > 0, name_, ": ", context, " dim ", d, " is ", dim, " (dims must be positive)");
        KILN_CHECK(!__builtin_mul_overflow(elements, dim, &elements), name_, ": ", context,
                   ": element count overflows int64 (dim ", d, " is ", dim, ")");
        t.shape.push_back(dim);
      }
      uint32_t type_id = in_.read<uint32_t>(context);
      TypeInfo info = type_info(type_id);
      KILN_CHECK(info.block_elems > 0, name_, ": ", context, " has unknown type id ", type_id);
      t.type = static_cast<Type>(type_id);
      KILN_CHECK(t.shape[0] % info.block_elems == 0, name_, ": ", context, ": row length ",
                 t.shape[0], " is not a multiple of ", info.name, "'s block size ", info.block_elems);
      // With this, bytes_for() below cannot throw.
      KILN_CHECK(elements / info.block_elems <= INT64_MAX / info.block_bytes, name_, ": ", context,
                 ": data size overflows (", t.shape_string(), " of ", info.name, ")");
      t.bytes = bytes_for(t.type, elements);
      t.offset = in_.read<uint64_t>(context);
      KILN_CHECK(t.offset % alignment == 0, name_, ": ", context, " offset ", t.offset,
                 " is not a multiple of the alignment ", alignment);
      tensors.push_back(std::move(t));
    }
    return tensors;
  }

  uint64_t align_up(uint64_t pos, uint64_t alignment) {
    uint64_t padded = 0;
    KILN_CHECK(!__builtin_add_overflow(pos, alignment - 1, &padded), name_,
               ": data section offset overflows (alignment ", alignment, ")");
    return padded & ~(alignment - 1);
  }

  // Checks each tensor's data lies inside the file and no two overlap, then points at it.
  void place_tensors(std::vector<Tensor>& tensors, uint64_t data_offset) {
    for (Tensor& t : tensors) {
      uint64_t start = 0, end = 0;
      bool overflow = __builtin_add_overflow(data_offset, t.offset, &start) ||
                      __builtin_add_overflow(start, t.bytes, &end);
      KILN_CHECK(!overflow, name_, ": tensor ", escaped(t.name), " at data offset ", t.offset,
                 " (", t.bytes, " bytes) ends past byte 2^64 but the file has ", bytes_.size(),
                 " bytes");
      KILN_CHECK(end <= bytes_.size(), name_, ": tensor ", escaped(t.name), " ends at byte ", end,
                 " but the file has ", bytes_.size(), " bytes");
    }
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
      const Tensor& a = tensors[order[i - 1]];
      const Tensor& b = tensors[order[i]];
      KILN_CHECK(a.offset + a.bytes <= b.offset, name_, ": tensors ", escaped(a.name), " (data bytes ",
                 a.offset, "..", a.offset + a.bytes, ") and ", escaped(b.name), " (data bytes ",
                 b.offset, "..", b.offset + b.bytes, ") overlap");
    }
    for (Tensor& t : tensors) t.data = bytes_.data() + data_offset + t.offset;
  }

  std::span<const uint8_t> bytes_;
  const std::string& name_;
  ByteReader in_;
  uint64_t array_elements_ = 0;
};

}  // namespace

Layout parse_layout(std::span<const uint8_t> bytes, const std::string& name) {
  return Parser(bytes, name).parse();
}

}  // namespace kiln::gguf
