#pragma once
// Arguments of matvec_q8r.cuh: the same as gemm_q8_0's (one struct fills either kernel), with
// m <= the key's max_tokens (at most 8).
#include "gemm_q8_0_params.h"

using MatvecQ8rParams = Q8MatmulParams;

// Rows of W one matvec_q8r block owns: one m16 mma tile (gated: 8 features of W_gate and W_up).
constexpr int kMatvecQ8rRowsPerBlock = 16;
