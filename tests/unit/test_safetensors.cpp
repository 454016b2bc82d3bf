// safetensors reader: golden checkpoint, dtype conversion, sharded checkpoints and malformed input
// (each bad case throws an Error naming the file / shard, tensor and problem).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/fp16.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

// header JSON (dumped as is) + data bytes -> file bytes.
std::vector<uint8_t> st_bytes(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::copy(header.begin(), header.end(), b.begin() + 8);
  std::copy(data.begin(), data.end(), b.begin() + 8 + static_cast<ptrdiff_t>(header.size()));
  return b;
}
std::vector<uint8_t> st_bytes(const json& header, const std::vector<uint8_t>& data) {
  return st_bytes(header.dump(), data);
}

json entry(const std::string& dtype, std::vector<int64_t> shape, uint64_t begin, uint64_t end) {
  return json{{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

template <typename T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::string parse_error(const std::vector<uint8_t>& b) {
  try {
    SafetensorsFile::parse(b, "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::string dir_error(const fs::path& dir) {
  try {
    SafetensorsCheckpoint::open_dir(dir.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_CONTAINS(msg, needle)                                            \
  do {                                                                          \
    const std::string m_ = (msg);                                               \
    EXPECT_NE(m_.find(needle), std::string::npos) << "message: " << m_;         \
  } while (0)

TEST(Safetensors, GoldenCheckpointMatchesGgufF32) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf/model.safetensors");
  const auto ck = SafetensorsCheckpoint::open_dir(testing::shared_path("golden/tiny512/hf").string());
  EXPECT_EQ(ck.n_files(), 1u);
  const auto names = ck.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  int64_t params = 0;
  for (const auto& n : names) params += ck.get(n).n_elements();
  EXPECT_EQ(params, 1965120);  // README: tiny512 parameter count
  const SafetensorsTensor& lm = ck.get("lm_head.weight");
  EXPECT_EQ(lm.dtype, "F32");
  EXPECT_EQ(lm.shape, (std::vector<int64_t>{600, 256}));
  const std::vector<float> w = ck.read_f32("lm_head.weight");
  // The converter copies lm_head unchanged into output.weight ([256, 600] in ggml order).
  const GgufFile g = GgufFile::open(testing::shared_path("golden/tiny512/gguf/text-F32.gguf").string());
  const auto d = g.tensor_data(g.tensor("output.weight"));
  ASSERT_EQ(d.size(), w.size() * 4);
  EXPECT_EQ(std::memcmp(d.data(), w.data(), d.size()), 0);
  EXPECT_EQ(SafetensorsFile::open(testing::shared_path("golden/tiny512/hf/model.safetensors").string())
                .metadata()
                .at("format"),
            "pt");
}

TEST(Safetensors, ParsesMetadataOrderAndViews) {
  const std::vector<float> a = {1, 2, 3}, b = {4, 5};
  std::vector<uint8_t> data = as_bytes(b);
  const auto ab = as_bytes(a);
  data.insert(data.end(), ab.begin(), ab.end());
  const json h = {{"__metadata__", {{"format", "pt"}, {"x", "y"}}},
                  {"a", entry("F32", {3}, 8, 20)},
                  {"b", entry("F32", {1, 2}, 0, 8)},
                  {"s", entry("I64", {0}, 20, 20)}};
  const auto bytes = st_bytes(h, data);
  const SafetensorsFile f = SafetensorsFile::parse(bytes, "m.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "b");  // data order
  EXPECT_EQ(f.tensors()[1].name, "a");
  EXPECT_EQ(f.metadata().at("x"), "y");
  EXPECT_EQ(f.header_size(), h.dump().size());
  const SafetensorsTensor* t = f.find("a");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->file_offset, 8 + h.dump().size() + 8);
  EXPECT_EQ(t->data.data(), bytes.data() + t->file_offset);  // zero-copy
  EXPECT_EQ(safetensors_to_f32(*t), a);
  EXPECT_EQ(f.find("s")->n_elements(), 0);
  EXPECT_EQ(f.find("nope"), nullptr);
}

TEST(Safetensors, F16AndBf16ConvertExactly) {
  const std::vector<float> want = {0.0f, -1.5f, 65504.0f, 1.0f / 1024, -0.0f, 3.140625f};
  std::vector<uint16_t> h, bf;
  for (float v : want) {
    h.push_back(fp32_to_fp16(v));
    bf.push_back(fp32_to_bf16(v));
  }
  std::vector<uint8_t> data = as_bytes(h);
  const auto bb = as_bytes(bf);
  data.insert(data.end(), bb.begin(), bb.end());
  const json hd = {{"h", entry("F16", {2, 3}, 0, 12)}, {"b", entry("BF16", {6}, 12, 24)}};
  const auto bytes = st_bytes(hd, data);  // parse() keeps views into it
  const SafetensorsFile f = SafetensorsFile::parse(bytes);
  const auto hv = safetensors_to_f32(*f.find("h"));
  const auto bv = safetensors_to_f32(*f.find("b"));
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(hv[i], fp16_to_fp32(h[i])) << i;
    EXPECT_EQ(bv[i], bf16_to_fp32(bf[i])) << i;
  }
  EXPECT_EQ(hv[1], -1.5f);
  EXPECT_EQ(hv[2], 65504.0f);
  EXPECT_EQ(bv[5], 3.140625f);
}

TEST(Safetensors, ReadF32UnsupportedDtypeNamesTensorAndDtype) {
  const json h = {{"ids", entry("I64", {2}, 0, 16)}};
  const auto bytes = st_bytes(h, std::vector<uint8_t>(16));
  const SafetensorsFile f = SafetensorsFile::parse(bytes, "m.safetensors");
  try {
    safetensors_to_f32(*f.find("ids"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "m.safetensors: tensor 'ids': dtype I64 cannot be read as float32");
  }
}

TEST(Safetensors, AllKnownDtypesParse) {
  json h;
  uint64_t off = 0;
  const std::pair<const char*, int> dts[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2},     {"U16", 2},
                                             {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4},     {"F32", 4},
                                             {"F64", 8},  {"I64", 8},  {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [dt, size] : dts) {
    h[std::string("t_") + dt] = entry(dt, {3}, off, off + 3 * size);
    off += 3 * size;
  }
  EXPECT_EQ(SafetensorsFile::parse(st_bytes(h, std::vector<uint8_t>(off))).tensors().size(), std::size(dts));
}

// ---- malformed single files ------------------------------------------------------------------

TEST(SafetensorsHostile, ShorterThanLengthField) {
  EXPECT_CONTAINS(parse_error({1, 2, 3}), "bad.safetensors: offset 0: file truncated");
}

TEST(SafetensorsHostile, HeaderLengthPastEof) {
  auto b = st_bytes(std::string("{}"), {});
  b[0] = 200;
  EXPECT_CONTAINS(parse_error(b), "header length 200 runs past end of file (10 bytes)");
  std::memset(b.data(), 0xff, 8);
  EXPECT_CONTAINS(parse_error(b), "runs past end of file");
}

TEST(SafetensorsHostile, BadJson) {
  EXPECT_CONTAINS(parse_error(st_bytes(std::string("{\"a\": [1,"), {})), "invalid JSON header");
  EXPECT_CONTAINS(parse_error(st_bytes(std::string("[1, 2]"), {})), "JSON header is not an object");
}

TEST(SafetensorsHostile, DuplicateTensorName) {
  const std::string h = R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_CONTAINS(parse_error(st_bytes(h, std::vector<uint8_t>(8))), "duplicate entry 't' in the JSON header");
}

TEST(SafetensorsHostile, MetadataMustBeStrings) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"__metadata__", {{"n", 1}}}}, {})),
                  "\"__metadata__\" value of 'n' is not a string");
}

TEST(SafetensorsHostile, MissingFields) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", {{"shape", {1}}, {"data_offsets", {0, 4}}}}}, {0, 0, 0, 0})),
                  "tensor 't': missing or non-string \"dtype\"");
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", {{"dtype", "F32"}, {"data_offsets", {0, 4}}}}}, {0, 0, 0, 0})),
                  "tensor 't': missing or non-array \"shape\"");
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", {{"dtype", "F32"}, {"shape", {1}}}}}, {0, 0, 0, 0})),
                  "\"data_offsets\" must be [begin, end]");
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", 5}}, {})), "tensor 't': header entry is not a JSON object");
}

TEST(SafetensorsHostile, NegativeShape) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("F32", {-1}, 0, 4)}}, std::vector<uint8_t>(4))),
                  "shape entry of JSON type number is not a non-negative integer");
}

TEST(SafetensorsHostile, ShapeOverflow) {
  const int64_t big = int64_t(1) << 40;
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("F32", {big, big}, 0, 4)}}, std::vector<uint8_t>(4))),
                  "overflows int64");
}

TEST(SafetensorsHostile, UnknownDtype) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("Q4", {4}, 0, 4)}}, std::vector<uint8_t>(4))),
                  "tensor 't': unknown dtype 'Q4'");
}

TEST(SafetensorsHostile, OffsetsOutOfBounds) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("F32", {2}, 0, 8)}}, std::vector<uint8_t>(7))),
                  "tensor 't': data_offsets [0, 8] run past the end of the data (7 bytes)");
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("F32", {1}, UINT64_MAX - 1, UINT64_MAX)}},
                                       std::vector<uint8_t>(8))),
                  "run past the end of the data");
}

TEST(SafetensorsHostile, ReversedOffsets) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("F32", {0}, 4, 0)}}, std::vector<uint8_t>(8))),
                  "tensor 't': data_offsets [4, 0] are reversed");
}

TEST(SafetensorsHostile, OverlappingTensors) {
  const json h = {{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F32", {2}, 4, 12)}};
  EXPECT_CONTAINS(parse_error(st_bytes(h, std::vector<uint8_t>(12))), "tensor 'b' overlaps tensor 'a'");
}

TEST(SafetensorsHostile, SizeMismatch) {
  EXPECT_CONTAINS(parse_error(st_bytes(json{{"t", entry("F16", {2, 3}, 0, 8)}}, std::vector<uint8_t>(16))),
                  "tensor 't': 8 data bytes but shape [2, 3] of F16 needs 12");
}

// ---- checkpoint folders ------------------------------------------------------------------------

struct Shards {
  TempDir dir;
  // Two shards: a,b in shard 1; c in shard 2; values 0..n-1 (+100 for c).
  Shards() {
    write("model-00001-of-00002.safetensors",
          {{"a", entry("F32", {2}, 0, 8)}, {"b", entry("BF16", {2, 2}, 8, 16)}},
          concat(as_bytes(std::vector<float>{0, 1}),
                 as_bytes(std::vector<uint16_t>{fp32_to_bf16(2), fp32_to_bf16(3), fp32_to_bf16(4),
                                                fp32_to_bf16(5)})));
    write("model-00002-of-00002.safetensors", {{"c", entry("F32", {1}, 0, 4)}},
          as_bytes(std::vector<float>{100}));
    index({{"a", "model-00001-of-00002.safetensors"},
           {"b", "model-00001-of-00002.safetensors"},
           {"c", "model-00002-of-00002.safetensors"}});
  }
  static std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  void write(const std::string& name, const json& h, const std::vector<uint8_t>& data) {
    const auto b = st_bytes(h, data);
    testing::write_file(dir / name, b.data(), b.size());
  }
  void index(const json& weight_map) {
    const std::string s = json{{"metadata", {{"total_size", 28}}}, {"weight_map", weight_map}}.dump();
    testing::write_file(dir / "model.safetensors.index.json", s.data(), s.size());
  }
};

TEST(SafetensorsCheckpoint, ShardedIndex) {
  Shards s;
  const auto ck = SafetensorsCheckpoint::open_dir(s.dir.path().string());
  EXPECT_EQ(ck.n_files(), 2u);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ck.read_f32("a"), (std::vector<float>{0, 1}));
  EXPECT_EQ(ck.read_f32("b"), (std::vector<float>{2, 3, 4, 5}));
  EXPECT_EQ(ck.read_f32("c"), (std::vector<float>{100}));
  EXPECT_NE(ck.get("c").file.find("model-00002-of-00002.safetensors"), std::string::npos);
  EXPECT_EQ(ck.find("zz"), nullptr);
  EXPECT_CONTAINS([&] {
    try {
      ck.get("zz");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), "missing tensor 'zz'");
}

TEST(SafetensorsCheckpoint, CopyOutlivesOriginal) {
  Shards s;
  SafetensorsCheckpoint copy;
  {
    const auto ck = SafetensorsCheckpoint::open_dir(s.dir.path().string());
    copy = ck;
    const SafetensorsCheckpoint copy2(ck);
    EXPECT_NE(&copy2.get("a"), &ck.get("a"));
  }
  EXPECT_EQ(copy.read_f32("b"), (std::vector<float>{2, 3, 4, 5}));
}

TEST(SafetensorsCheckpoint, MissingShardNamed) {
  Shards s;
  fs::remove(s.dir / "model-00002-of-00002.safetensors");
  EXPECT_CONTAINS(dir_error(s.dir.path()), "shard 'model-00002-of-00002.safetensors' (1 tensors, e.g. 'c') does not exist");
}

TEST(SafetensorsCheckpoint, TruncatedShardNamed) {
  Shards s;
  const auto p = s.dir / "model-00001-of-00002.safetensors";
  const auto b = testing::read_file(p);
  testing::write_file(p, b.data(), b.size() - 3);
  const std::string msg = dir_error(s.dir.path());
  EXPECT_CONTAINS(msg, "model-00001-of-00002.safetensors: offset");
  EXPECT_CONTAINS(msg, "tensor 'b': data_offsets [8, 16] run past the end of the data");
}

TEST(SafetensorsCheckpoint, IndexedTensorAbsentFromShard) {
  Shards s;
  s.index({{"a", "model-00001-of-00002.safetensors"},
           {"c", "model-00001-of-00002.safetensors"}});
  EXPECT_CONTAINS(dir_error(s.dir.path()),
                  "tensor 'c' is assigned to shard 'model-00001-of-00002.safetensors' by model.safetensors.index.json "
                  "but is not in that file");
}

TEST(SafetensorsCheckpoint, ShardOutsideFolderRejected) {
  Shards s;
  s.index({{"a", "../model-00001-of-00002.safetensors"}});
  EXPECT_CONTAINS(dir_error(s.dir.path()), "is not a file name inside the checkpoint folder");
  s.index({{"a", "/etc/passwd"}});
  EXPECT_CONTAINS(dir_error(s.dir.path()), "is not a file name inside the checkpoint folder");
}

TEST(SafetensorsCheckpoint, BadIndex) {
  Shards s;
  testing::write_file(s.dir / "model.safetensors.index.json", "{\"weight_map\": 3}", 17);
  EXPECT_CONTAINS(dir_error(s.dir.path()), "missing \"weight_map\" object");
  testing::write_file(s.dir / "model.safetensors.index.json", "{oops", 5);
  EXPECT_CONTAINS(dir_error(s.dir.path()), "model.safetensors.index.json: invalid JSON");
}

TEST(SafetensorsCheckpoint, EmptyFolder) {
  TempDir d;
  EXPECT_CONTAINS(dir_error(d.path()), "no model.safetensors.index.json or model.safetensors");
}

}  // namespace
}  // namespace smolvlm
