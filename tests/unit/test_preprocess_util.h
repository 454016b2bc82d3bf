// Shared by the preprocessing tests (resample, image processor, video): golden JSON under
// ../shared/golden/preprocess, sha256 of images / float arrays, golden images decoded with load_image.
#pragma once

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "media/image.h"
#include "media/image_decode.h"
#include "support/testing.h"

namespace smolvlm::testing {

inline constexpr const char* kPreprocessDir = "golden/preprocess";

inline nlohmann::json preprocess_json(const std::string& name) {
  return nlohmann::json::parse(smolvlm::read_file(shared_path(std::string(kPreprocessDir) + "/" + name).string()));
}

inline std::string sha256_of(const RgbImage& im) { return sha256_hex(im.pixels); }

inline std::string sha256_of(const float* data, size_t n) { return sha256_hex(data, n * sizeof(float)); }  // x86-64: little-endian

inline uint32_t f32_bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

inline uint32_t parse_hex_bits(const nlohmann::json& j) {
  return static_cast<uint32_t>(std::stoul(j.get<std::string>(), nullptr, 16));
}

// A uint8 [H, W, 3] .npy as an image (or frames [N, S, S, 3] -> N images).
inline std::vector<RgbImage> npy_images(const Npy& a) {
  EXPECT_EQ(a.descr, "|u1");
  std::vector<RgbImage> out;
  if (a.shape.size() == 3 && a.shape[2] == 3) {
    RgbImage im(static_cast<int>(a.shape[1]), static_cast<int>(a.shape[0]));
    std::memcpy(im.pixels.data(), a.data.data(), im.pixels.size());
    out.push_back(std::move(im));
  } else if (a.shape.size() == 4 && a.shape[3] == 3) {
    const size_t per = static_cast<size_t>(a.shape[1] * a.shape[2] * 3);
    for (int64_t f = 0; f < a.shape[0]; ++f) {
      RgbImage im(static_cast<int>(a.shape[2]), static_cast<int>(a.shape[1]));
      std::memcpy(im.pixels.data(), a.data.data() + static_cast<size_t>(f) * per, per);
      out.push_back(std::move(im));
    }
  } else {
    ADD_FAILURE() << "unexpected .npy shape";
  }
  return out;
}

inline RgbImage load_golden_image(const std::string& rel_to_preprocess) {
  return load_image(shared_path(std::string(kPreprocessDir) + "/" + rel_to_preprocess).string());
}

}  // namespace smolvlm::testing
