#pragma once
// Arguments of embed.cuh. Plain data only (host and NVRTC both include it).

struct EmbedParams {
  const int* tokens;   // [n_tokens] token ids (checked on the host against n_vocab)
  const void* qs;      // q8r quants of token_embd: int8 [n_vocab][k_padded]
  const void* d;       // q8r scales: f16 [n_vocab][k_padded / 32]
  float* out;          // f32 [n_tokens][n_embd]: the residual stream
  int n_tokens;
  int n_embd;          // generic build
  int k_padded;        // row stride of qs (n_embd rounded up to the repack's group)
  float scale;         // gemma3: sqrt(n_embd); else 1
};
