// The on-disk cache's file format and its failure handling, without NVRTC.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "jit/disk_cache.h"
#include "test_dir.h"

namespace kiln::jit {
namespace {

using testing::TempDir;

struct Warnings {
  std::vector<std::string> seen;
  WarnFn fn() {
    return [this](const std::string& m) { seen.push_back(m); };
  }
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

const std::string kIdentity = "key=k<n=1>\narch=sm_90a\n";

TEST(DiskCache, EntryRoundTripsAndChecks) {
  const std::string entry = make_entry("key=a\n", "payload bytes");
  std::string meta, payload;
  EXPECT_FALSE(check_entry(entry, &meta, &payload));
  EXPECT_EQ(meta, "key=a\n");
  EXPECT_EQ(payload, "payload bytes");
  EXPECT_EQ(meta_value("key=a\nlowered=_Z1k\n", "lowered"), "_Z1k");
  EXPECT_EQ(meta_value("key=a\n", "lowered"), "");

  EXPECT_NE(check_entry(entry.substr(0, 10), nullptr, nullptr)->find("truncated"), std::string::npos);
  EXPECT_NE(check_entry(entry.substr(0, entry.size() - 1), nullptr, nullptr)->find("length mismatch"), std::string::npos);
  std::string flipped = entry;
  flipped[flipped.size() - 3] ^= 0x10;
  EXPECT_EQ(*check_entry(flipped, nullptr, nullptr), "checksum mismatch");
  std::string bad_magic = entry;
  bad_magic[0] = 'X';
  EXPECT_NE(check_entry(bad_magic, nullptr, nullptr)->find("magic"), std::string::npos);
}

TEST(DiskCache, StoreLoadAndIdentityCheck) {
  TempDir dir;
  Warnings warnings;
  DiskCache cache(dir.path() + "/nested/cache", warnings.fn());
  const std::string path = cache.path_for("k<n=1>", "sm_90a", "0123456789abcdef");
  EXPECT_EQ(path, dir.path() + "/nested/cache/kernels/k<n=1>.sm_90a.0123456789abcdef.cubin");
  EXPECT_FALSE(cache.load(path, kIdentity));  // miss
  ASSERT_TRUE(cache.store(path, kIdentity + "lowered=_Z1k\n", "CUBIN"));
  std::string extra;
  EXPECT_EQ(cache.load(path, kIdentity, &extra), "CUBIN");
  EXPECT_EQ(extra, "lowered=_Z1k\n");
  // Another identity at the same path (a hash collision) is a miss, and the entry stays.
  EXPECT_FALSE(cache.load(path, "key=k<n=2>\n"));
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(warnings.seen.empty());

  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].valid);
  EXPECT_EQ(entries[0].name, "k<n=1>");
  EXPECT_EQ(entries[0].arch, "sm_90a");
  EXPECT_EQ(entries[0].registers, -1);  // the payload is no cubin: listed, without its registers
  EXPECT_EQ(entries[0].stack_bytes, -1);
  EXPECT_EQ(cache.clear(), 1);
  EXPECT_TRUE(cache.list().empty());
}

TEST(DiskCache, DamagedEntriesAreRemovedWithAWarning) {
  TempDir dir;
  Warnings warnings;
  DiskCache cache(dir.path(), warnings.fn());
  const std::string path = cache.path_for("k<n=1>", "sm_90a", "00000000000000aa");
  ASSERT_TRUE(cache.store(path, kIdentity, std::string(1000, 'c')));
  const std::string good = read_all(path);

  write_all(path, good.substr(0, good.size() / 2));  // truncated (a crash mid-write elsewhere)
  EXPECT_FALSE(cache.load(path, kIdentity));
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_EQ(warnings.seen.size(), 1u);
  EXPECT_NE(warnings.seen[0].find("damaged (length mismatch"), std::string::npos) << warnings.seen[0];
  EXPECT_NE(warnings.seen[0].find(path), std::string::npos);

  std::string flipped = good;
  flipped[good.size() - 100] ^= 0x01;  // one bit of the payload
  write_all(path, flipped);
  EXPECT_FALSE(cache.load(path, kIdentity));
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_EQ(warnings.seen.size(), 2u);
  EXPECT_NE(warnings.seen[1].find("checksum mismatch"), std::string::npos);

  write_all(path, good);  // a rebuilt entry loads again
  EXPECT_EQ(cache.load(path, kIdentity), std::string(1000, 'c'));
  write_all(path, "");
  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_FALSE(entries[0].valid);
}

TEST(DiskCache, UnwritableDirectoryWarnsOnceAndGivesUp) {
  TempDir dir;
  write_all(dir.path() + "/a-file", "x");
  Warnings warnings;
  // A cache directory below a regular file cannot be created, even by root (unlike chmod).
  DiskCache cache(dir.path() + "/a-file/cache", warnings.fn());
  const std::string path = cache.path_for("k<n=1>", "sm_90a", "00000000000000aa");
  EXPECT_FALSE(cache.store(path, kIdentity, "CUBIN"));
  EXPECT_FALSE(cache.store(path, kIdentity, "CUBIN"));
  EXPECT_FALSE(cache.writable());
  ASSERT_EQ(warnings.seen.size(), 1u);
  EXPECT_NE(warnings.seen[0].find("not writable"), std::string::npos) << warnings.seen[0];
  EXPECT_NE(warnings.seen[0].find("in memory only"), std::string::npos);
  EXPECT_FALSE(cache.load(path, kIdentity));
}

TEST(DiskCache, ReadOnlyDirectoryStillServesEntries) {
  TempDir dir;
  DiskCache writer(dir.path(), nullptr);
  const std::string path = writer.path_for("k<n=1>", "sm_90a", "00000000000000aa");
  ASSERT_TRUE(writer.store(path, kIdentity, "CUBIN"));
  namespace fs = std::filesystem;
  const auto read_only = fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                         fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(dir.path(), read_only);
  fs::permissions(writer.entries_dir(), read_only);

  // Permission bits do not stop root: as root, check from a child running as 'nobody'.
  auto check = [&]() -> int {
    Warnings warnings;
    DiskCache reader(dir.path(), warnings.fn());
    if (reader.load(path, kIdentity) != std::optional<std::string>("CUBIN")) return 1;
    if (reader.store(reader.path_for("k<n=2>", "sm_90a", "00000000000000bb"), kIdentity, "CUBIN")) return 2;
    if (reader.store(reader.path_for("k<n=3>", "sm_90a", "00000000000000cc"), kIdentity, "CUBIN")) return 3;
    if (warnings.seen.size() != 1 || warnings.seen[0].find("not writable") == std::string::npos) return 4;
    return 0;
  };
  if (::geteuid() != 0) {
    EXPECT_EQ(check(), 0);
    return;
  }
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(::setgid(65534) == 0 && ::setuid(65534) == 0 ? check() : 10);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: entry not served, 2/3: store succeeded, 4: warnings, 10: setuid failed";
}

TEST(DiskCache, FullDiskWarnsOnceAndLeavesNoPartialEntry) {
  TempDir dir;
  Warnings warnings;
  DiskCache cache(dir.path(), warnings.fn());
  const std::string path = cache.path_for("k<n=1>", "sm_90a", "00000000000000aa");
  // A file-size limit makes write() fail with EFBIG mid-entry, as a full disk does (ENOSPC).
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit tiny = saved;
  tiny.rlim_cur = 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  const bool stored = cache.store(path, kIdentity, std::string(4096, 'c'));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(stored);
  ASSERT_EQ(warnings.seen.size(), 1u);
  EXPECT_NE(warnings.seen[0].find("write"), std::string::npos) << warnings.seen[0];
  EXPECT_TRUE(std::filesystem::is_empty(cache.entries_dir()));  // the temp file is gone too
}

TEST(DiskCache, RacingWritersNeverExposeAPartialEntry) {
  TempDir dir;
  const std::string payload(200000, 'p');  // large enough that writes take several syscalls
  DiskCache probe(dir.path(), nullptr);
  const std::string path = probe.path_for("k<n=1>", "sm_90a", "00000000000000aa");

  // Two processes and two threads each rewrite the same entry while reading it back.
  auto hammer = [&](int rounds) {
    DiskCache cache(dir.path(), nullptr);
    int bad = 0;
    for (int i = 0; i < rounds; ++i) {
      if (!cache.store(path, kIdentity, payload)) ++bad;
      auto loaded = cache.load(path, kIdentity);  // a damaged entry would warn and be removed
      if (loaded && *loaded != payload) ++bad;
    }
    return bad;
  };
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(hammer(200) == 0 ? 0 : 1);
    children.push_back(pid);
  }
  int thread_bad = 0;
  std::thread t1([&] { thread_bad += hammer(200); });
  const int main_bad = hammer(200);
  t1.join();
  EXPECT_EQ(main_bad + thread_bad, 0);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid << " saw a bad entry";
  }
  std::string meta, loaded;
  EXPECT_FALSE(check_entry(read_all(path), &meta, &loaded));
  EXPECT_EQ(loaded, payload);
  // Only the entry is left: no temp files.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(probe.entries_dir())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace kiln::jit
