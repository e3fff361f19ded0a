#pragma once
// KernelKey: which kernel template, instantiated with which compile-time constants. The key is
// what a plan asks for, what the caches are indexed by, and what every message names:
//   rmsnorm<n_embd=4096,fuse_residual=1,out_f16=0,threads=256>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jit {

// What a constant is, which decides what the generic build does with it.
enum class ConstKind {
  shape,    // a size of the model or the context (n_embd, head_dim, n_cols): 0 in generic mode,
            // where the kernel reads it from its params struct instead
  tuning,   // a choice made for speed (threads, rows per block, tile sizes, splits): kept
  variant,  // selects a code path or data type (fuse_residual, neox, out_f16): kept, as a
            // hand-written library also builds one instantiation per data type
};

struct Constant {
  std::string name;  // as in the kernel's template parameter, lower case: "n_embd"
  int64_t value = 0;
  ConstKind kind = ConstKind::shape;
};

// Specialized: shape constants baked in. Generic: shape constants dynamic (0).
enum class Mode { specialized, generic };

struct KernelKey {
  std::string kernel;               // the __global__ template's name: "rmsnorm"
  std::string file;                 // the source under src/kernels: "rmsnorm.cuh"
  std::vector<Constant> constants;  // in template-parameter order
  // Dynamic shared memory a launch of this kernel may use; more than 48 KB raises the kernel's
  // limit once, at load. Not part of the key's identity.
  int dynamic_smem_bytes = 0;

  // "rmsnorm<n_embd=4096,fuse_residual=1>": the kernel's printed name everywhere.
  std::string str() const;
  // "rmsnorm<4096,1>": the template instance NVRTC compiles and looks up.
  std::string name_expression() const;
  // The same key with every shape constant set to 0.
  KernelKey generic() const;
  // This key as `mode` builds it.
  KernelKey for_mode(Mode mode) const { return mode == Mode::generic ? generic() : *this; }
  // Value of the named constant; throws kiln::Error naming the key when absent.
  int64_t get(std::string_view name) const;

  bool operator==(const KernelKey& other) const { return str() == other.str() && file == other.file; }
};

// "specialized" / "generic"; parse_mode throws kiln::Error on anything else.
std::string_view mode_name(Mode mode);
Mode parse_mode(std::string_view text);
// $KILN_JIT ("specialized" or "generic"), specialized when unset; throws on another value.
Mode mode_from_env();

}  // namespace kiln::jit
