#pragma once
// The kernels of one forward pass for one batch shape, in launch order.
//
// The engine's forward code runs once in `record` phase: each op asks next() for its kernel,
// passing a function that builds its KernelKey from the shapes; nothing launches. resolve()
// then loads the whole set through the JIT library (in parallel, before the first token) and
// later passes `replay` it: next() returns the i-th kernel without building or hashing a key.
// The forward code is written once, so the set compiled ahead is exactly the set launched.
#include <cstddef>
#include <vector>

#include "jit/kernel.h"
#include "jit/key.h"
#include "jit/library.h"
#include "util/error.h"

namespace kiln::plan {

class KernelPlan {
 public:
  bool recording() const { return !resolved_; }

  // Record phase: stores key_fn() and returns null (the caller skips its launch).
  // Replay phase: the kernel of the same op, in the same order as recorded.
  template <class KeyFn>
  const jit::Kernel* next(KeyFn&& key_fn) {
    if (!resolved_) {
      keys_.push_back(key_fn());
      return nullptr;
    }
    KILN_CHECK(cursor_ < kernels_.size(), "kernel plan: more launches than the ", kernels_.size(),
               " recorded (the forward pass took another path than when it was planned)");
    return kernels_[cursor_++];
  }

  // Starts a replay pass.
  void rewind() { cursor_ = 0; }

  // Loads every recorded key; returns where they came from. After this the plan replays.
  jit::LoadSummary resolve(jit::Library& library) {
    jit::LoadSummary summary = library.prepare(keys_);
    kernels_.clear();
    for (const auto& key : keys_) kernels_.push_back(&library.get(key));
    resolved_ = true;
    cursor_ = 0;
    return summary;
  }

  const std::vector<jit::KernelKey>& keys() const { return keys_; }

 private:
  std::vector<jit::KernelKey> keys_;
  std::vector<const jit::Kernel*> kernels_;
  size_t cursor_ = 0;
  bool resolved_ = false;
};

}  // namespace kiln::plan
