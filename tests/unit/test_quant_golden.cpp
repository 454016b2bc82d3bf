// Bit-exactness of the quant layer against ggml (golden/quant, made with llama.cpp's ggml):
// quantized bytes, dequantized floats and the quantized activations (Q8_0 / Q8_1 / Q8_K).
#include <nlohmann/json.hpp>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "quant/quant.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::shared_path;

const char* const kIndex = "golden/quant/index.json";

nlohmann::json load_index() {
  std::ifstream f(shared_path(kIndex));
  return nlohmann::json::parse(f);
}

std::vector<float> load_f32(const std::string& name) { return load_npy(shared_path("golden/quant/" + name)).f32(); }
std::vector<uint8_t> load_u8(const std::string& name) {
  auto npy = load_npy(shared_path("golden/quant/" + name));
  EXPECT_EQ(npy.descr, "|u1") << name;
  return npy.data;
}

GgmlType type_of(const std::string& name) {
  const auto t = ggml_type_from_name(name);
  if (!t) fail("unknown type ", name);
  return *t;
}

// Index of the first differing byte, or -1.
int64_t first_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) return int64_t(i);
  }
  return a.size() == b.size() ? -1 : int64_t(std::min(a.size(), b.size()));
}

// Index of the first float whose bits differ, or -1.
int64_t first_bit_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i])) return int64_t(i);
  }
  return -1;
}

TEST(QuantGolden, QuantizedBytesMatchGgml) {
  SMOLVLM_REQUIRE_SHARED(kIndex);
  const auto index = load_index();
  int compared = 0;
  std::set<std::string> matrices;
  for (const auto& r : index["results"]) {
    const std::string type = r["type"], matrix = r["matrix"];
    const int64_t rows = r["rows"], cols = r["cols"];
    SCOPED_TRACE(type + " " + matrix);
    matrices.insert(matrix);
    const GgmlType t = type_of(type);
    const auto w = load_f32("w_" + matrix + ".npy");
    const auto want = load_u8("q_" + type + "_" + matrix + ".npy");
    ASSERT_EQ(int64_t(w.size()), rows * cols);
    ASSERT_EQ(want.size(), size_t(rows) * size_t(r["row_bytes"].get<int64_t>()));
    ASSERT_EQ(ggml_row_size(t, cols), size_t(r["row_bytes"].get<int64_t>()));

    std::vector<uint8_t> got(want.size());
    quantize_rows(t, w.data(), got.data(), rows, cols, 1);
    const int64_t at = first_diff(got, want);
    EXPECT_EQ(at, -1) << "first differing byte " << at << " (row " << at / int64_t(ggml_row_size(t, cols))
                      << ", byte " << at % int64_t(ggml_row_size(t, cols)) << ")";
    ++compared;
  }
  EXPECT_EQ(compared, 37);  // 5 matrices x 5 legacy types + 3 matrices x 4 K types
  // Every source matrix in the folder is covered.
  for (const auto& e : std::filesystem::directory_iterator(shared_path("golden/quant"))) {
    const std::string f = e.path().filename().string();
    if (f.starts_with("w_") && f.ends_with(".npy")) {
      EXPECT_TRUE(matrices.count(f.substr(2, f.size() - 6))) << f;
    }
  }
}

TEST(QuantGolden, DequantizedFloatsMatchGgmlBitExactly) {
  SMOLVLM_REQUIRE_SHARED(kIndex);
  const auto index = load_index();
  int compared = 0;
  for (const auto& r : index["results"]) {
    const std::string type = r["type"], matrix = r["matrix"];
    const int64_t rows = r["rows"], cols = r["cols"];
    SCOPED_TRACE(type + " " + matrix);
    const GgmlType t = type_of(type);
    const auto q = load_u8("q_" + type + "_" + matrix + ".npy");
    const auto want = load_f32("deq_" + type + "_" + matrix + ".npy");
    ASSERT_EQ(int64_t(want.size()), rows * cols);

    std::vector<float> got(want.size());
    const size_t row_bytes = ggml_row_size(t, cols);
    for (int64_t row = 0; row < rows; ++row) {
      dequantize_row(t, q.data() + row * row_bytes, got.data() + row * cols, cols);
    }
    const int64_t at = first_bit_diff(got, want);
    EXPECT_EQ(at, -1) << "first differing value " << at << ": got " << (at >= 0 ? got[at] : 0.f) << ", want "
                      << (at >= 0 ? want[at] : 0.f);
    ++compared;
  }
  EXPECT_EQ(compared, 37);
}

TEST(QuantGolden, ActivationQuantizationMatchesGgml) {
  SMOLVLM_REQUIRE_SHARED(kIndex);
  const auto index = load_index();
  std::set<std::pair<std::string, std::string>> cases;  // (vec_dot_type, matrix)
  for (const auto& r : index["results"]) {
    if (r.contains("dot") && r["dot"].is_object()) cases.emplace(r["dot"]["vec_dot_type"].get<std::string>(), r["matrix"].get<std::string>());
  }
  ASSERT_EQ(cases.size(), 13u);  // Q8_0 and Q8_1 for all 5 matrices, Q8_K for 3
  for (const auto& [type, matrix] : cases) {
    SCOPED_TRACE(type + " " + matrix);
    const GgmlType t = type_of(type);
    const auto act = load_f32("act_" + matrix + ".npy");
    const auto want = load_u8("act_" + type + "_" + matrix + ".npy");
    ASSERT_EQ(want.size(), ggml_row_size(t, int64_t(act.size())));
    std::vector<uint8_t> got(want.size());
    quantize_row(t, act.data(), got.data(), int64_t(act.size()));
    EXPECT_EQ(first_diff(got, want), -1);
  }
}

// quantize_rows on several threads gives the same golden bytes.
TEST(QuantGolden, MultithreadedQuantizationOfGoldenMatrices) {
  SMOLVLM_REQUIRE_SHARED(kIndex);
  const auto index = load_index();
  for (const auto& r : index["results"]) {
    const std::string type = r["type"], matrix = r["matrix"];
    const int64_t rows = r["rows"], cols = r["cols"];
    SCOPED_TRACE(type + " " + matrix);
    const GgmlType t = type_of(type);
    const auto w = load_f32("w_" + matrix + ".npy");
    const auto want = load_u8("q_" + type + "_" + matrix + ".npy");
    std::vector<uint8_t> got(want.size());
    quantize_rows(t, w.data(), got.data(), rows, cols, 3);
    EXPECT_EQ(first_diff(got, want), -1);
  }
}

}  // namespace
}  // namespace smolvlm
