#pragma once
// Arguments of rmsnorm.cuh. Included by the host (which fills it) and by the kernel (NVRTC),
// so plain data only: no host- or device-only constructs.

struct RmsnormParams {
  const float* x;         // [n_rows][n_embd]
  const float* residual;  // fuse_residual: [n_rows][n_embd] added to x before the norm
  float* residual_out;    // fuse_residual: x + residual is written here (may alias residual)
  const float* weight;    // [n_embd]
  void* out;              // [n_rows][n_embd]: float, or f16 bits when out_f16
  int n_rows;
  int n_embd;             // read by the generic build only
  float eps;
};
