#include "jit/compiler.h"

#include <dlfcn.h>
#include <nvrtc.h>
#include <sys/stat.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <memory>

#include "jit/cuda_check.h"
#include "util/error.h"

namespace kiln::jit {

std::string nvrtc_version() {
  int major = 0, minor = 0;
  KILN_NVRTC_CHECK(nvrtcVersion(&major, &minor));
  return std::to_string(major) + "." + std::to_string(minor);
}

std::vector<std::string> compile_flags(const std::string& arch, const std::vector<std::string>& extra) {
  KILN_CHECK(arch.rfind("sm_", 0) == 0 || arch.rfind("compute_", 0) == 0,
             "bad GPU arch '", arch, "': expected e.g. sm_90a or sm_80");
  std::vector<std::string> flags = {"-arch=" + arch, "-std=c++17", "-default-device"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

namespace {

bool has_fp16_header(const std::string& dir) {
  struct stat st{};
  return !dir.empty() && ::stat((dir + "/cuda_fp16.h").c_str(), &st) == 0;
}

std::string find_toolkit_include_dir(std::string& looked) {
  std::vector<std::string> candidates;
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* root = std::getenv(var); root && *root) candidates.push_back(std::string(root) + "/include");
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&nvrtcVersion), &info) && info.dli_fname) {
    std::string lib = info.dli_fname;  // .../lib64/libnvrtc.so.13 or .../targets/x86_64-linux/lib/...
    lib = lib.substr(0, lib.rfind('/'));
    candidates.push_back(lib + "/../include");
    candidates.push_back(lib + "/../../include");
  }
  candidates.push_back("/usr/local/cuda/include");
  for (const auto& dir : candidates) {
    if (has_fp16_header(dir)) {
      char resolved[PATH_MAX];
      return ::realpath(dir.c_str(), resolved) ? std::string(resolved) : dir;
    }
    looked += (looked.empty() ? "" : ", ") + dir;
  }
  return "";
}

struct ProgramDeleter {
  void operator()(nvrtcProgram* p) const {
    nvrtcDestroyProgram(p);
    delete p;
  }
};

}  // namespace

const std::string& toolkit_include_dir() {
  static std::string looked;
  static const std::string dir = find_toolkit_include_dir(looked);
  if (dir.empty())
    fail("the CUDA toolkit's headers (cuda_fp16.h) were not found (looked in ", looked,
         "): install the toolkit or set CUDA_HOME");
  return dir;
}

CompiledKernel compile_kernel(const KernelKey& key, const SourceSet& sources, const std::vector<std::string>& flags) {
  const auto start = std::chrono::steady_clock::now();
  const std::string name = key.str();
  for (const auto& c : key.constants)
    KILN_CHECK(c.value >= INT_MIN && c.value <= INT_MAX, name, ": constant ", c.name, "=", c.value,
               " does not fit a template parameter of type int");

  // Every file the kernel can include, by its include name (the closure list outlives the
  // program, so its strings can be handed to NVRTC directly).
  const auto& closure = sources.closure(key.file);  // throws when key.file is unknown
  std::vector<const char*> header_texts, header_names;
  for (const auto& file : closure) {
    header_names.push_back(file.c_str());
    header_texts.push_back(sources.find(file)->c_str());
  }

  const std::string main_text = "#include \"" + key.file + "\"\n";
  const std::string program_name = "kiln_" + key.kernel + ".cu";
  std::unique_ptr<nvrtcProgram, ProgramDeleter> program(new nvrtcProgram{});
  KILN_NVRTC_CHECK(nvrtcCreateProgram(program.get(), main_text.c_str(), program_name.c_str(),
                                      static_cast<int>(closure.size()), header_texts.data(), header_names.data()),
                   name);
  const std::string expression = key.name_expression();
  KILN_NVRTC_CHECK(nvrtcAddNameExpression(*program, expression.c_str()), name);

  std::vector<std::string> all_flags = flags;
  std::string arch;
  for (const auto& f : flags)
    if (f.rfind("-arch=", 0) == 0) arch = f.substr(6);
  if (!sources.system_includes(key.file).empty()) all_flags.push_back("--include-path=" + toolkit_include_dir());
  std::vector<const char*> options;
  for (const auto& f : all_flags) options.push_back(f.c_str());

  const nvrtcResult result = nvrtcCompileProgram(*program, static_cast<int>(options.size()), options.data());
  CompiledKernel out;
  size_t log_size = 0;
  if (nvrtcGetProgramLogSize(*program, &log_size) == NVRTC_SUCCESS && log_size > 1) {
    out.log.resize(log_size);
    nvrtcGetProgramLog(*program, out.log.data());
    while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n')) out.log.pop_back();
  }
  if (result != NVRTC_SUCCESS)
    fail(name, " (", arch, "): NVRTC compile failed (", nvrtcGetErrorString(result), ") in ", key.file,
         "; log:\n", out.log.empty() ? "(empty)" : out.log);

  const char* lowered = nullptr;
  KILN_NVRTC_CHECK(nvrtcGetLoweredName(*program, expression.c_str(), &lowered), name);
  out.lowered_name = lowered;
  size_t cubin_size = 0;
  KILN_NVRTC_CHECK(nvrtcGetCUBINSize(*program, &cubin_size), name);
  KILN_CHECK(cubin_size > 0, name, " (", arch, "): NVRTC produced no cubin (is '", arch, "' a real GPU arch?)");
  out.cubin.resize(cubin_size);
  KILN_NVRTC_CHECK(nvrtcGetCUBIN(*program, out.cubin.data()), name);
  out.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace kiln::jit
