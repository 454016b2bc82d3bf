#include "server/api_types.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "base/error.h"

namespace smolvlm::server {
namespace {

// Go's name for the JSON kind of a value, as its decoder writes it in errors.
const char* json_kind(const json& v) {
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

enum class OptType { kInt, kFloat, kBool, kStrings };
struct KnownOption {
  const char* name;
  OptType type;
};
// Every key of Ollama's api.Options / api.Runner (§1.5), plus our max_tiles; the keys we do not use
// are still type-checked, as Ollama does.
constexpr KnownOption kOptions[] = {
    {"num_ctx", OptType::kInt},         {"num_batch", OptType::kInt},
    {"num_gpu", OptType::kInt},         {"main_gpu", OptType::kInt},
    {"use_mmap", OptType::kBool},       {"num_thread", OptType::kInt},
    {"draft_num_predict", OptType::kInt}, {"num_keep", OptType::kInt},
    {"seed", OptType::kInt},            {"num_predict", OptType::kInt},
    {"top_k", OptType::kInt},           {"top_p", OptType::kFloat},
    {"min_p", OptType::kFloat},         {"typical_p", OptType::kFloat},
    {"repeat_last_n", OptType::kInt},   {"temperature", OptType::kFloat},
    {"repeat_penalty", OptType::kFloat}, {"presence_penalty", OptType::kFloat},
    {"frequency_penalty", OptType::kFloat}, {"stop", OptType::kStrings},
    {"max_tiles", OptType::kInt},
};

int64_t as_int(const json& v, const std::string& key) {
  if (!v.is_number()) throw ApiError(400, cat("option \"", key, "\" must be of type integer"));
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw ApiError(400, cat("option \"", key, "\" must be of type integer"));
    return static_cast<int64_t>(d);  // the fraction is dropped
  }
  return v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
}
float as_float(const json& v, const std::string& key) {
  if (!v.is_number()) throw ApiError(400, cat("option \"", key, "\" must be of type float32"));
  return v.get<float>();
}

}  // namespace

json parse_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "missing request body");
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, cat("invalid JSON at byte ", e.byte, ": ", e.what()));
  }
  if (!j.is_object())
    throw ApiError(400, cat("json: cannot unmarshal ", json_kind(j), " into Go value of type api.Request"));
  return j;
}

void Fields::type_error(const char* key, const char* go_type) const {
  throw ApiError(400, cat("json: cannot unmarshal ", json_kind(j.at(key)), " into Go struct field ", go_struct, ".",
                          key, " of type ", go_type));
}
std::optional<std::string> Fields::str(const char* key) const {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) type_error(key, "string");
  return it->get<std::string>();
}
std::optional<bool> Fields::boolean(const char* key) const {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) type_error(key, "bool");
  return it->get<bool>();
}
std::optional<int64_t> Fields::integer(const char* key) const {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) type_error(key, "int");
  return it->get<int64_t>();
}
const json* Fields::array(const char* key) const {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  if (!it->is_array()) type_error(key, "[]");
  return &*it;
}
const json* Fields::object(const char* key) const {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  if (!it->is_object()) type_error(key, "map[string]interface {}");
  return &*it;
}

void apply_options(const json& options, RequestSettings& s) {
  if (options.is_null()) return;
  if (!options.is_object())
    throw ApiError(400, cat("json: cannot unmarshal ", json_kind(options),
                            " into Go struct field .options of type map[string]interface {}"));
  SamplerParams& p = s.generate.sampling;
  for (const KnownOption& o : kOptions) {
    auto it = options.find(o.name);
    if (it == options.end() || it->is_null()) continue;
    const json& v = *it;
    const std::string key = o.name;
    switch (o.type) {
      case OptType::kBool:
        if (!v.is_boolean()) throw ApiError(400, cat("option \"", key, "\" must be of type boolean"));
        break;
      case OptType::kStrings: {
        if (!v.is_array()) throw ApiError(400, cat("option \"", key, "\" must be of type array"));
        std::vector<std::string> stop;
        for (const json& e : v) {
          if (!e.is_string()) throw ApiError(500, cat("option \"", key, "\" must be of an array of strings"));
          stop.push_back(e.get<std::string>());
        }
        s.generate.stop = std::move(stop);
        break;
      }
      case OptType::kInt: {
        const int64_t n = as_int(v, key);
        if (key == "num_ctx") s.num_ctx = n;
        else if (key == "num_thread") s.num_thread = static_cast<int>(n);
        else if (key == "num_gpu") s.num_gpu = n < -1 ? -1 : n;
        else if (key == "seed") p.seed = n;
        else if (key == "num_predict") s.generate.num_predict = n;
        else if (key == "top_k") p.top_k = static_cast<int32_t>(n);
        else if (key == "repeat_last_n") p.repeat_last_n = static_cast<int32_t>(n);
        else if (key == "max_tiles") s.max_tiles = static_cast<int>(n);
        break;
      }
      case OptType::kFloat: {
        const float f = as_float(v, key);
        if (key == "temperature") p.temperature = f;
        else if (key == "top_p") p.top_p = f;
        else if (key == "min_p") p.min_p = f;
        else if (key == "repeat_penalty") p.repeat_penalty = f;
        else if (key == "presence_penalty") p.presence_penalty = f;
        else if (key == "frequency_penalty") p.frequency_penalty = f;
        break;
      }
    }
  }
}

std::optional<double> parse_go_duration(const std::string& s) {
  if (s == "0") return 0.0;
  size_t i = 0;
  double sign = 1;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) sign = s[i++] == '-' ? -1 : 1;
  if (i == s.size()) return std::nullopt;
  double total = 0;
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double v = 0;
    try {
      v = std::stod(s.substr(start, i - start));
    } catch (...) {
      return std::nullopt;
    }
    const size_t u = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    const std::string unit = s.substr(u, i - u);
    double scale = 0;
    if (unit == "ns") scale = 1e-9;
    else if (unit == "us" || unit == "µs" || unit == "μs") scale = 1e-6;
    else if (unit == "ms") scale = 1e-3;
    else if (unit == "s") scale = 1;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    else return std::nullopt;  // a missing unit included
    total += v * scale;
  }
  return sign * total;
}

std::optional<Seconds> parse_keep_alive(const json* value, std::optional<Seconds> fallback) {
  if (value == nullptr || value->is_null()) return fallback;
  double secs = 0;
  if (value->is_number()) {
    secs = value->get<double>();
  } else if (value->is_string()) {
    const auto d = parse_go_duration(value->get<std::string>());
    if (!d) throw ApiError(400, cat("time: missing unit in duration \"", value->get<std::string>(), "\""));
    secs = *d;
  } else {
    throw ApiError(400, cat("json: cannot unmarshal ", json_kind(*value), " into Go struct field .keep_alive of type *api.Duration"));
  }
  if (secs < 0) return std::nullopt;  // forever
  return Seconds(secs);
}

std::vector<uint8_t> decode_base64(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  auto bad = [](size_t at) { return ApiError(400, cat("illegal base64 data at input byte ", at)); };
  std::vector<uint8_t> out;
  out.reserve(s.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] != '='; ++i) {
    const int v = val(s[i]);
    if (v < 0) throw bad(i);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  // Padding: the data length plus '=' count must be a multiple of 4, with no data after it.
  const size_t data_len = i;
  size_t pad = 0;
  for (; i < s.size(); ++i) {
    if (s[i] != '=') throw bad(i);
    ++pad;
  }
  if (data_len % 4 == 1) throw bad(data_len);
  if ((data_len + pad) % 4 != 0 || pad > 2) throw bad(s.size() - (pad ? pad : 0));
  return out;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  return buf;
}

int64_t to_ns(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1e9)); }

}  // namespace smolvlm::server
