// Writes a small seed corpus for the fuzz targets: OUT/gguf/*.gguf and OUT/safetensors/*.safetensors.
// Seeds keep the real metadata and tensor names of the golden files (when SHARED/golden exists) but
// shrink every tensor to one block, so each seed is a few KB and fully valid.
//   make_seeds OUT_DIR [SHARED_DIR]
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"

namespace fs = std::filesystem;
using namespace smolvlm;

namespace {

void save(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// Golden GGUF -> same metadata, at most 6 tensors, each cut to one block (data from the original).
std::vector<uint8_t> shrink_gguf(const fs::path& path) {
  const GgufFile f = GgufFile::open(path.string());
  GgufWriter w;
  for (const GgufKV& kv : f.metadata()) w.set(kv.key, kv.value);
  std::vector<const GgufTensorInfo*> src;
  for (const GgufTensorInfo& t : f.tensors()) {
    if (src.size() == 6) break;
    src.push_back(&t);
    w.add_tensor(t.name, t.type, {ggml_type_info(t.type).block_size});
  }
  return w.write_memory([&](size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& out) {
    const auto d = f.tensor_data(*src[i]);
    out.assign(d.begin(), d.begin() + static_cast<ptrdiff_t>(info.nbytes));
  });
}

std::vector<uint8_t> synthetic_gguf(uint32_t alignment) {
  GgufWriter w;
  if (alignment != 32) w.set("general.alignment", GgufValue::u32(alignment));
  w.set("general.architecture", GgufValue::str("llama"));
  w.set("u8", GgufValue::u8(1));
  w.set("i8", GgufValue::i8(-1));
  w.set("u16", GgufValue::u16(2));
  w.set("i16", GgufValue::i16(-2));
  w.set("i32", GgufValue::i32(-3));
  w.set("f32", GgufValue::f32(0.5f));
  w.set("bool", GgufValue::boolean(true));
  w.set("u64", GgufValue::u64(4));
  w.set("i64", GgufValue::i64(-4));
  w.set("f64", GgufValue::f64(0.25));
  w.set("strs", GgufValue::str_array({"a", "bc"}));
  w.set("f32s", GgufValue::f32_array({1, 2}));
  w.add_tensor("f32", GgmlType::F32, {2, 2});
  w.add_tensor("f16", GgmlType::F16, {3});
  w.add_tensor("q4k", GgmlType::Q4_K, {256});
  w.add_tensor("q8", GgmlType::Q8_0, {32, 1, 1, 2});
  return w.write_memory([](size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& out) {
    out.assign(info.nbytes, static_cast<uint8_t>(i + 1));
  });
}

std::vector<uint8_t> safetensors_bytes(const nlohmann::json& header, const std::vector<uint8_t>& data) {
  const std::string h = header.dump();
  std::vector<uint8_t> b(8);
  const uint64_t n = h.size();
  std::memcpy(b.data(), &n, 8);
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// Golden checkpoint -> its metadata and first 8 tensor names, each shrunk to 2 elements.
std::vector<uint8_t> shrink_safetensors(const fs::path& path) {
  const SafetensorsFile f = SafetensorsFile::open(path.string());
  nlohmann::json h;
  h["__metadata__"] = f.metadata();
  std::vector<uint8_t> data;
  for (size_t i = 0; i < f.tensors().size() && i < 8; ++i) {
    const SafetensorsTensor& t = f.tensors()[i];
    const size_t es = t.data.size() / std::max<int64_t>(t.n_elements(), 1);
    const size_t nb = std::min<size_t>(2 * es, t.data.size());
    h[t.name] = {{"dtype", t.dtype}, {"shape", {nb / std::max<size_t>(es, 1)}},
                 {"data_offsets", {data.size(), data.size() + nb}}};
    data.insert(data.end(), t.data.begin(), t.data.begin() + static_cast<ptrdiff_t>(nb));
  }
  return safetensors_bytes(h, data);
}

std::vector<uint8_t> synthetic_safetensors() {
  nlohmann::json h = {{"__metadata__", {{"format", "pt"}}},
                      {"f32", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                      {"f16", {{"dtype", "F16"}, {"shape", {2, 1}}, {"data_offsets", {8, 12}}}},
                      {"bf16", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {12, 16}}}},
                      {"i64", {{"dtype", "I64"}, {"shape", {}}, {"data_offsets", {16, 24}}}}};
  std::vector<uint8_t> data(24);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37);
  return safetensors_bytes(h, data);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_seeds OUT_DIR [SHARED_DIR]\n";
    return 2;
  }
  const fs::path out(argv[1]);
  fs::create_directories(out / "gguf");
  fs::create_directories(out / "safetensors");
  try {
    save(out / "gguf/synthetic.gguf", synthetic_gguf(32));
    save(out / "gguf/synthetic_align64.gguf", synthetic_gguf(64));
    save(out / "safetensors/synthetic.safetensors", synthetic_safetensors());
    if (argc > 2) {
      const fs::path golden = fs::path(argv[2]) / "golden";
      for (const char* rel : {"tiny512/gguf/text-Q4_K_M.gguf", "tiny512/gguf/mmproj-Q8_0.gguf",
                              "tiny384/gguf/text-F16.gguf", "tiny384/gguf/mmproj-F32.gguf"}) {
        if (!fs::exists(golden / rel)) continue;
        const std::string name = fs::path(rel).parent_path().parent_path().string() + "-" +
                                 fs::path(rel).filename().string();
        save(out / "gguf" / name, shrink_gguf(golden / rel));
      }
      for (const char* model : {"tiny512", "tiny384"}) {
        const fs::path p = golden / model / "hf/model.safetensors";
        if (fs::exists(p)) save(out / "safetensors" / (std::string(model) + ".safetensors"), shrink_safetensors(p));
      }
    }
  } catch (const Error& e) {
    std::cerr << "make_seeds: " << e.what() << "\n";
    return 1;
  }
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) n += e.is_regular_file();
  std::cout << "make_seeds: " << n << " seeds in " << out.string() << "\n";
  return 0;
}
