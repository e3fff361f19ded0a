#pragma once
// Attention on the GPU: picks the kernels and their constants for a model's attention shapes and
// launches them over the paged KV cache (engine/kv_cache.h).
//   kv_write            q/k norm + RoPE, q -> f16, k/v -> cache       (kernels/kv_write.cuh)
//   attn_prefill        flash attention, many query tokens per seq     (kernels/attn_prefill.cuh)
//   attn_decode         split-KV flash-decoding, one token per seq     (kernels/attn_decode.cuh)
//   kv_dequant          f16 view of a q8_0 cache's pages for prefill   (kernels/kv_dequant.cuh)
// The key builders are inline (header-only) so tests/jit can enumerate keys without the engine
// library; launches and the per-layer plumbing live in attention.cpp.
//
// Keys: every kernel's key names its shape constants (head_dim, gqa, n_kv_heads, window,
// page_size; 0 = dynamic in the generic build), variants (sinks, rope, ...) and tuning (warps,
// stages). window = -1 means "no window" so that 0 can keep meaning "read it from the params".
// The decode split count is not a constant: it is the launch's grid.x, chosen per step from
// kv_len in power-of-two buckets (a CUDA graph is captured per bucket: attention_graph_bucket).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/device_buffer.h"
#include "engine/kv_cache.h"
#include "jit/kernel.h"
#include "jit/key.h"
#include "kernels/attn_params.h"
#include "kernels/kv_dequant_params.h"
#include "kernels/kv_write_params.h"
#include "model/model.h"
#include "plan/kernel_plan.h"
#include "util/error.h"

namespace kiln::engine {

// What fixes the attention kernels of one layer.
struct AttnShape {
  int head_dim = 0;    // 64, 128 or 256 (keys and values)
  int n_heads = 0;
  int n_kv_heads = 0;  // n_heads / n_kv_heads = gqa, 1..8
  int window = 0;      // sliding window in tokens (a query at p sees p-window+1 .. p), 0: none
  bool sinks = false;  // per-head sink logits in the softmax denominator (gpt-oss)
  int page_size = kKvPageSize;
  // Cache element types (kKvF16 / kKvQ8_0): attn_decode reads them; attn_prefill reads f16 only
  // (kv_dequant makes its view).
  int k_type = kKvF16;
  int v_type = kKvF16;

  int gqa() const { return n_kv_heads > 0 ? n_heads / n_kv_heads : 0; }
};

// The GPU the keys are for (keys must not depend on the machine that precompiles them).
struct AttnTarget {
  int sm_count = 132;  // H100 SXM
  int cc_major = 9;    // >= 9: prefill on wgmma (needs sm_90a)
};

// Tuning overrides (benchmarks, tests): 0 = the heuristic's choice.
struct AttnTuning {
  int prefill_warps = 0;  // 4 or 8 (query rows per CTA: 16 per warp)
  int prefill_wgmma = -1; // 1: wgmma (sm_90a), 0: mma.sync, 2: wgmma, the v3 schedule, 3: warp-specialized
                          // (8 warps; see the key)
  int decode_stages = 0;  // 2..8
  int decode_splits = 0;  // force a split count (still capped by the workspace)
};

namespace attn_detail {

inline void check_shape(const AttnShape& s) {
  KILN_CHECK(s.head_dim == 64 || s.head_dim == 128 || s.head_dim == 256,
             "attention: head_dim must be 64, 128 or 256, got ", s.head_dim);
  KILN_CHECK(s.n_kv_heads >= 1 && s.n_heads >= s.n_kv_heads && s.n_heads % s.n_kv_heads == 0,
             "attention: ", s.n_heads, " query heads cannot share ", s.n_kv_heads, " KV heads evenly");
  KILN_CHECK(s.gqa() <= kAttnDecodeMaxGqa, "attention: ", s.gqa(), " query heads per KV head (", s.n_heads, "/",
             s.n_kv_heads, "); the kernels take at most ", kAttnDecodeMaxGqa);
  KILN_CHECK(s.window >= 0, "attention: negative sliding window ", s.window);
  KILN_CHECK(s.page_size >= kAttnTileKeys && s.page_size % kAttnTileKeys == 0, "attention: page size ", s.page_size,
             " must be a multiple of ", kAttnTileKeys);
}

inline jit::Constant shape_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::shape}; }
inline jit::Constant variant_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::variant}; }
inline jit::Constant tuning_const(const char* name, int64_t v) { return {name, v, jit::ConstKind::tuning}; }

// The shape constants shared by attn_prefill and attn_decode, in template order.
inline std::vector<jit::Constant> shape_constants(const AttnShape& s) {
  return {variant_const("head_dim", s.head_dim),  // never dynamic: it sizes register arrays
          shape_const("gqa", s.gqa()),
          shape_const("n_kv_heads", s.n_kv_heads),
          shape_const("window", s.window > 0 ? s.window : -1),
          shape_const("page_size", s.page_size),
          variant_const("sinks", s.sinks)};
}

// CTAs of a prefill of n_tokens over n_seqs sequences at `warps` warps (16 x warps query rows each).
inline long long prefill_ctas(const AttnShape& s, int n_tokens, int n_seqs, int warps) {
  const int rows_per_seq = (n_tokens + n_seqs - 1) / n_seqs * s.gqa(), block_m = 16 * warps;
  return static_cast<long long>((rows_per_seq + block_m - 1) / block_m) * s.n_kv_heads * n_seqs;
}
// Prefill warps. Where 8-warp CTAs fill at most half the SMs, 8: attn_prefill_splits then gives
// each row tile two CTAs over its keys (qwen2-1.5b/3b, 2 KV heads, at 512 tokens: 96 and 128
// CTAs of 8 warps instead of 96 and 128 of 4; pp512 +26% / +23% at depth 32768 on the H100,
// notes/attention.md). Else the one whose busiest SM processes the fewest query rows: CTAs are
// spread round-robin, so the busiest SM runs ceil(ctas / sm_count) of them, each 16 x warps
// rows; ties go to 8 warps (each K/V tile read from L2 serves twice the rows).
inline int choose_prefill_warps(const AttnShape& s, int n_tokens, int n_seqs, const AttnTarget& target) {
  if (kAttnPrefillMaxSplits * prefill_ctas(s, n_tokens, n_seqs, 8) <= target.sm_count) return 8;
  auto busiest = [&](int warps) {
    return (prefill_ctas(s, n_tokens, n_seqs, warps) + target.sm_count - 1) / target.sm_count * (16 * warps);
  };
  return busiest(4) < busiest(8) ? 4 : 8;
}

// Shared memory of one of two CTAs on an SM within the 196 KB carveout (1 KB reserved per CTA),
// the one the f16 decode kernel (96 KB) gets. On the H100 (device run 3) q8_0 decode at 4 stages
// (100 KB: two CTAs need the 228 KB carveout) was 1.3x faster than f16 alone but 12% slower end
// to end, even at depth 0, while 89 KB (K q8_0, V f16) was not: the carveout switching between
// attention and the mat-vecs is the suspect.
constexpr int kAttnDecodeTwoCtaSmem = 97 * 1024;

// Decode pipeline depth. f16: about 96 KB of K/V tiles in flight per CTA, 2..6 stages (one CTA
// per SM streamed best on the H100, notes/attention.md). With a q8_0 operand each tile is also
// dequantized (ALU and shared-memory work with one warp per scheduler, latency-bound): the most
// stages (2..6) with which two CTAs fit on an SM, so that a second CTA hides the first one's
// latency (llama-8b at 32k, H100: 3 stages x 32 splits 37.6 us a layer, 4 x 32 38.7, 5 x 16
// 49.2; f16's best 51.4).
inline int choose_decode_stages(int head_dim, int k_type = kKvF16, int v_type = kKvF16) {
  const int stage_bytes = kAttnTileKeys * (kv_row_bytes(k_type, head_dim) + kv_row_bytes(v_type, head_dim));
  if (k_type == kKvF16 && v_type == kKvF16) return std::clamp(96 * 1024 / stage_bytes, 2, 6);
  for (int stages = 6; stages > 2; --stages)
    if (attn_decode_smem_bytes(head_dim, stages, k_type, v_type) <= kAttnDecodeTwoCtaSmem) return stages;
  return 2;
}

// CTAs per SM the decode split count aims for: 1 for an f16 cache; 2 with a q8_0 operand when
// two fit (see choose_decode_stages).
inline int decode_ctas_per_sm(const AttnShape& s) {
  if (s.k_type == kKvF16 && s.v_type == kKvF16) return 1;
  const int stages = choose_decode_stages(s.head_dim, s.k_type, s.v_type);
  return attn_decode_smem_bytes(s.head_dim, stages, s.k_type, s.v_type) <= kAttnDecodeTwoCtaSmem ? 2 : 1;
}

inline void check_kv_type(int type, const char* what) {
  KILN_CHECK(type == kKvF16 || type == kKvQ8_0, "attention: unknown ", what, " cache type ", type);
}

}  // namespace attn_detail

// attn_prefill<head_dim, gqa, n_kv_heads, window, page_size, sinks, warps, wgmma>. n_tokens: the
// token count (bucket) the plan is made for, over n_seqs sequences.
inline jit::KernelKey attn_prefill_key(const AttnShape& s, int n_tokens, int n_seqs = 1, const AttnTarget& target = {},
                                       const AttnTuning& tuning = {}) {
  using namespace attn_detail;
  check_shape(s);
  const int warps = tuning.prefill_warps ? tuning.prefill_warps : choose_prefill_warps(s, n_tokens, n_seqs, target);
  KILN_CHECK(warps == 4 || warps == 8, "attn_prefill: warps must be 4 or 8, got ", warps);
  // wgmma by default only for head_dim 128 (verified on the H100, +25% at depth). head_dim 256
  // passes the GPU tests on it but spills (152 B of stack: 128 O accumulators), so mma.sync stays
  // its default; head_dim 64 gives wrong results on it (a deterministic layout bug not found yet,
  // notes/attention.md) and is refused.
  // wgmma 3 (8 warps, head_dim 128): the warp-specialized kernel (kernels/attn_prefill_ws.cuh: a
  // producer warpgroup, mbarriers, no CTA barrier in the loop; 1.5x wgmma 1 at depth on the H100,
  // notes/attention.md v8). wgmma 1 (4 warps): 128 keys per iteration, P V on m64n128k16
  // (kernels/attn_prefill.cuh; +6-8% at depth over 2); 2: the v3 schedule (64 keys, m64n64k16;
  // what 1 is at head_dim 256), kept to compare.
  KILN_CHECK(tuning.prefill_wgmma >= -1 && tuning.prefill_wgmma <= 3, "attn_prefill: wgmma must be 0..3, got ",
             tuning.prefill_wgmma);
  const int wgmma = tuning.prefill_wgmma >= 0                       ? tuning.prefill_wgmma
                    : !(target.cc_major >= 9 && s.head_dim == 128) ? 0
                    : warps == 8                                   ? 3
                                                                   : 1;
  KILN_CHECK(wgmma != 3 || (s.head_dim == 128 && warps == 8), "attn_prefill: the warp-specialized path (wgmma 3) "
             "takes head_dim 128 and 8 warps, got ", s.head_dim, " and ", warps);
  KILN_CHECK(!wgmma || target.cc_major >= 9, "attn_prefill: the wgmma path needs sm_90 (target cc ", target.cc_major,
             ")");
  KILN_CHECK(!wgmma || s.head_dim != 64, "attn_prefill: the wgmma path is wrong for head_dim 64 (known bug, "
             "notes/attention.md); use prefill_wgmma = 0");
  jit::KernelKey key;
  key.kernel = wgmma == 3 ? "attn_prefill_ws" : "attn_prefill";
  key.file = key.kernel + ".cuh";
  key.constants = shape_constants(s);
  key.constants.push_back(tuning_const("warps", warps));
  key.constants.push_back(tuning_const("wgmma", wgmma));
  key.dynamic_smem_bytes = attn_prefill_smem_bytes(s.head_dim, warps, wgmma);
  return key;
}

// Key splits of a prefill launched with `key` (attn_prefill_key): 2 where its CTAs fill at most
// half the SMs (one CTA per SM: its shared memory) and the longest row tile has at least two key
// iterations, each split then taking half of them; else 1. max_q: the most new tokens of a
// sequence, max_kv_len: the longest sequence's keys, new ones included.
inline int attn_prefill_splits(const jit::KernelKey& key, const AttnShape& s, int max_q, int n_seqs, int max_kv_len,
                               const AttnTarget& target = {}) {
  const int warps = static_cast<int>(key.get("warps"));
  const long long ctas = attn_detail::prefill_ctas(s, max_q * n_seqs, n_seqs, warps);
  const int keys_per_iter = attn_prefill_iter_keys(s.head_dim, static_cast<int>(key.get("wgmma")));
  const int iters = (max_kv_len + keys_per_iter - 1) / keys_per_iter;
  return ctas * kAttnPrefillMaxSplits <= target.sm_count && iters >= kAttnPrefillMaxSplits ? kAttnPrefillMaxSplits : 1;
}

namespace attn_detail {
// The key of a combine kernel `name`<head_dim, gqa, n_kv_heads, sinks, ...> (file name.cuh).
inline jit::KernelKey combine_key(const AttnShape& s, const char* name) {
  check_shape(s);
  jit::KernelKey key;
  key.kernel = name;
  key.file = std::string(name) + ".cuh";
  key.constants = {variant_const("head_dim", s.head_dim), shape_const("gqa", s.gqa()),
                   shape_const("n_kv_heads", s.n_kv_heads), variant_const("sinks", s.sinks)};
  return key;
}
}  // namespace attn_detail

// attn_prefill_combine<head_dim, gqa, n_kv_heads, sinks, block_m>: merges a split prefill's
// partials (kernels/attn_prefill_combine.cuh); `warps` is the prefill key's.
inline jit::KernelKey attn_prefill_combine_key(const AttnShape& s, int warps) {
  jit::KernelKey key = attn_detail::combine_key(s, "attn_prefill_combine");
  key.constants.push_back(attn_detail::tuning_const("block_m", 16 * warps));
  return key;
}

// attn_decode_combine<head_dim, gqa, n_kv_heads, sinks>: merges a split decode's partials
// (kernels/attn_decode_combine.cuh).
inline jit::KernelKey attn_decode_combine_key(const AttnShape& s) {
  return attn_detail::combine_key(s, "attn_decode_combine");
}

// attn_decode<head_dim, gqa, n_kv_heads, window, page_size, sinks, stages, k_type, v_type>
inline jit::KernelKey attn_decode_key(const AttnShape& s, const AttnTuning& tuning = {}) {
  using namespace attn_detail;
  check_shape(s);
  check_kv_type(s.k_type, "K");
  check_kv_type(s.v_type, "V");
  const int stages =
      tuning.decode_stages ? tuning.decode_stages : choose_decode_stages(s.head_dim, s.k_type, s.v_type);
  KILN_CHECK(stages >= 2 && stages <= 8, "attn_decode: stages must be 2..8, got ", stages);
  jit::KernelKey key;
  key.kernel = "attn_decode";
  key.file = "attn_decode.cuh";
  key.constants = shape_constants(s);
  key.constants.push_back(tuning_const("stages", stages));
  key.constants.push_back(variant_const("k_type", s.k_type));
  key.constants.push_back(variant_const("v_type", s.v_type));
  key.dynamic_smem_bytes = attn_decode_smem_bytes(s.head_dim, stages, s.k_type, s.v_type);
  KILN_CHECK(key.dynamic_smem_bytes <= 227 * 1024, "attn_decode: ", stages, " stages of head_dim ", s.head_dim,
             " need ", key.dynamic_smem_bytes, " bytes of shared memory (227 KB per CTA)");
  return key;
}

// kv_dequant<head_dim, n_kv_heads, page_size, k_type, v_type>: the f16 view attn_prefill reads
// when either pool is q8_0.
inline jit::KernelKey kv_dequant_key(const AttnShape& s) {
  using namespace attn_detail;
  check_shape(s);
  check_kv_type(s.k_type, "K");
  check_kv_type(s.v_type, "V");
  jit::KernelKey key;
  key.kernel = "kv_dequant";
  key.file = "kv_dequant.cuh";
  key.constants = {shape_const("head_dim", s.head_dim), shape_const("n_kv_heads", s.n_kv_heads),
                   shape_const("page_size", s.page_size), variant_const("k_type", s.k_type),
                   variant_const("v_type", s.v_type)};
  return key;
}

// Split count of a decode step: about one CTA per SM over (splits x kv heads x sequences) (on
// the H100 at depth 8k-32k: 16 splits of llama-8b's 8 KV heads stream 2.67 TB/s, 32 splits 2.46;
// a q8_0 cache: attn_detail::decode_ctas_per_sm per SM),
// at least two 64-key tiles per split, at most kAttnMaxSplits, rounded down to a power of two
// (the buckets CUDA graphs are captured for). kv_len: the longest sequence's.
inline int attn_decode_splits(const AttnShape& s, int kv_len, int n_seqs, const AttnTarget& target = {}) {
  const int visible = s.window > 0 ? std::min(kv_len, s.window) : kv_len;
  const int tiles = (visible + kAttnTileKeys - 1) / kAttnTileKeys + (s.window > 0 ? 1 : 0);
  const int ctas_per_split = std::max(1, s.n_kv_heads * n_seqs);
  const int want = (target.sm_count * attn_detail::decode_ctas_per_sm(s) + ctas_per_split - 1) / ctas_per_split;
  const int most = std::clamp(std::min(want, tiles / 2), 1, kAttnMaxSplits);
  int splits = 1;
  while (splits * 2 <= most) splits *= 2;
  return splits;
}

// kv_write<head_dim, n_heads, n_kv_heads, n_rot, page_size, rope, qk_norm, in_f16>
struct KvWriteShape {
  int head_dim = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int n_rot = 0;                 // 0: head_dim
  int page_size = kKvPageSize;
  int rope = kRopeNeox;          // kRopeNone / kRopeNormal / kRopeNeox
  bool qk_norm = false;
  bool in_f16 = false;           // the QKV rows are f16 (else f32)
  int k_type = kKvF16;           // cache element types (kKvF16 / kKvQ8_0)
  int v_type = kKvF16;
};

inline jit::KernelKey kv_write_key(const KvWriteShape& s) {
  using namespace attn_detail;
  const int n_rot = s.n_rot ? s.n_rot : s.head_dim;
  KILN_CHECK(s.head_dim >= 64 && s.head_dim <= 256 && s.head_dim % 64 == 0,
             "kv_write: head_dim must be 64, 128, 192 or 256, got ", s.head_dim);
  KILN_CHECK(n_rot % 2 == 0 && n_rot >= 2 && n_rot <= s.head_dim, "kv_write: n_rot ", n_rot,
             " must be even and in 2..head_dim (", s.head_dim, ")");
  KILN_CHECK(s.n_heads >= 1 && s.n_kv_heads >= 1, "kv_write: ", s.n_heads, " heads, ", s.n_kv_heads, " KV heads");
  KILN_CHECK(s.rope == kRopeNone || s.rope == kRopeNormal || s.rope == kRopeNeox, "kv_write: unknown rope kind ",
             s.rope);
  jit::KernelKey key;
  key.kernel = "kv_write";
  key.file = "kv_write.cuh";
  key.constants = {shape_const("head_dim", s.head_dim), shape_const("n_heads", s.n_heads),
                   shape_const("n_kv_heads", s.n_kv_heads), shape_const("n_rot", n_rot),
                   shape_const("page_size", s.page_size), variant_const("rope", s.rope),
                   variant_const("qk_norm", s.qk_norm), variant_const("in_f16", s.in_f16),
                   variant_const("k_type", s.k_type), variant_const("v_type", s.v_type)};
  check_kv_type(s.k_type, "K");
  check_kv_type(s.v_type, "V");
  return key;
}

// attn_decode_write<attn_decode's constants, n_rot, rope, qk_norm, in_f16>: attn_decode doing the
// work of kv_write (shape `w`) for its one token per sequence (kernels/attn_decode_write.cuh).
// Same stages and split counts as attn_decode: its extra shared memory (attn_decode_write_bytes)
// must not cost a q8_0 decode its second CTA per SM.
inline jit::KernelKey attn_decode_write_key(const AttnShape& s, const KvWriteShape& w, const AttnTuning& tuning = {}) {
  using namespace attn_detail;
  const jit::KernelKey write = kv_write_key(w);
  KILN_CHECK(w.head_dim == s.head_dim && w.n_heads == s.n_heads && w.n_kv_heads == s.n_kv_heads &&
                 w.page_size == s.page_size && w.k_type == s.k_type && w.v_type == s.v_type,
             "attn_decode_write: ", write.str(), " does not write the cache of head_dim=", s.head_dim,
             " heads=", s.n_heads, "/", s.n_kv_heads, " page_size=", s.page_size);
  jit::KernelKey key = attn_decode_key(s, tuning);
  key.kernel = "attn_decode_write";
  key.file = "attn_decode_write.cuh";
  for (const jit::Constant& c : write.constants)
    if (c.name == "n_rot" || c.name == "rope" || c.name == "qk_norm" || c.name == "in_f16") key.constants.push_back(c);
  key.dynamic_smem_bytes =
      attn_decode_smem_bytes(s.head_dim, static_cast<int>(key.get("stages")), s.k_type, s.v_type, true);
  KILN_CHECK(key.dynamic_smem_bytes <= (decode_ctas_per_sm(s) == 2 ? kAttnDecodeTwoCtaSmem : 227 * 1024),
             key.str(), ": needs ", key.dynamic_smem_bytes, " bytes of shared memory, more than ",
             decode_ctas_per_sm(s), " CTAs per SM allow");
  return key;
}

// ---- launches (attention.cpp) ------------------------------------------------------------------

// One attention launch's data: device pointers and the batch (kv_cache.h).
struct AttnArgs {
  const void* q = nullptr;       // f16 [n_tokens][n_heads][head_dim]
  const void* k_pool = nullptr;  // this layer's pools
  const void* v_pool = nullptr;
  void* out = nullptr;           // f16 [n_tokens][n_heads][head_dim]
  const float* sinks = nullptr;  // [n_heads] when the shape has sinks
  float scale = 0.f;             // softmax scale on q.k (sinks are not scaled)
  KvBatchView batch;
  float* workspace = nullptr;    // decode with splits: attn_decode_workspace_bytes(shape, n_seqs, splits)
  uint64_t workspace_bytes = 0;
  // attn_decode_write: kv_write's arguments for the step (kv_write_params); q is then not read.
  const KvWriteParams* write = nullptr;
};

// Workspace of a decode over n_seqs sequences with up to max_splits splits.
inline uint64_t attn_decode_workspace_bytes(const AttnShape& s, int n_seqs, int max_splits = kAttnMaxSplits) {
  return uint64_t(n_seqs) * s.n_heads * max_splits * (s.head_dim + 2) * 4;
}

// Workspace of a prefill's key splits: the partials of every row tile of at most sm_count / 2
// CTAs (attn_prefill_splits), each of up to 128 rows.
inline uint64_t attn_prefill_workspace_bytes(const AttnShape& s, const AttnTarget& target = {}) {
  return uint64_t(target.sm_count / kAttnPrefillMaxSplits) * kAttnPrefillMaxSplits * 128 * (s.head_dim + 2) * 4;
}

// Checks the arguments and launches `kernel` (from attn_prefill_key) with `splits` CTAs per row
// tile (attn_prefill_splits), then `combine` (from attn_prefill_combine_key) when splits > 1.
void attn_prefill_launch(const jit::Kernel& kernel, const jit::Kernel* combine, const AttnShape& s,
                         const AttnArgs& args, int splits, cudaStream_t stream);
// Launches attn_decode (or attn_decode_write, with args.write) with n_splits CTAs per (kv head,
// sequence), then `combine` (from attn_decode_combine_key) when n_splits > 1. Every sequence of
// args.batch must have exactly one query token.
void attn_decode_launch(const jit::Kernel& decode, const jit::Kernel* combine, const AttnShape& s,
                        const AttnArgs& args, int n_splits, cudaStream_t stream);
// Copies / dequantizes the pages of args.batch's sequences into the f16 view (kv_dequant.cuh):
// scratch_k / scratch_v hold n_seqs * max_pages f16 pages each; returns the view's AttnArgs
// (pools: the scratch, page table: `identity_table`, [n_seqs * max_pages] = 0, 1, 2, ...).
AttnArgs kv_dequant_launch(const jit::Kernel& kernel, const AttnShape& s, const AttnArgs& args, void* scratch_k,
                           void* scratch_v, uint64_t scratch_bytes, const int32_t* identity_table,
                           cudaStream_t stream);
// p with the shape's sizes filled in (what kv_write reads where its key's constants are 0),
// after checking the pointers both kv_write and attn_decode_write read.
KvWriteParams kv_write_params(const KvWriteShape& s, KvWriteParams p);
// Launches kv_write over p.n_tokens tokens (p filled by the caller, sizes from the shape).
void kv_write_launch(const jit::Kernel& kernel, const KvWriteShape& s, KvWriteParams p, cudaStream_t stream);

// Work of one attention call, for rooflines: flops of the two products over the keys each query
// actually sees (causal, window), and the bytes a kernel must move (K/V of the visible keys once
// per KV head and sequence, q and out once).
double attn_flops(const AttnShape& s, int n_q, int kv_len);
double attn_bytes(const AttnShape& s, int n_q, int kv_len);

// Per-pair rotation frequencies of RoPE (theta_i = position * inv_freq[i], i < n_rot/2) and the
// magnitude factor on cos/sin, with linear, llama3 (freq_factors) and YaRN scaling folded in as
// cpu::rope_angles computes them.
struct RopeTable {
  std::vector<double> inv_freq;
  float mscale = 1.f;
};
RopeTable rope_table(const model::Model& model, const model::Layer& layer, const std::vector<float>& freq_factors);

// ---- the engine's per-layer attention ----------------------------------------------------------

// Everything fixed for a model, a context size and a micro-batch: per-layer shapes, the RoPE
// tables (device), the decode workspace.
struct AttentionConfig {
  struct Layer {
    AttnShape shape;
    KvWriteShape write;
    int rope_table = 0;  // index into rope_offsets
    float mscale = 1.f;
  };
  std::vector<Layer> layers;
  float scale = 0.f;
  float norm_eps = 1e-6f;
  int n_ctx = 0;
  int n_ubatch = 0;
  AttnTarget target;
  std::vector<size_t> rope_offsets;  // doubles into rope_tables, per distinct table
  DeviceBuffer rope_tables;          // f64
  DeviceBuffer workspace;            // decode partials for one sequence
  // A decode step (one token) split over at most this many KV splits runs attn_decode_write,
  // kv_write's work folded into attention, instead of kv_write then attn_decode
  // (EngineOptions::fused_write_splits; 0: never, kAttnMaxSplits: always).
  int fused_write_splits = 0;
  // A q8_0 cache: prefill's f16 view of one layer's pages for one sequence (K then V pool, each
  // kv_pages_for(n_ctx) pages) and its identity page table.
  KvTypes kv_types;
  DeviceBuffer kv_scratch;
  DeviceBuffer kv_scratch_table;
};

// Bytes of prefill's f16 view of a q8_0 cache (0 for an f16 one): one layer, one sequence.
uint64_t kv_scratch_bytes(const model::Model& model, int n_ctx, KvTypes types);
// Bytes of the attention workspace for one sequence (decode splits or prefill key splits,
// whichever needs more) plus the q8_0 prefill view (the engine's memory budget).
uint64_t attention_workspace_bytes(const model::Model& model, int n_ctx, int n_ubatch, int sm_count,
                                   KvTypes types = {});
// Builds the config (uploads the RoPE tables, allocates the workspace; with allocate = false
// neither, for planning kernel sets without a GPU).
AttentionConfig attention_config(const model::Model& model, int n_ctx, int n_ubatch, const AttnTarget& target,
                                 bool allocate = true, KvTypes types = {});
// The decode-graph bucket of a step whose sequence ends at kv_len: one number per combination
// of split counts of the model's layers (a graph captured for it replays correctly for every
// kv_len with the same bucket).
int attention_graph_bucket(const AttentionConfig& config, int kv_len);

// One layer's attention inputs and outputs (device pointers).
struct AttentionLayerArgs {
  const void* qkv = nullptr;          // [n_tokens][(n_heads + 2 n_kv_heads) head_dim], bias added
  const int32_t* positions = nullptr; // [n_tokens]
  const float* q_norm = nullptr;      // [head_dim] with qk norm
  const float* k_norm = nullptr;
  void* q = nullptr;                  // scratch: f16 [n_tokens][n_heads][head_dim]
  void* out = nullptr;                // f16 [n_tokens][n_heads][head_dim]
  int n_tokens = 0;
  const float* sinks = nullptr;       // [n_heads] when the layer has sinks
  bool qkv_f16 = false;               // qkv rows are f16 (else f32)
};

// kv_write, then prefill (n_tokens > 1) or decode (n_tokens == 1) over the cache's current batch
// (KvCache::prepare_step ran for this step); a decode step of at most config.fused_write_splits
// splits: one attn_decode_write. Records keys or launches, as `plan` says.
void attention_layer(plan::KernelPlan& plan, const AttentionConfig& config, KvCache& kv, int layer,
                     const AttentionLayerArgs& args, cudaStream_t stream);

}  // namespace kiln::engine
