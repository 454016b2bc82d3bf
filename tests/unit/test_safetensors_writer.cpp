// The streaming safetensors writer: header bytes as Python's json.dumps writes them (checked
// against the golden tiny512 file), sequential and parallel writing, and the error paths
// (nothing left at the destination after a failure).
#include <atomic>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "base/error.h"
#include "io/safetensors_writer.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using testing::read_file;
using testing::TempDir;
namespace fs = std::filesystem;

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The header JSON stored in a safetensors file.
std::string stored_header(const std::vector<uint8_t>& file) {
  EXPECT_GE(file.size(), 8u);
  const uint64_t n = le64(file.data());
  EXPECT_LE(8 + n, file.size());
  return std::string(reinterpret_cast<const char*>(file.data()) + 8, n);
}

// Deterministic test data for tensor `index` at byte `offset`.
uint8_t pattern(size_t index, uint64_t offset) { return static_cast<uint8_t>((index * 131 + offset * 7 + 3) & 0xff); }

std::vector<SafetensorsEntry> sample_entries() {
  return {{"b.weight", "F32", {3, 5}}, {"a.bias", "BF16", {7}}, {"c.scalar", "F16", {}},
          {"d.empty", "F32", {0, 4}}, {"e.long", "I64", {2, 3}}};
}

TEST(SafetensorsWriter, HeaderEqualsGoldenPythonHeader) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf/model.safetensors");
  const auto file = read_file(testing::shared_path("golden/tiny512/hf/model.safetensors"));
  const std::string golden = stored_header(file);
  // Rebuild the entry list from the golden header (in file order) and re-encode it.
  const auto j = nlohmann::ordered_json::parse(golden);
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") continue;
    entries.push_back({name, v["dtype"].get<std::string>(), v["shape"].get<std::vector<int64_t>>()});
  }
  ASSERT_EQ(entries.size(), 59u);
  EXPECT_EQ(safetensors_header(entries, {}), golden);
  EXPECT_EQ(golden.size() % 8, 0u);
}

TEST(SafetensorsWriter, HeaderFormatMetadataAndEscaping) {
  // json.dumps({"__metadata__": {"format": "pt", "k": "v"}, "\u00e9": ...}, separators=(",", ":"))
  const std::string h = safetensors_header({{"\xc3\xa9", "F32", {2}}, {"x", "BF16", {}}}, {{"k", "v"}});
  const std::string body =
      R"({"__metadata__":{"format":"pt","k":"v"},"\u00e9":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("x":{"dtype":"BF16","shape":[],"data_offsets":[8,10]}})";
  EXPECT_EQ(h.substr(0, body.size()), body);
  EXPECT_EQ(h.size(), (body.size() + 7) / 8 * 8);
  EXPECT_EQ(h.find_first_not_of(' ', body.size()), std::string::npos);
  // "format" given by the caller keeps its first place (dict.update).
  const std::string h2 = safetensors_header({}, {{"a", "1"}, {"format", "np"}});
  const std::string want2 = R"({"__metadata__":{"format":"np","a":"1"}})";
  EXPECT_EQ(h2.substr(0, want2.size()), want2);
}

TEST(SafetensorsWriter, HeaderRejectsBadEntries) {
  EXPECT_THROW(safetensors_header({{"a", "F32", {1}}, {"a", "F32", {1}}}, {}), Error);
  EXPECT_THROW(safetensors_header({{"a", "Q4", {1}}}, {}), Error);
  EXPECT_THROW(safetensors_header({{"a", "F32", {-1}}}, {}), Error);
  EXPECT_THROW(safetensors_header({{"__metadata__", "F32", {1}}}, {}), Error);
  EXPECT_THROW(safetensors_header({{"", "F32", {1}}}, {}), Error);
  try {
    safetensors_header({{"w", "F32", {2}}, {"w", "F32", {2}}}, {});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("w"), std::string::npos);
  }
}

TEST(SafetensorsWriter, SequentialWriteRoundTrips) {
  TempDir dir;
  const auto path = (dir / "m.safetensors").string();
  const auto entries = sample_entries();
  std::vector<uint8_t> data;  // every tensor's bytes, concatenated
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint64_t nb = entries[i].n_elements() * safetensors_dtype_size(entries[i].dtype);
    for (uint64_t o = 0; o < nb; ++o) data.push_back(pattern(i, o));
  }
  {
    SafetensorsWriter w(path, entries, {{"note", "x"}});
    EXPECT_EQ(w.data_bytes(), data.size());
    std::mt19937 rng(7);
    for (size_t off = 0; off < data.size();) {  // arbitrary splits across tensor boundaries
      const size_t n = std::min<size_t>(data.size() - off, rng() % 9);
      w.write(data.data() + off, n);
      off += n;
    }
    EXPECT_FALSE(fs::exists(path));  // nothing visible before commit
    w.commit();
  }
  const auto file = read_file(path);
  const std::string header = stored_header(file);
  EXPECT_EQ(header, safetensors_header(entries, {{"note", "x"}}));
  ASSERT_EQ(file.size(), 8 + header.size() + data.size());
  EXPECT_EQ(0, std::memcmp(file.data() + 8 + header.size(), data.data(), data.size()));
  const auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["__metadata__"]["note"], "x");
  EXPECT_EQ(j["a.bias"]["data_offsets"], nlohmann::json({60, 74}));
  EXPECT_EQ(j["c.scalar"]["data_offsets"], nlohmann::json({74, 76}));
  EXPECT_EQ(j["d.empty"]["data_offsets"], nlohmann::json({76, 76}));
}

TEST(SafetensorsWriter, IncompleteOrOverlongWritesFailAndLeaveNothing) {
  TempDir dir;
  const auto path = (dir / "m.safetensors").string();
  {
    SafetensorsWriter w(path, {{"x", "F32", {2}}, {"y", "F16", {3}}});
    const uint8_t buf[16] = {};
    w.write(buf, 10);
    try {
      w.commit();
      FAIL() << "commit of an incomplete file succeeded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tensor y"), std::string::npos) << e.what();
    }
    EXPECT_THROW(w.write(buf, 5), Error);  // 10 + 5 > 14
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.path())) << "temporary file left behind";
}

TEST(SafetensorsWriter, RefusesToOverwriteUnlessAsked) {
  TempDir dir;
  const auto path = (dir / "m.safetensors").string();
  testing::write_file(path, "old", 3);
  EXPECT_THROW(SafetensorsWriter(path, {{"x", "F32", {1}}}), Error);
  SafetensorsWriter w(path, {{"x", "F32", {1}}}, {}, /*overwrite=*/true);
  const float v = 1.5f;
  w.write(&v, 4);
  w.commit();
  EXPECT_EQ(read_file(path).size(), 8 + safetensors_header({{"x", "F32", {1}}}, {}).size() + 4);
}

TEST(SafetensorsWriter, ParallelProducerMatchesSequentialWriter) {
  TempDir dir;
  std::vector<SafetensorsEntry> entries = sample_entries();
  entries.push_back({"f.big", "F32", {1000, 3}});  // many pieces
  const auto produce = [](size_t index, uint64_t offset, std::span<uint8_t> out) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = pattern(index, offset + k);
  };
  // Reference: sequential writer, one whole tensor at a time.
  const auto ref_path = (dir / "ref.safetensors").string();
  {
    SafetensorsWriter w(ref_path, entries);
    for (size_t i = 0; i < entries.size(); ++i) {
      std::vector<uint8_t> buf(entries[i].n_elements() * safetensors_dtype_size(entries[i].dtype));
      produce(i, 0, buf);
      w.write(buf.data(), buf.size());
    }
    w.commit();
  }
  for (int threads : {1, 3}) {
    for (uint64_t chunk : {8ull, 64ull, 1ull << 20}) {
      const auto path = (dir / cat("p", threads, "_", chunk)).string();
      SafetensorsWriteOptions o;
      o.threads = threads;
      o.chunk_bytes = chunk;
      std::atomic<int> calls{0};
      const uint64_t size = write_safetensors(
          path, entries, {},
          [&](size_t i, uint64_t off, std::span<uint8_t> out) {
            EXPECT_EQ(off % chunk, 0u);
            ++calls;
            produce(i, off, out);
          },
          o);
      EXPECT_EQ(read_file(path), read_file(ref_path)) << threads << " threads, chunk " << chunk;
      EXPECT_EQ(size, fs::file_size(path));
      if (chunk == 8) {
        EXPECT_GT(calls.load(), 1500);
      }
    }
  }
  SafetensorsWriteOptions bad;
  bad.chunk_bytes = 12;
  EXPECT_THROW(write_safetensors((dir / "bad").string(), entries, {}, produce, bad), Error);
}

TEST(SafetensorsWriter, ProducerErrorPropagatesAndLeavesNothing) {
  TempDir dir;
  const auto path = (dir / "m.safetensors").string();
  SafetensorsWriteOptions o;
  o.threads = 2;
  o.chunk_bytes = 8;
  EXPECT_THROW(write_safetensors(path, {{"x", "F32", {64}}}, {},
                                 [](size_t, uint64_t off, std::span<uint8_t> out) {
                                   if (off == 128) throw Error("producer failed");
                                   std::fill(out.begin(), out.end(), 0);
                                 },
                                 o),
               Error);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace smolvlm
