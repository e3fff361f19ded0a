#pragma once
// Parameters of sample.cuh (shared by host and device code: plain data only).

struct SampleParams {
  float* logits;          // [n_vocab] of the sequence being sampled (the penalty edits it)
  int* out_token;         // [1]
  int n_vocab;
  float temperature;      // <= 0: greedy (argmax)
  int top_k;              // <= 0: off
  float top_p;            // >= 1: off
  float min_p;            // <= 0: off
  float uniform;          // the random draw in [0, 1), made on the host from the seeded RNG
  const int* recent;      // [n_recent] distinct recent token ids for the repeat penalty
  int n_recent;
  float repeat_penalty;   // 1: off
};
