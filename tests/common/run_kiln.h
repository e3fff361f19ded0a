#pragma once
// Runs the built `kiln` binary (KILN_BINARY, set by tests/CMakeLists.txt) with arguments and
// captures its exit code, stdout and stderr. Tests skip when the binary is not built.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace kiln::test {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

// `err_path`: a scratch file for stderr.
inline RunResult run_kiln(const std::string& args, const std::string& err_path) {
  const std::string cmd = std::string(KILN_BINARY) + " " + args + " 2>" + err_path;
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  r.err.assign(std::istreambuf_iterator<char>(err), {});
  return r;
}

}  // namespace kiln::test
