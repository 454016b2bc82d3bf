// GGUF values, writer and reader on valid input: every value type round-trips, the writer's layout
// rules, and the golden llama.cpp files re-written byte for byte.
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "io/gguf.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

#define EXPECT_THROW_MSG(stmt, needle)                                                   \
  do {                                                                                   \
    try {                                                                                \
      stmt;                                                                              \
      ADD_FAILURE() << "expected an Error mentioning '" << (needle) << "'";              \
    } catch (const Error& e) {                                                           \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();      \
    }                                                                                    \
  } while (0)

// Producer writing bytes i*7+j so that each tensor's content is distinct and checkable.
void pattern(size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& out) {
  out.resize(info.nbytes);
  for (size_t j = 0; j < out.size(); ++j) out[j] = static_cast<uint8_t>(i * 7 + j);
}

std::vector<GgufKV> every_type() {
  std::vector<uint8_t> u16s = {1, 0, 0xff, 0xff};
  std::vector<uint8_t> i64s(16);
  const int64_t a[2] = {-5, INT64_MAX};
  std::memcpy(i64s.data(), a, 16);
  return {
      {"t.u8", GgufValue::u8(250)},
      {"t.i8", GgufValue::i8(-100)},
      {"t.u16", GgufValue::u16(65000)},
      {"t.i16", GgufValue::i16(-32000)},
      {"t.u32", GgufValue::u32(4000000000u)},
      {"t.i32", GgufValue::i32(-2000000000)},
      {"t.f32", GgufValue::f32(1e-5f)},
      {"t.bool", GgufValue::boolean(true)},
      {"t.str", GgufValue::str(std::string("he\0llo\n", 7))},
      {"t.empty_str", GgufValue::str("")},
      {"t.u64", GgufValue::u64(UINT64_MAX)},
      {"t.i64", GgufValue::i64(INT64_MIN)},
      {"t.f64", GgufValue::f64(-1.0 / 3.0)},
      {"t.nan", GgufValue::f32(std::bit_cast<float>(0x7fa00001u))},  // signalling NaN bits survive
      {"t.str_arr", GgufValue::str_array({"a", "", "<|im_start|>"})},
      {"t.i32_arr", GgufValue::i32_array({1, -2, 3})},
      {"t.u32_arr", GgufValue::u32_array({7, 8})},
      {"t.f32_arr", GgufValue::f32_array({0.5f, -2.25f})},
      {"t.u16_arr", GgufValue::scalar_array(GgufType::UINT16, u16s, 2)},
      {"t.i64_arr", GgufValue::scalar_array(GgufType::INT64, i64s, 2)},
      {"t.bool_arr", GgufValue::scalar_array(GgufType::BOOL, {1, 0, 1}, 3)},
      {"t.empty_arr", GgufValue::i32_array({})},
  };
}

TEST(GgufValue, EveryTypeRoundTripsThroughWriterAndReader) {
  GgufWriter w;
  for (const GgufKV& kv : every_type()) w.set(kv.key, kv.value);
  const std::vector<uint8_t> bytes = w.write_memory(pattern);
  const GgufFile f = GgufFile::parse(bytes, "values.gguf");
  ASSERT_EQ(f.metadata().size(), every_type().size());
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    EXPECT_EQ(f.metadata()[i].key, every_type()[i].key);
    EXPECT_TRUE(f.metadata()[i].value == every_type()[i].value) << f.metadata()[i].key;
    EXPECT_EQ(f.metadata()[i].value.type_string(), every_type()[i].value.type_string());
  }
  EXPECT_EQ(f.get("t.u8").as_int(), 250);
  EXPECT_EQ(f.get("t.i8").as_int(), -100);
  EXPECT_EQ(f.get("t.i16").as_int(), -32000);
  EXPECT_EQ(f.get("t.u32").as_u32(), 4000000000u);
  EXPECT_EQ(f.get("t.i32").as_i32(), -2000000000);
  EXPECT_EQ(f.get("t.f32").as_f32(), 1e-5f);
  EXPECT_TRUE(f.get("t.bool").as_bool());
  EXPECT_EQ(f.get("t.str").as_str(), std::string("he\0llo\n", 7));
  EXPECT_EQ(f.get("t.u64").as_u64(), UINT64_MAX);
  EXPECT_EQ(f.get("t.i64").as_int(), INT64_MIN);
  EXPECT_EQ(f.get("t.f64").as_number(), -1.0 / 3.0);
  EXPECT_EQ(std::bit_cast<uint32_t>(f.get("t.nan").as_f32()), 0x7fa00001u);
  EXPECT_EQ(f.get("t.str_arr").as_str_array(), (std::vector<std::string>{"a", "", "<|im_start|>"}));
  EXPECT_EQ(f.get("t.i32_arr").as_i32_array(), (std::vector<int32_t>{1, -2, 3}));
  EXPECT_EQ(f.get("t.f32_arr").as_f32_array(), (std::vector<float>{0.5f, -2.25f}));
  EXPECT_EQ(f.get("t.i64_arr").array_size(), 2u);
  EXPECT_EQ(f.get("t.i64_arr").elem_type(), GgufType::INT64);
  EXPECT_EQ(f.get("t.empty_arr").array_size(), 0u);
  // Re-writing what was read reproduces the bytes.
  GgufWriter w2;
  for (const GgufKV& kv : f.metadata()) w2.set(kv.key, kv.value);
  EXPECT_EQ(w2.write_memory(pattern), bytes);
}

TEST(GgufValue, StrictAccessNamesBothTypes) {
  EXPECT_THROW_MSG(GgufValue::i32(1).as_u32(), "has type i32, expected u32");
  EXPECT_THROW_MSG(GgufValue::u32(1).as_f32(), "has type u32, expected f32");
  EXPECT_THROW_MSG(GgufValue::str("x").as_bool(), "has type str, expected bool");
  EXPECT_THROW_MSG(GgufValue::i32_array({1}).as_f32_array(), "has type arr[i32], expected arr[f32]");
  EXPECT_THROW_MSG(GgufValue::u32(1).as_str_array(), "expected arr[str]");
  EXPECT_THROW_MSG(GgufValue::f32(1).as_int(), "expected an integer");
  EXPECT_THROW_MSG(GgufValue::str("1").as_number(), "expected a number");
  EXPECT_THROW_MSG(GgufValue::u64(UINT64_MAX).as_int(), "does not fit");
  EXPECT_THROW_MSG(GgufValue::str_array({"a"}).packed(), "expected an array of scalars");
  EXPECT_THROW_MSG(GgufValue::scalar_array(GgufType::UINT32, {1, 2, 3}, 1), "do not hold");
  EXPECT_THROW_MSG(GgufValue::scalar_array(GgufType::STRING, {}, 0), "cannot be built");
  EXPECT_EQ(GgufValue::u16(7).as_int(), 7);
  EXPECT_EQ(GgufValue::f64(2.5).as_number(), 2.5);
  EXPECT_EQ(GgufValue::i8(-3).as_number(), -3.0);
}

TEST(GgufValue, ToStringAbbreviatesArrays) {
  EXPECT_EQ(GgufValue::u32(42).to_string(), "42");
  EXPECT_EQ(GgufValue::i8(-4).to_string(), "-4");
  EXPECT_EQ(GgufValue::boolean(false).to_string(), "false");
  EXPECT_EQ(GgufValue::f32(0.5f).to_string(), "0.5");
  EXPECT_EQ(GgufValue::str("a\"b\n").to_string(), "\"a\\\"b\\n\"");
  EXPECT_EQ(GgufValue::i32_array({1, 2, 3, 4}).to_string(2), "[1, 2, ... (4 total)]");
  EXPECT_EQ(GgufValue::str_array({"x", "y"}).to_string(), "[\"x\", \"y\"]");
  EXPECT_STREQ(gguf_type_name(GgufType::FLOAT64), "f64");
}

TEST(GgufWriter, SetReplacesInPlaceSetLastMovesRemoveDeletes) {
  GgufWriter w;
  w.set("a", GgufValue::u32(1));
  w.set("b", GgufValue::u32(2));
  w.set("c", GgufValue::u32(3));
  w.set("a", GgufValue::str("one"));
  ASSERT_EQ(w.metadata().size(), 3u);
  EXPECT_EQ(w.metadata()[0].key, "a");
  EXPECT_EQ(w.metadata()[0].value.as_str(), "one");
  w.set_last("a", GgufValue::u32(9));
  EXPECT_EQ(w.metadata()[2].key, "a");
  EXPECT_EQ(w.find("a")->as_u32(), 9u);
  w.remove("b");
  ASSERT_EQ(w.metadata().size(), 2u);
  EXPECT_EQ(w.metadata()[0].key, "c");
  EXPECT_EQ(w.find("b"), nullptr);
  EXPECT_THROW_MSG(w.set("", GgufValue::u8(0)), "empty metadata key");
}

TEST(GgufWriter, LayoutIsSequentialAndPaddedWithZeros) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("llama"));
  w.add_tensor("a", GgmlType::F32, {3});          // 12 bytes -> padded to 32
  w.add_tensor("b", GgmlType::Q8_0, {64, 2});     // 4 blocks x 34 = 136 bytes
  w.add_tensor("c", GgmlType::F16, {5, 1, 1, 2});  // 20 bytes
  const std::vector<uint8_t> bytes = w.write_memory(pattern);
  const GgufFile f = GgufFile::parse(bytes, "layout.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].offset, 0u);
  EXPECT_EQ(f.tensors()[1].offset, 32u);
  EXPECT_EQ(f.tensors()[1].nbytes, 136u);
  EXPECT_EQ(f.tensors()[2].offset, 32u + 160u);
  EXPECT_EQ(f.tensors()[2].ne, (std::vector<int64_t>{5, 1, 1, 2}));
  EXPECT_EQ(f.tensors()[2].n_elements(), 10);
  EXPECT_EQ(f.tensors()[2].n_rows(), 2);
  EXPECT_EQ(bytes.size(), f.data_offset() + 32 + 160 + 32);
  for (size_t i = 0; i < 3; ++i) {
    const auto d = f.tensor_data(f.tensors()[i]);
    std::vector<uint8_t> want;
    pattern(i, f.tensors()[i], want);
    EXPECT_TRUE(std::equal(d.begin(), d.end(), want.begin(), want.end())) << i;
    // zero-copy: the view points into the caller's buffer
    EXPECT_EQ(d.data(), bytes.data() + f.data_offset() + f.tensors()[i].offset);
  }
  for (size_t j = f.data_offset() + 12; j < f.data_offset() + 32; ++j) EXPECT_EQ(bytes[j], 0) << j;
  EXPECT_EQ(f.tensor("b").type, GgmlType::Q8_0);
  EXPECT_EQ(f.find_tensor("zz"), nullptr);
  EXPECT_THROW_MSG(f.tensor("zz"), "missing tensor 'zz'");
  EXPECT_THROW_MSG(f.get("nope"), "missing key 'nope'");
  EXPECT_EQ(f.architecture(), "llama");
}

TEST(GgufWriter, HonoursGeneralAlignment) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::u32(64));
  w.add_tensor("a", GgmlType::F32, {3});
  w.add_tensor("b", GgmlType::F32, {20});
  const auto bytes = w.write_memory(pattern);
  const GgufFile f = GgufFile::parse(bytes);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensors()[1].offset, 64u);
  EXPECT_EQ(bytes.size(), f.data_offset() + 64 + 128);
}

TEST(GgufWriter, RejectsBadAlignmentKey) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::i32(64));
  EXPECT_THROW_MSG(w.write_memory(pattern), "expected u32");
  w.set("general.alignment", GgufValue::u32(48));
  EXPECT_THROW_MSG(w.write_memory(pattern), "not a power of two");
}

TEST(GgufWriter, AddTensorValidates) {
  GgufWriter w;
  EXPECT_THROW_MSG(w.add_tensor(std::string(64, 'x'), GgmlType::F32, {1}), "limit 63");
  w.add_tensor(std::string(63, 'x'), GgmlType::F32, {1});
  EXPECT_THROW_MSG(w.add_tensor(std::string(63, 'x'), GgmlType::F32, {1}), "duplicate tensor name");
  EXPECT_THROW_MSG(w.add_tensor("t", GgmlType::F32, {}), "need 1..4");
  EXPECT_THROW_MSG(w.add_tensor("t", GgmlType::F32, {1, 1, 1, 1, 1}), "need 1..4");
  EXPECT_THROW_MSG(w.add_tensor("t", GgmlType::F32, {4, 0}), "must be > 0");
  EXPECT_THROW_MSG(w.add_tensor("t", GgmlType::Q4_K, {128}), "block size 256");
  EXPECT_THROW_MSG(w.add_tensor("t", GgmlType::F32, {INT64_MAX, 2}), "overflows");
  EXPECT_EQ(w.tensors().size(), 1u);
}

TEST(GgufWriter, ProducerMustFillExactSize) {
  GgufWriter w;
  w.add_tensor("t", GgmlType::F32, {4});
  EXPECT_THROW_MSG(w.write_memory([](size_t, const GgufTensorInfo&, std::vector<uint8_t>& o) { o.resize(15); }),
                   "producer gave 15 bytes, expected 16");
}

TEST(GgufWriter, WriteFileIsAtomicAndRefusesExisting) {
  TempDir dir;
  const std::string path = (dir / "m.gguf").string();
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("llama"));
  w.add_tensor("t", GgmlType::F32, {8});
  w.write_file(path, false, pattern);
  EXPECT_EQ(testing::read_file(path), w.write_memory(pattern));
  EXPECT_THROW(w.write_file(path, false, pattern), Error);
  // A failing producer leaves the previous file intact and no temporary behind.
  EXPECT_THROW_MSG(w.write_file(path, true, [](size_t, const GgufTensorInfo&, std::vector<uint8_t>&) {
    throw Error("boom");
  }), "boom");
  EXPECT_EQ(testing::read_file(path), w.write_memory(pattern));
  size_t n_files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++n_files;
  EXPECT_EQ(n_files, 1u);
  w.set("general.name", GgufValue::str("x"));
  w.write_file(path, true, pattern);
  EXPECT_EQ(GgufFile::open(path).get("general.name").as_str(), "x");
}

// Reading every golden llama.cpp GGUF and writing it back reproduces the file byte for byte.
TEST(GgufGolden, RewriteIsByteIdentical) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf");
  size_t n = 0;
  for (const char* model : {"tiny512", "tiny384"}) {
    for (const auto& e : fs::directory_iterator(testing::shared_path(std::string("golden/") + model + "/gguf"))) {
      if (e.path().extension() != ".gguf") continue;
      const GgufFile f = GgufFile::open(e.path().string());
      GgufWriter w;
      for (const GgufKV& kv : f.metadata()) w.set(kv.key, kv.value);
      for (const GgufTensorInfo& t : f.tensors()) w.add_tensor(t.name, t.type, t.ne);
      const auto out = w.write_memory([&](size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& o) {
        EXPECT_EQ(info.offset, f.tensors()[i].offset);
        const auto d = f.tensor_data(f.tensors()[i]);
        o.assign(d.begin(), d.end());
      });
      EXPECT_EQ(out, testing::read_file(e.path())) << e.path();
      ++n;
    }
  }
  EXPECT_EQ(n, 17u);
}

TEST(GgufGolden, TextF32Contents) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  const GgufFile f = GgufFile::open(testing::shared_path("golden/tiny512/gguf/text-F32.gguf").string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.get("llama.embedding_length").as_u32(), 256u);
  EXPECT_EQ(f.get("llama.block_count").as_u32(), 2u);
  EXPECT_EQ(f.get("tokenizer.ggml.tokens").array_size(), 600u);
  EXPECT_EQ(f.get("tokenizer.ggml.tokens").as_str_array()[1], "<|im_start|>");
  const GgufTensorInfo& out = f.tensor("output.weight");
  EXPECT_EQ(out.ne, (std::vector<int64_t>{256, 600}));
  EXPECT_EQ(out.type, GgmlType::F32);
  EXPECT_EQ(f.tensor_data(out).size(), 256u * 600u * 4u);
}

TEST(GgufGolden, MmprojQ8Types) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-Q8_0.gguf");
  const GgufFile f = GgufFile::open(testing::shared_path("golden/tiny512/gguf/mmproj-Q8_0.gguf").string());
  EXPECT_EQ(f.architecture(), "clip");
  size_t q8 = 0;
  for (const auto& t : f.tensors()) {
    if (t.type == GgmlType::Q8_0) {
      ++q8;
      EXPECT_EQ(t.nbytes, static_cast<uint64_t>(t.n_elements() / 32 * 34)) << t.name;
    }
  }
  EXPECT_GT(q8, 0u);
}

TEST(GgufFile, OpenMissingFileNamesIt) {
  EXPECT_THROW_MSG(GgufFile::open("/nonexistent/x.gguf"), "/nonexistent/x.gguf");
}

}  // namespace
}  // namespace smolvlm
