#include "store/manifest.h"

#include <cmath>

#include <openssl/evp.h>

#include "base/error.h"
#include "base/hex.h"
#include "store/blobs.h"

namespace smolvlm {
namespace {

nlohmann::ordered_json layer_json(const ManifestLayer& l) {
  nlohmann::ordered_json j;
  j["mediaType"] = l.media_type;
  j["digest"] = l.digest;
  j["size"] = l.size;
  if (!l.from.empty()) j["from"] = l.from;
  if (!l.name.empty()) j["name"] = l.name;
  return j;
}

ManifestLayer parse_layer(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) fail(what, ": is not a JSON object");
  ManifestLayer l;
  auto str = [&](const char* key, bool required) -> std::string {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) fail(what, ": missing \"", key, "\"");
      return "";
    }
    if (!it->is_string()) fail(what, ": \"", key, "\" is not a string");
    return it->get<std::string>();
  };
  l.media_type = str("mediaType", true);
  l.digest = str("digest", true);
  if (!valid_digest(l.digest)) fail(what, ": invalid digest '", l.digest.substr(0, 100), "'");
  l.digest = canonical_digest(l.digest);
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0) fail(what, ": \"size\" is not a non-negative integer");
  l.size = sz->get<int64_t>();
  l.from = str("from", false);
  l.name = str("name", false);
  return l;
}

}  // namespace

std::string sha256_digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) fail("SHA-256 failed");
  return "sha256:" + hex_lower(md, n);
}

namespace {

// Go's encoding/json writes a whole float64 without a fraction ("0", "1", "4096"); nlohmann writes
// "0.0". Other floats print the same in both (shortest round-trip digits, exponent below 1e-6 and
// from 1e21 on).
void go_numbers(nlohmann::ordered_json& j) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e18) j = static_cast<int64_t>(v);
  } else if (j.is_structured()) {
    for (auto& e : j) go_numbers(e);
  }
}

}  // namespace

std::string go_json(const nlohmann::ordered_json& in) {
  nlohmann::ordered_json j = in;
  go_numbers(j);
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // '<', '>', '&' and U+2028/U+2029 only occur inside strings in a dump, so a plain rewrite is safe.
  std::string out;
  out.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' && (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out + "\n";
}

Manifest Manifest::parse(const std::string& bytes, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    fail(what, ": not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail(what, ": not a JSON object");
  Manifest m;
  if (auto it = j.find("schemaVersion"); it != j.end() && it->is_number_integer()) m.schema_version = it->get<int>();
  if (m.schema_version != 2) fail(what, ": schemaVersion ", m.schema_version, " is not supported (expected 2)");
  if (auto it = j.find("mediaType"); it != j.end() && it->is_string()) m.media_type = it->get<std::string>();
  auto cfg = j.find("config");
  if (cfg == j.end()) fail(what, ": missing \"config\"");
  m.config = parse_layer(*cfg, what + ": config");
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) fail(what, ": missing \"layers\" array");
  for (size_t i = 0; i < layers->size(); ++i) m.layers.push_back(parse_layer((*layers)[i], cat(what, ": layers[", i, "]")));
  return m;
}

std::string Manifest::serialize() const {
  nlohmann::ordered_json j;
  j["schemaVersion"] = schema_version;
  j["mediaType"] = media_type;
  j["config"] = layer_json(config);
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : layers) j["layers"].push_back(layer_json(l));
  return go_json(j);
}

int64_t Manifest::total_size() const {
  int64_t n = config.size;
  for (const auto& l : layers) n += l.size;
  return n;
}

const ManifestLayer* Manifest::first(const std::string& mt) const {
  for (const auto& l : layers) {
    if (l.media_type == mt) return &l;
  }
  return nullptr;
}

}  // namespace smolvlm
