// GGUF reader on hostile / malformed input: each case must throw an Error that names the problem
// (and never crash or allocate according to a lying count).
#include <chrono>
#include <cstring>
#include <string>

#include "base/error.h"
#include "io/gguf.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

// Hand-assembles GGUF bytes.
struct Raw {
  std::vector<uint8_t> b;
  Raw& raw(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  Raw& u8(uint8_t v) { return raw(&v, 1); }
  Raw& u32(uint32_t v) { return raw(&v, 4); }
  Raw& u64(uint64_t v) { return raw(&v, 8); }
  Raw& str(const std::string& s) { return u64(s.size()).raw(s.data(), s.size()); }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return raw("GGUF", 4).u32(version).u64(n_tensors).u64(n_kv);
  }
  Raw& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(uint32_t(GgufType::UINT32)).u32(v); }
  // Tensor info: name, dims, ggml type id, offset.
  Raw& info(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }
  Raw& pad(size_t align) {
    while (b.size() % align != 0) b.push_back(0);
    return *this;
  }
  Raw& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
};

std::string parse_error(const std::vector<uint8_t>& b) {
  try {
    GgufFile::parse(b, "bad.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_PARSE_ERROR(bytes, needle)                                \
  do {                                                                   \
    const std::string msg_ = parse_error(bytes);                         \
    EXPECT_NE(msg_.find(needle), std::string::npos) << msg_;             \
    EXPECT_EQ(msg_.rfind("bad.gguf: offset ", 0), 0u) << msg_;           \
  } while (0)

// A valid file with two F32 tensors [4] and [8] (16 + 32 bytes; the data end is the file end).
Raw valid_file() {
  Raw r;
  r.header(2, 2).str("general.architecture").u32(uint32_t(GgufType::STRING)).str("llama");
  r.str("a.list").u32(uint32_t(GgufType::ARRAY)).u32(uint32_t(GgufType::STRING)).u64(2).str("x").str("yz");
  r.info("t0", {4}, 0, 0).info("t1", {8}, 0, 32).pad(32).zeros(64);
  return r;
}

TEST(GgufHostile, ValidBaselineParses) {
  const Raw r = valid_file();
  const GgufFile f = GgufFile::parse(r.b);
  EXPECT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.get("a.list").as_str_array().size(), 2u);
}

TEST(GgufHostile, EveryTruncationThrows) {
  const Raw r = valid_file();
  for (size_t n = 0; n < r.b.size(); ++n) {
    const std::vector<uint8_t> cut(r.b.begin(), r.b.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_THROW(GgufFile::parse(cut, "cut.gguf"), Error) << "prefix " << n;
  }
}

TEST(GgufHostile, GoldenHeaderTruncationsThrow) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F16.gguf");
  const auto bytes = testing::read_file(testing::shared_path("golden/tiny512/gguf/mmproj-F16.gguf"));
  const GgufFile full = GgufFile::parse(bytes);
  // Every cut inside the header and tensor infos, and a sample of cuts through the data.
  const auto& last = full.tensors().back();
  const uint64_t data_end = full.data_offset() + last.offset + last.nbytes;
  for (uint64_t n = 0; n < data_end; n += (n < full.data_offset() ? 1 : 997)) {
    EXPECT_THROW(GgufFile::parse(std::span(bytes.data(), n), "cut.gguf"), Error) << "prefix " << n;
  }
}

TEST(GgufHostile, BadMagic) {
  Raw r = valid_file();
  r.b[0] = 'g';
  EXPECT_PARSE_ERROR(r.b, "bad magic");
  EXPECT_PARSE_ERROR((std::vector<uint8_t>{0x47, 0x47}), "bad magic");
}

TEST(GgufHostile, Version0) { EXPECT_PARSE_ERROR(Raw().header(0, 0, 0).b, "bad GGUF version 0"); }
TEST(GgufHostile, Version1) { EXPECT_PARSE_ERROR(Raw().header(0, 0, 1).b, "version 1 is no longer supported"); }
TEST(GgufHostile, Version4) { EXPECT_PARSE_ERROR(Raw().header(0, 0, 4).b, "version 4 is newer"); }
TEST(GgufHostile, BigEndian) { EXPECT_PARSE_ERROR(Raw().header(0, 0, 0x03000000).b, "big-endian"); }

TEST(GgufHostile, Version2Accepted) {
  const GgufFile f = GgufFile::parse(Raw().header(0, 1, 2).kv_u32("k", 5).b);
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.get("k").as_u32(), 5u);
}

TEST(GgufHostile, HugeTensorCountFailsInstantly) {
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_PARSE_ERROR(Raw().header(uint64_t(1) << 60, 0).b, "cannot fit");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
}

TEST(GgufHostile, HugeKvCount) { EXPECT_PARSE_ERROR(Raw().header(0, uint64_t(1) << 40).b, "cannot fit"); }
TEST(GgufHostile, NegativeTensorCount) { EXPECT_PARSE_ERROR(Raw().header(~uint64_t(0), 0).b, "negative tensor count"); }

TEST(GgufHostile, HugeStringLength) {
  Raw r;
  r.header(0, 1).u64(uint64_t(1) << 40).zeros(16);
  EXPECT_PARSE_ERROR(r.b, "exceeds the 1 GiB limit");
}

TEST(GgufHostile, StringPastEof) {
  Raw r;
  r.header(0, 1).u64(100).raw("abc", 3).zeros(16);
  EXPECT_PARSE_ERROR(r.b, "runs past end of file");
}

TEST(GgufHostile, HugeArrayCount) {
  Raw r;
  r.header(0, 1).str("k").u32(uint32_t(GgufType::ARRAY)).u32(uint32_t(GgufType::UINT8)).u64(uint64_t(1) << 31);
  EXPECT_PARSE_ERROR(r.b, "exceeds the limit of 2^30");
}

TEST(GgufHostile, ArrayCountPastEof) {
  Raw r;
  r.header(0, 1).str("k").u32(uint32_t(GgufType::ARRAY)).u32(uint32_t(GgufType::STRING)).u64(1000000).zeros(64);
  EXPECT_PARSE_ERROR(r.b, "array of 1000000 x str runs past end of file");
}

TEST(GgufHostile, NestedArray) {
  Raw r;
  r.header(0, 1).str("k").u32(uint32_t(GgufType::ARRAY)).u32(uint32_t(GgufType::ARRAY)).u64(1);
  r.u32(uint32_t(GgufType::UINT8)).u64(1).u8(0);
  EXPECT_PARSE_ERROR(r.b, "nested arrays");
}

TEST(GgufHostile, UnknownValueType) {
  Raw r;
  r.header(0, 1).str("k").u32(13).u64(0);
  EXPECT_PARSE_ERROR(r.b, "key 'k': unknown value type 13");
}

TEST(GgufHostile, UnknownArrayElementType) {
  Raw r;
  r.header(0, 1).str("k").u32(uint32_t(GgufType::ARRAY)).u32(99).u64(0);
  EXPECT_PARSE_ERROR(r.b, "unknown array element type 99");
}

TEST(GgufHostile, DuplicateKey) {
  EXPECT_PARSE_ERROR(Raw().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b, "duplicate metadata key 'k'");
}

TEST(GgufHostile, EmptyKey) { EXPECT_PARSE_ERROR(Raw().header(0, 1).kv_u32("", 1).b, "is empty"); }

TEST(GgufHostile, AlignmentWrongType) {
  Raw r;
  r.header(0, 1).str("general.alignment").u32(uint32_t(GgufType::UINT64)).u64(32);
  EXPECT_PARSE_ERROR(r.b, "'general.alignment' has type u64, expected u32");
}

TEST(GgufHostile, AlignmentNotPowerOfTwo) {
  EXPECT_PARSE_ERROR(Raw().header(0, 1).kv_u32("general.alignment", 48).b, "= 48 is not a power of two");
}

TEST(GgufHostile, AlignmentZero) {
  EXPECT_PARSE_ERROR(Raw().header(0, 1).kv_u32("general.alignment", 0).b, "= 0 is not a power of two");
}

TEST(GgufHostile, CustomAlignmentRespected) {
  Raw r;
  r.header(2, 1).kv_u32("general.alignment", 64).info("a", {4}, 0, 0).info("b", {4}, 0, 64).pad(64).zeros(80);
  const GgufFile f = GgufFile::parse(r.b);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  Raw bad;
  bad.header(2, 1).kv_u32("general.alignment", 64).info("a", {4}, 0, 0).info("b", {4}, 0, 32).pad(64).zeros(80);
  EXPECT_PARSE_ERROR(bad.b, "tensor 'b' has offset 32, expected 64");
}

TEST(GgufHostile, TensorName64Bytes) {
  const std::string n64(64, 'n');
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info(n64, {4}, 0, 0).pad(32).zeros(32).b, "is 64 bytes (limit 63)");
  const std::string n63(63, 'n');
  EXPECT_EQ(GgufFile::parse(Raw().header(1, 0).info(n63, {4}, 0, 0).pad(32).zeros(32).b).tensors()[0].name, n63);
}

TEST(GgufHostile, DuplicateTensorName) {
  Raw r;
  r.header(2, 0).info("w", {4}, 0, 0).info("w", {4}, 0, 32).pad(32).zeros(64);
  EXPECT_PARSE_ERROR(r.b, "duplicate tensor name 'w'");
}

TEST(GgufHostile, ZeroDims) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {}, 0, 0).pad(32).zeros(32).b, "n_dims 0 is not in 1..4");
}

TEST(GgufHostile, FiveDims) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {1, 1, 1, 1, 1}, 0, 0).pad(32).zeros(32).b,
                     "n_dims 5 is not in 1..4");
}

TEST(GgufHostile, NegativeDim) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {4, ~uint64_t(0)}, 0, 0).pad(32).zeros(32).b,
                     "tensor 'w': ne[1] is negative");
}

TEST(GgufHostile, ElementCountOverflow) {
  const uint64_t big = uint64_t(1) << 40;
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {big, big}, 0, 0).pad(32).zeros(32).b, "overflows int64");
}

TEST(GgufHostile, HugeTensorCannotFit) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {uint64_t(1) << 40}, 0, 0).pad(32).zeros(32).b,
                     "tensor 'w': ");
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {uint64_t(1) << 40}, 0, 0).pad(32).zeros(32).b,
                     "cannot fit in the file");
}

TEST(GgufHostile, UnknownTypeId) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {32}, 4, 0).pad(32).zeros(64).b, "unknown ggml type id 4");
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {32}, 40, 0).pad(32).zeros(64).b, "unknown ggml type id 40");
}

TEST(GgufHostile, BlockSizeMismatch) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {33}, 8, 0).pad(32).zeros(64).b,
                     "ne[0] = 33 is not a multiple of the q8_0 block size 32");
}

TEST(GgufHostile, FirstOffsetNotZero) {
  EXPECT_PARSE_ERROR(Raw().header(1, 0).info("w", {4}, 0, 32).pad(32).zeros(64).b,
                     "tensor 'w' has offset 32, expected 0");
}

TEST(GgufHostile, OutOfOrderOffsets) {
  Raw r;
  r.header(2, 0).info("a", {4}, 0, 32).info("b", {4}, 0, 0).pad(32).zeros(64);
  EXPECT_PARSE_ERROR(r.b, "tensor 'a' has offset 32, expected 0");
}

TEST(GgufHostile, OverlappingOffsets) {
  Raw r;
  r.header(2, 0).info("a", {16}, 0, 0).info("b", {4}, 0, 16).pad(32).zeros(96);
  EXPECT_PARSE_ERROR(r.b, "tensor 'b' has offset 16, expected 64");
}

TEST(GgufHostile, MisalignedOffset) {
  Raw r;
  r.header(2, 0).info("a", {4}, 0, 0).info("b", {4}, 0, 16).pad(32).zeros(64);
  EXPECT_PARSE_ERROR(r.b, "tensor 'b' has offset 16, expected 32");
}

TEST(GgufHostile, DataPastEof) {
  Raw r;
  r.header(1, 0).info("w", {8}, 0, 0).pad(32).zeros(31);
  EXPECT_PARSE_ERROR(r.b, "tensor 'w': data [");
  EXPECT_PARSE_ERROR(r.b, "runs past end of file");
}

TEST(GgufHostile, NoTensorsNoDataSection) {
  const GgufFile f = GgufFile::parse(Raw().header(0, 1).kv_u32("k", 1).b);
  EXPECT_TRUE(f.tensors().empty());
}

}  // namespace
}  // namespace smolvlm
