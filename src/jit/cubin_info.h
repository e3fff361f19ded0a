#pragma once
// What ptxas decided for a compiled kernel, read from its cubin (no GPU, no driver): the
// registers per thread (which decide how many blocks fit on an SM) and the stack frame (in a
// kernel that calls nothing: register spills). Read from the ELF's .nv.info sections, where the
// attributes EIATTR_REGCOUNT (0x2f) and EIATTR_FRAME_SIZE (0x11) carry (symbol, value) pairs.
#include <string_view>

namespace kiln::jit {

struct CubinInfo {
  int registers = 0;    // the largest register count of the cubin's functions
  int stack_bytes = 0;  // the largest stack frame
};

// Throws kiln::Error when `cubin` is not a 64-bit ELF image or a section lies outside it.
CubinInfo cubin_info(std::string_view cubin);

}  // namespace kiln::jit
