// Shared helpers for the test suite: where ../shared is, .npy loading, temp dirs, running the CLI.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace smolvlm::testing {

// ../shared (or $SMOLVLM_SHARED). Empty path if it does not exist.
std::filesystem::path shared_dir();
// shared_dir()/rel (may not exist; guard with SMOLVLM_REQUIRE_SHARED).
std::filesystem::path shared_path(const std::string& rel);
std::filesystem::path test_data(const std::string& rel);  // tests/data/rel
std::filesystem::path repo_root();                         // the repository (scripts/, modelfiles/, ...)

// Skips the current test cleanly when ../shared/<rel> is absent.
#define SMOLVLM_REQUIRE_SHARED(rel)                                    \
  if (!std::filesystem::exists(::smolvlm::testing::shared_path(rel))) \
  GTEST_SKIP() << "../shared/" << (rel) << " is not available"

// A NumPy .npy array (version 1/2/3 header, little-endian, C order).
struct Npy {
  std::string descr;           // "<f4", "<i4", "|u1", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;   // raw bytes
  int64_t size() const;        // number of elements
  std::vector<float> f32() const;      // descr must be <f4
  std::vector<int32_t> i32() const;    // descr must be <i4
};
Npy load_npy(const std::filesystem::path& p);

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the smolvlm binary with args (no shell); captures stdout and stderr.
RunResult run_smolvlm(const std::vector<std::string>& args);

std::vector<uint8_t> read_file(const std::filesystem::path& p);
std::string read_text(const std::filesystem::path& p);  // the file's bytes as text; "" when it cannot be read
void write_file(const std::filesystem::path& p, const void* data, size_t n);
std::string sha256_hex(const void* data, size_t n);
inline std::string sha256_hex(const std::vector<uint8_t>& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

}  // namespace smolvlm::testing
