// jit::Library without a GPU: NVRTC compiles for an explicit arch, the disk cache, errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "jit/builtin_kernels.h"
#include "jit/device.h"
#include "jit/library.h"
#include "test_dir.h"
#include "util/error.h"

namespace kiln::jit {
namespace {

using testing::TempDir;

// A tiny kernel set of our own, so the tests control the source text.
const char* kScaleParams = "struct ScaleParams { float* data; int n; float factor; };\n";
const char* kScaleSource = R"(#include "scale_params.h"
template <int N, int THREADS>
__global__ void scale(const __grid_constant__ ScaleParams p) {
  const int n = N ? N : p.n;
  for (int i = blockIdx.x * THREADS + threadIdx.x; i < n; i += gridDim.x * THREADS) p.data[i] *= p.factor;
}
)";

SourceSet scale_sources(const std::string& extra = "") {
  return SourceSet({{"scale.cuh", std::string(kScaleSource) + extra}, {"scale_params.h", kScaleParams}});
}

KernelKey scale_key(int n, int threads = 128) {
  KernelKey key;
  key.kernel = "scale";
  key.file = "scale.cuh";
  key.constants = {{"n", n, ConstKind::shape}, {"threads", threads, ConstKind::tuning}};
  return key;
}

struct LibraryTest : ::testing::Test {
  TempDir dir;
  std::vector<std::string> warnings;
  LibraryOptions options(const SourceSet& sources) {
    LibraryOptions o;
    o.arch = "sm_90a";
    o.cache_dir = dir.path();
    o.mode = Mode::specialized;
    o.strict = false;
    o.threads = 2;
    o.sources = &sources;
    o.warn = [this](const std::string& m) { warnings.push_back(m); };
    return o;
  }
  int entry_count() {
    int n = 0;
    if (std::filesystem::exists(dir.path() + "/kernels"))
      for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/kernels")) n += e.is_regular_file();
    return n;
  }
};

// Programmatic launch follows the wait for the previous kernel wherever the kernel's file
// reaches it: attn_decode_write.cuh's kernel runs attn_decode.cuh's body, whose wait once went
// unseen (the file itself has no call), so it launched only after its predecessor ended.
TEST(WaitsForPreviousKernel, FollowsIncludes) {
  const SourceSet set({{"body.cuh", "__device__ void run() { kiln_dev::wait_for_previous_kernel(); }\n"},
                       {"own.cuh", "__global__ void own() { kiln_dev::wait_for_previous_kernel(); }\n"},
                       {"wrapper.cuh", "#include \"body.cuh\"\n__global__ void wrapper() { run(); }\n"},
                       {"alone.cuh", "// wait_for_previous_kernel() is not called here\n__global__ void alone() {}\n"}});
  EXPECT_TRUE(waits_for_previous_kernel(set, "own.cuh"));
  EXPECT_TRUE(waits_for_previous_kernel(set, "wrapper.cuh"));
  EXPECT_FALSE(waits_for_previous_kernel(set, "alone.cuh"));
  EXPECT_FALSE(waits_for_previous_kernel(set, "missing.cuh"));
}

// Every kernel of ours waits for its predecessor, so the engine launches each one programmatically.
// A new kernel that does not must be launched without it: this test then needs its exception.
TEST(WaitsForPreviousKernel, EveryBuiltinKernelWaits) {
  const SourceSet& set = SourceSet::builtin();
  int kernels = 0;
  for (const auto& file : set.files()) {
    if (file.text.find("__global__") == std::string::npos) continue;
    ++kernels;
    EXPECT_TRUE(waits_for_previous_kernel(set, file.name)) << file.name;
  }
  EXPECT_GE(kernels, 14);  // the scan found the kernel files
  EXPECT_TRUE(waits_for_previous_kernel(set, "attn_decode_write.cuh"));
}

TEST_F(LibraryTest, CompilesAndNamesTheInstance) {
  const SourceSet sources = scale_sources();
  Library library(options(sources));
  const CompiledKernel k = library.compile(scale_key(1000));
  EXPECT_GT(k.cubin.size(), 1000u);
  EXPECT_EQ(k.cubin.substr(0, 4), "\x7f" "ELF");
  EXPECT_EQ(k.lowered_name, "_Z5scaleILi1000ELi128EEv11ScaleParams");
  EXPECT_GT(k.compile_ms, 0);
}

TEST_F(LibraryTest, SourceErrorNamesKeyArchAndLog) {
  const SourceSet sources = scale_sources("static_assert(sizeof(int) == 3, \"kiln planted error\");\n");
  Library library(options(sources));
  try {
    library.compile(scale_key(77));
    FAIL() << "expected a compile error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("scale<n=77,threads=128>"), std::string::npos) << message;
    EXPECT_NE(message.find("sm_90a"), std::string::npos) << message;
    EXPECT_NE(message.find("NVRTC compile failed"), std::string::npos) << message;
    EXPECT_NE(message.find("kiln planted error"), std::string::npos) << message;  // from NVRTC's log
    EXPECT_NE(message.find("scale.cuh"), std::string::npos) << message;
  }
  // precompile() reports the same failure, and nothing is cached.
  EXPECT_THROW(library.precompile({scale_key(77)}), Error);
  EXPECT_EQ(entry_count(), 0);
}

TEST_F(LibraryTest, UnknownFileAndOversizedConstantAreClearErrors) {
  const SourceSet sources = scale_sources();
  Library library(options(sources));
  KernelKey missing = scale_key(1);
  missing.file = "nope.cuh";
  EXPECT_THROW(library.compile(missing), Error);
  try {
    library.compile(scale_key(1, 128).generic());  // fine
    KernelKey huge = scale_key(1);
    huge.constants[0].value = int64_t{1} << 40;
    library.compile(huge);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit"), std::string::npos) << e.what();
  }
}

TEST_F(LibraryTest, DiskCacheHitsMissesAndSummary) {
  const SourceSet sources = scale_sources();
  const std::vector<KernelKey> keys = {scale_key(100), scale_key(200), scale_key(100), scale_key(300, 64)};
  {
    Library library(options(sources));
    const LoadSummary first = library.precompile(keys);
    EXPECT_EQ(first.needed, 3);
    EXPECT_EQ(first.compiled, 3);
    EXPECT_EQ(first.from_disk, 0);
    EXPECT_EQ(entry_count(), 3);
    EXPECT_NE(first.line().find("kernels: 3 needed (sm_90a, specialized): 0 in memory, 0 from disk, 3 compiled in "),
              std::string::npos) << first.line();
    const LoadSummary again = library.precompile(keys);  // same library: known
    EXPECT_EQ(again.from_memory, 3);
    EXPECT_EQ(again.compiled, 0);
  }
  Library fresh(options(sources));  // a new process, in effect
  const LoadSummary warm = fresh.precompile(keys);
  EXPECT_EQ(warm.from_disk, 3);
  EXPECT_EQ(warm.compiled, 0);
  EXPECT_TRUE(warnings.empty());

  // The file is named by the key.
  const std::string path = fresh.cache_path(scale_key(100));
  EXPECT_NE(path.find("/kernels/scale<n=100,threads=128>.sm_90a."), std::string::npos) << path;
  EXPECT_TRUE(std::filesystem::exists(path));
  const auto listed = fresh.disk_cache()->list();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].name.rfind("scale<", 0), 0u);
}

TEST_F(LibraryTest, GenericModeFoldsShapes) {
  const SourceSet sources = scale_sources();
  LibraryOptions o = options(sources);
  o.mode = Mode::generic;
  Library library(o);
  const LoadSummary s = library.precompile({scale_key(100), scale_key(200), scale_key(300, 64)});
  EXPECT_EQ(s.needed, 2);  // scale<n=0,threads=128> and scale<n=0,threads=64>
  EXPECT_EQ(s.compiled, 2);
  EXPECT_EQ(library.resolve(scale_key(100)).str(), "scale<n=0,threads=128>");
  EXPECT_NE(s.line().find("generic"), std::string::npos);
}

TEST_F(LibraryTest, CacheKeyCoversSourceConstantsFlagsAndArch) {
  const SourceSet sources = scale_sources();
  const SourceSet edited = scale_sources("// a comment changes the text\n");
  Library base(options(sources));
  Library other_source(options(edited));
  LibraryOptions with_flag = options(sources);
  with_flag.extra_flags = {"-lineinfo"};
  Library other_flags(with_flag);
  LibraryOptions sm80 = options(sources);
  sm80.arch = "sm_80";
  Library other_arch(sm80);

  const std::string p = base.cache_path(scale_key(100));
  EXPECT_NE(p, other_source.cache_path(scale_key(100)));
  EXPECT_NE(p, other_flags.cache_path(scale_key(100)));
  EXPECT_NE(p, other_arch.cache_path(scale_key(100)));
  EXPECT_NE(p, base.cache_path(scale_key(101)));
  EXPECT_NE(p, base.cache_path(scale_key(100, 64)));
  EXPECT_EQ(p, Library(options(sources)).cache_path(scale_key(100)));
  EXPECT_NE(base.identity(scale_key(100)).find("nvrtc=" + nvrtc_version()), std::string::npos);

  // An edited source is a miss, then compiles; the old entry stays valid for the old text.
  base.precompile({scale_key(100)});
  EXPECT_EQ(other_source.precompile({scale_key(100)}).compiled, 1);
  EXPECT_EQ(Library(options(sources)).precompile({scale_key(100)}).from_disk, 1);
}

TEST_F(LibraryTest, CorruptEntryIsRebuilt) {
  const SourceSet sources = scale_sources();
  Library(options(sources)).precompile({scale_key(100)});
  Library library(options(sources));
  const std::string path = library.cache_path(scale_key(100));
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 7);
  const LoadSummary s = library.precompile({scale_key(100)});
  EXPECT_EQ(s.compiled, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("damaged"), std::string::npos) << warnings[0];
  EXPECT_EQ(Library(options(sources)).precompile({scale_key(100)}).from_disk, 1);  // rebuilt entry is good
}

TEST_F(LibraryTest, UnwritableCacheDegradesToMemoryWithOneWarning) {
  const SourceSet sources = scale_sources();
  LibraryOptions o = options(sources);
  std::ofstream(dir.path() + "/file") << "x";
  o.cache_dir = dir.path() + "/file/cache";  // cannot be created, even by root
  Library library(o);
  const LoadSummary s = library.precompile({scale_key(1), scale_key(2), scale_key(3)});
  EXPECT_EQ(s.compiled, 3);
  ASSERT_EQ(warnings.size(), 1u) << "one warning, not one per kernel";
  EXPECT_NE(warnings[0].find("not writable"), std::string::npos);
}

TEST_F(LibraryTest, TwoLibrariesRacingOnOneKey) {
  const SourceSet sources = scale_sources();
  Library a(options(sources)), b(options(sources));
  std::thread other([&] { a.precompile({scale_key(555), scale_key(556)}); });
  b.precompile({scale_key(555), scale_key(556)});
  other.join();
  EXPECT_EQ(entry_count(), 2);
  const LoadSummary s = Library(options(sources)).precompile({scale_key(555), scale_key(556)});
  EXPECT_EQ(s.from_disk, 2);
  EXPECT_TRUE(warnings.empty());
}

TEST_F(LibraryTest, StrictModeRefusesNewKernelsAfterSeal) {
  const SourceSet sources = scale_sources();
  LibraryOptions o = options(sources);
  o.strict = true;
  Library library(o);
  library.precompile({scale_key(10)});
  library.seal();
  EXPECT_EQ(library.precompile({scale_key(10)}).from_memory, 1);  // prepared before: fine
  try {
    library.precompile({scale_key(11)});
    FAIL() << "expected strict mode to refuse";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scale<n=11,threads=128>"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("KILN_JIT_STRICT"), std::string::npos) << e.what();
  }
  LibraryOptions lax = options(sources);
  Library relaxed(lax);
  relaxed.seal();
  EXPECT_EQ(relaxed.precompile({scale_key(12)}).compiled, 1);  // not strict: compiles
}

TEST_F(LibraryTest, StrictFromEnv) {
  ::setenv("KILN_JIT_STRICT", "1", 1);
  EXPECT_TRUE(LibraryOptions::strict_from_env());
  ::setenv("KILN_JIT_STRICT", "0", 1);
  EXPECT_FALSE(LibraryOptions::strict_from_env());
  ::unsetenv("KILN_JIT_STRICT");
  EXPECT_FALSE(LibraryOptions{}.strict);
}

TEST_F(LibraryTest, NoDeviceMeansOneClearError) {
  if (Device::has_device()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_NE(Device::no_device_reason().find("no CUDA device"), std::string::npos);
  EXPECT_THROW(Device::current(), Error);
  const SourceSet sources = scale_sources();
  Library library(options(sources));
  try {
    library.get(scale_key(100));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("scale<n=100"), std::string::npos) << e.what();
  }
  EXPECT_THROW(library.prepare({scale_key(100)}), Error);
  LibraryOptions no_arch = options(sources);
  no_arch.arch = "";
  Library unknown(no_arch);  // constructing is fine; compiling needs an arch
  try {
    unknown.compile(scale_key(1));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--arch"), std::string::npos) << e.what();
  }
}

TEST_F(LibraryTest, ToolkitHeadersAreFoundWhenAKernelIncludesThem) {
  const SourceSet sources(std::vector<SourceSet::File>{{"half.cuh", R"(#include <cuda_fp16.h>
template <int N> __global__ void half_kernel(__half* p) { p[threadIdx.x] = __float2half(N * 1.5f); }
)"}});
  Library library(options(sources));
  KernelKey key;
  key.kernel = "half_kernel";
  key.file = "half.cuh";
  key.constants = {{"n", 3, ConstKind::shape}};
  EXPECT_FALSE(toolkit_include_dir().empty());
  EXPECT_GT(library.compile(key).cubin.size(), 0u);
}

TEST(Device, ArchStrings) {
  EXPECT_EQ(arch_for(9, 0), "sm_90a");
  EXPECT_EQ(arch_for(10, 0), "sm_100a");
  EXPECT_EQ(arch_for(8, 6), "sm_86");
  EXPECT_EQ(arch_for(8, 0), "sm_80");
  EXPECT_EQ(arch_for(12, 0), "sm_120");
  EXPECT_EQ(cc_major_of_arch("sm_90a"), 9);
  EXPECT_EQ(cc_major_of_arch("sm_80"), 8);
  EXPECT_EQ(cc_major_of_arch("sm_86"), 8);
  EXPECT_EQ(cc_major_of_arch("compute_100"), 10);
  EXPECT_EQ(cc_major_of_arch("sm_120"), 12);
  for (const char* bad : {"", "sm_", "sm_9", "sm_90x", "gfx90a", "compute_", "sm_9000"})
    EXPECT_THROW(cc_major_of_arch(bad), Error) << bad;
}

}  // namespace
}  // namespace kiln::jit
