#include "store/gguf_info.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "io/gguf.h"
#include "io/gguf_keys.h"

namespace smolvlm {
namespace {

// A float32 as the shortest decimal that reads back to it (Go's json for float32), as a double.
double f32_json(float v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  *r.ptr = 0;
  return std::strtod(buf, nullptr);
}

nlohmann::json scalar_json(GgufType t, uint64_t bits) {
  switch (t) {
    case GgufType::UINT8: case GgufType::UINT16: case GgufType::UINT32: case GgufType::UINT64:
      return bits;
    case GgufType::INT8: return static_cast<int8_t>(bits);
    case GgufType::INT16: return static_cast<int16_t>(bits);
    case GgufType::INT32: return static_cast<int32_t>(bits);
    case GgufType::INT64: return static_cast<int64_t>(bits);
    case GgufType::BOOL: return bits != 0;
    case GgufType::FLOAT32: {
      float f;
      const uint32_t b = static_cast<uint32_t>(bits);
      std::memcpy(&f, &b, 4);
      return std::isfinite(f) ? nlohmann::json(f32_json(f)) : nlohmann::json(nullptr);
    }
    case GgufType::FLOAT64: {
      double d;
      std::memcpy(&d, &bits, 8);
      return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
    }
    default: return nullptr;
  }
}

nlohmann::json value_json(const GgufValue& v, bool verbose) {
  if (v.type() == GgufType::STRING) return v.as_str();
  if (!v.is_array()) return scalar_json(v.type(), v.raw_bits());
  nlohmann::json a = nlohmann::json::array();
  if (!verbose && v.array_size() > 5) return a;
  if (v.elem_type() == GgufType::STRING) {
    for (const auto& s : v.as_str_array()) a.push_back(s);
    return a;
  }
  const size_t es = gguf_scalar_size(v.elem_type());
  const auto& packed = v.packed();
  for (uint64_t i = 0; i < v.array_size(); ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, packed.data() + i * es, es);
    a.push_back(scalar_json(v.elem_type(), bits));
  }
  return a;
}

}  // namespace

GgufRole gguf_role(const GgufFile& f) {
  const std::string type = gguf_str(f, "general.type").value_or("");
  if (type == "adapter") return GgufRole::Adapter;
  if (type == "projector" || type == "mmproj") return GgufRole::Projector;
  const std::string arch = f.architecture();
  const int64_t blocks = gguf_int(f, arch + ".block_count").value_or(0);
  if (blocks == 0 && gguf_int(f, arch + ".vision.block_count").value_or(0) > 0) return GgufRole::Projector;
  if (arch == "clip" && blocks == 0 &&
      (gguf_bool(f, "clip.has_vision_encoder").value_or(false) || gguf_bool(f, "clip.has_audio_encoder").value_or(false))) {
    return GgufRole::Projector;
  }
  return GgufRole::Model;
}

const char* gguf_role_media_type(GgufRole r) {
  switch (r) {
    case GgufRole::Model: return "application/vnd.ollama.image.model";
    case GgufRole::Projector: return "application/vnd.ollama.image.projector";
    case GgufRole::Adapter: return "application/vnd.ollama.image.adapter";
  }
  return "";
}

uint64_t gguf_parameter_count(const GgufFile& f) {
  uint64_t n = 0;
  for (const auto& t : f.tensors()) n += static_cast<uint64_t>(t.n_elements());
  return n;
}

std::string gguf_file_type_name(const GgufFile& f) {
  // llama_ftype values in order (Ollama's FileType); removed types are "".
  static const char* const kNames[] = {
      "F32", "F16", "Q4_0", "Q4_1", "", "", "", "Q8_0", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M",
      "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "Q2_K_S", "IQ3_XS",
      "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M", "BF16", "", "", "",
      "TQ1_0", "TQ2_0"};
  const auto ft = gguf_int(f, "general.file_type");
  if (!ft || *ft < 0 || *ft >= static_cast<int64_t>(std::size(kNames)) || !*kNames[*ft]) return "unknown";
  return kNames[*ft];
}

std::string human_number(uint64_t n) {
  char buf[64];
  auto fmt = [&](double v, const char* unit, int decimals) {
    if (v == std::floor(v)) std::snprintf(buf, sizeof buf, "%.0f%s", v, unit);
    else std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v, unit);
    return std::string(buf);
  };
  if (n >= 1000000000ull) return fmt(static_cast<double>(n) / 1e9, "B", 1);
  if (n >= 1000000ull) return fmt(static_cast<double>(n) / 1e6, "M", 2);
  if (n >= 1000ull) {
    std::snprintf(buf, sizeof buf, "%.0fK", static_cast<double>(n) / 1e3);
    return buf;
  }
  return std::to_string(n);
}

nlohmann::json gguf_model_info(const GgufFile& f, bool verbose) {
  nlohmann::json info = nlohmann::json::object();
  for (const auto& kv : f.metadata()) {
    if (kv.key == "general.name" || kv.key == "tokenizer.chat_template") continue;
    info[kv.key] = value_json(kv.value, verbose);
  }
  info["general.parameter_count"] = gguf_parameter_count(f);
  return info;
}

}  // namespace smolvlm
