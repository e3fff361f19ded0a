#include "jit/trace.h"

#include <algorithm>
#include <fstream>
#include <mutex>

#include "jit/cuda_check.h"
#include "util/env.h"
#include "util/error.h"

namespace kiln::jit {

namespace {

struct TraceState {
  std::mutex mutex;
  uint64_t* buffer = nullptr;  // device: [0] count, [1] capacity, then two words a record
  std::vector<std::string> names;
};

TraceState& state() {
  static TraceState s;
  return s;
}

// Sets a __device__ variable of `library` to `value` (bytes of T).
template <class T>
void set_global(cudaLibrary_t library, const char* name, const T& value) {
  void* address = nullptr;
  size_t bytes = 0;
  KILN_CUDA_CHECK(cudaLibraryGetGlobal(&address, &bytes, library, name), "trace: ", name,
                  " (is the kernel built with -DKILN_TRACE?)");
  KILN_CHECK(bytes == sizeof(T), "trace: ", name, " has ", bytes, " bytes, expected ", sizeof(T));
  KILN_CUDA_CHECK(cudaMemcpy(address, &value, sizeof(T), cudaMemcpyHostToDevice), "trace: ", name);
}

}  // namespace

bool trace_from_env() { return env_switch("KILN_TRACE"); }

void trace_attach(cudaLibrary_t library, const std::string& kernel_name) {
  TraceState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.buffer) {
    const size_t bytes = (2 + 2 * kTraceCapacity) * sizeof(uint64_t);
    KILN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&s.buffer), bytes), "trace buffer");
    const uint64_t header[2] = {0, kTraceCapacity};
    KILN_CUDA_CHECK(cudaMemcpy(s.buffer, header, sizeof header, cudaMemcpyHostToDevice), "trace buffer");
  }
  auto it = std::find(s.names.begin(), s.names.end(), kernel_name);
  if (it == s.names.end()) it = s.names.insert(s.names.end(), kernel_name);
  const unsigned id = unsigned(it - s.names.begin());
  KILN_CHECK(id < (1u << 16), "trace: more than 65536 kernels");
  set_global(library, "kiln_trace_records", s.buffer);
  set_global(library, "kiln_trace_kernel", id);
}

void trace_clear() {
  TraceState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.buffer) return;
  KILN_CUDA_CHECK(cudaMemset(s.buffer, 0, sizeof(uint64_t)), "trace clear");
  KILN_CUDA_CHECK(cudaDeviceSynchronize(), "trace clear");  // cudaMemset may return before it is done
}

std::vector<TraceRecord> trace_download(uint64_t* dropped) {
  TraceState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (dropped) *dropped = 0;
  if (!s.buffer) return {};
  KILN_CUDA_CHECK(cudaDeviceSynchronize(), "trace download");
  uint64_t count = 0;
  KILN_CUDA_CHECK(cudaMemcpy(&count, s.buffer, sizeof count, cudaMemcpyDeviceToHost), "trace download");
  const uint64_t kept = std::min(count, kTraceCapacity);
  if (dropped) *dropped = count - kept;
  std::vector<uint64_t> words(2 * kept);
  if (kept)
    KILN_CUDA_CHECK(cudaMemcpy(words.data(), s.buffer + 2, words.size() * sizeof(uint64_t), cudaMemcpyDeviceToHost),
                    "trace download");
  std::vector<TraceRecord> out(kept);
  for (uint64_t i = 0; i < kept; ++i) {
    const uint64_t w = words[2 * i + 1];
    out[i] = {words[2 * i], int(w >> 48), int((w >> 40) & 0xff), int((w >> 32) & 0xff), uint32_t(w)};
  }
  return out;
}

const std::vector<std::string>& trace_kernel_names() { return state().names; }

size_t trace_write_csv(const std::string& path) {
  static const char* const kEventNames[] = {"start", "waited", "end", "arrive", "leave", "?"};
  uint64_t dropped = 0;
  const std::vector<TraceRecord> records = trace_download(&dropped);
  std::ofstream out(path);
  KILN_CHECK(out.good(), path, ": cannot write the trace");
  uint64_t t0 = UINT64_MAX;
  for (const TraceRecord& r : records) t0 = std::min(t0, r.t_ns);
  const std::vector<std::string>& names = trace_kernel_names();
  out << "t_ns,kernel,event,sm,cta\n";
  for (const TraceRecord& r : records)
    out << (r.t_ns - t0) << ",\"" << (r.kernel < int(names.size()) ? names[r.kernel] : "?") << "\","
        << kEventNames[std::min(r.event, 5)] << "," << r.sm << "," << r.cta << "\n";
  KILN_CHECK(out.good(), path, ": writing the trace failed");
  KILN_CHECK(dropped == 0, path, ": ", dropped, " trace records did not fit (capacity ", kTraceCapacity,
             "): trace fewer launches");
  return records.size();
}

}  // namespace kiln::jit
