// Helpers for the vision-model tests: the golden tiles (built from the README's formulas and
// checked against index.json's sha256), encoding a model's tiles with all intermediates, and the
// text tests' shared helpers (golden paths, rel_diff, ISA guard, GGUF rewriting).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "io/gguf.h"
#include "kernels/thread_pool.h"
#include "quant/quant.h"
#include "model/vision/vision_model.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm::testing::vision {

using text::golden;
using text::rel_diff;

inline nlohmann::json golden_index(const std::string& model) {
  const std::vector<uint8_t> bytes = testing::read_file(golden(model, "index.json"));
  return nlohmann::json::parse(bytes.begin(), bytes.end());
}

// The two golden tiles of `model` as normalized float32 [2, 3, S, S] (golden/README.md §3):
// tile 0 "gradient" from its formula, tile 1 "noise" from inputs/tile_1_u8.npy, each turned into
// floats by ((float)u8 / 255.0f - 0.5f) / 0.5f. The uint8 and float32 bytes of both tiles are
// checked against index.json -> tiles (a failed check fails the calling test).
inline std::vector<float> golden_tiles(const std::string& model) {
  const nlohmann::json tiles = golden_index(model)["tiles"];
  const int64_t S = tiles[0]["shape"][1].get<int64_t>();
  std::vector<uint8_t> u8(static_cast<size_t>(2 * 3 * S * S));
  for (int64_t y = 0; y < S; ++y)
    for (int64_t x = 0; x < S; ++x) {
      u8[static_cast<size_t>((0 * S + y) * S + x)] = static_cast<uint8_t>((x * 255) / (S - 1));
      u8[static_cast<size_t>((1 * S + y) * S + x)] = static_cast<uint8_t>((y * 255) / (S - 1));
      u8[static_cast<size_t>((2 * S + y) * S + x)] = static_cast<uint8_t>(((x + y) * 255) / (2 * (S - 1)));
    }
  const Npy noise = load_npy(golden(model, "inputs/tile_1_u8.npy"));
  EXPECT_EQ(noise.descr, "|u1");
  EXPECT_EQ(noise.data.size(), static_cast<size_t>(3 * S * S));
  std::copy(noise.data.begin(), noise.data.end(), u8.begin() + 3 * S * S);

  std::vector<float> f(u8.size());
  for (size_t i = 0; i < u8.size(); ++i) f[i] = (static_cast<float>(u8[i]) / 255.0f - 0.5f) / 0.5f;
  const size_t n = static_cast<size_t>(3 * S * S);
  for (size_t t = 0; t < 2; ++t) {
    const std::vector<uint8_t> ub(u8.begin() + t * n, u8.begin() + (t + 1) * n);
    const auto* fp = reinterpret_cast<const uint8_t*>(f.data() + t * n);
    EXPECT_EQ(sha256_hex(ub), tiles[t]["u8_sha256"].get<std::string>()) << model << " tile " << t;
    EXPECT_EQ(sha256_hex({fp, fp + n * sizeof(float)}), tiles[t]["float32_sha256"].get<std::string>())
        << model << " tile " << t;
  }
  return f;
}

// Everything one encode() produces for n tiles.
struct VisionRun {
  std::vector<float> emb;         // [n, tokens, E]
  std::vector<float> embeddings;  // [n, Np, C]
  std::vector<float> post_ln;     // [n, Np, C]
};

inline VisionRun run_vision(const VisionModel& m, const std::vector<float>& tiles, int64_t n, int threads = 2,
                            int64_t per_pass = 4) {
  const VisionConfig& c = m.config();
  VisionRun r;
  r.emb.resize(static_cast<size_t>(n * c.tokens_per_tile() * c.projection_dim));
  r.embeddings.resize(static_cast<size_t>(n * c.n_patches() * c.n_embd));
  r.post_ln.resize(r.embeddings.size());
  kernels::ThreadPool pool(threads);
  VisionEncodeOptions o;
  o.max_tiles_per_pass = per_pass;
  o.embeddings = r.embeddings.data();
  o.post_ln = r.post_ln.data();
  m.encode(tiles.data(), n, r.emb.data(), pool, o);
  return r;
}

// Tile t of an [n, rows, cols] array.
inline std::span<const float> tile_of(const std::vector<float>& a, int64_t n, int64_t t) {
  const size_t per = a.size() / static_cast<size_t>(n);
  return {a.data() + static_cast<size_t>(t) * per, per};
}

// Rewrites an mmproj GGUF in memory: `edit_kv` may change the metadata, `rename` maps each tensor
// name to its new one ("" drops the tensor), `retype` may store a tensor in another type (the
// values are converted: dequantized, then quantized to the new type).
struct MmprojEdit {
  std::function<void(GgufWriter&)> edit_kv = nullptr;
  std::function<std::string(const std::string&)> rename = nullptr;
  std::function<GgmlType(const GgufTensorInfo&)> retype = nullptr;
};

inline std::vector<uint8_t> edit_mmproj(const GgufFile& in, const MmprojEdit& e) {
  GgufWriter w;
  for (const auto& kv : in.metadata()) w.set(kv.key, kv.value);
  if (e.edit_kv) e.edit_kv(w);
  std::vector<const GgufTensorInfo*> src;
  for (const auto& t : in.tensors()) {
    const std::string name = e.rename ? e.rename(t.name) : t.name;
    if (name.empty()) continue;
    w.add_tensor(name, e.retype ? e.retype(t) : t.type, t.ne);
    src.push_back(&t);
  }
  return w.write_memory([&](size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& out) {
    const GgufTensorInfo& from = *src[i];
    const auto bytes = in.tensor_data(from);
    if (info.type == from.type) {
      out.assign(bytes.begin(), bytes.end());
      return;
    }
    std::vector<float> f(static_cast<size_t>(from.n_elements()));
    dequantize_row(from.type, bytes.data(), f.data(), from.n_elements());
    out.resize(info.nbytes);
    quantize_row(info.type, f.data(), out.data(), from.n_elements());
  });
}

}  // namespace smolvlm::testing::vision
