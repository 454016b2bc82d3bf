#include "cli/run_settings.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "base/error.h"

namespace smolvlm::cli {
namespace {

const char* const kNames =
    "temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, seed, "
    "num_predict, num_ctx, num_thread, num_gpu, stop, max_tiles";

double parse_number(std::string_view name, std::string_view value) {
  double v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v))
    fail("parameter ", name, ": '", value, "' is not a number");
  return v;
}

int64_t parse_int(std::string_view name, std::string_view value) {
  const double v = parse_number(name, value);  // Ollama: any number, the fraction dropped
  if (std::fabs(v) > 9.0e18) fail("parameter ", name, ": ", value, " is out of range");
  return static_cast<int64_t>(v);
}

}  // namespace

void RunSettings::set_parameter(std::string_view name, std::string_view value) {
  SamplerParams& s = generate.sampling;
  if (value.empty()) fail("parameter ", name, ": missing value (usage: /set parameter ", name, " <value>)");
  if (name == "temperature") {
    s.temperature = static_cast<float>(parse_number(name, value));
  } else if (name == "top_k") {
    s.top_k = static_cast<int32_t>(parse_int(name, value));
  } else if (name == "top_p") {
    s.top_p = static_cast<float>(parse_number(name, value));
  } else if (name == "min_p") {
    s.min_p = static_cast<float>(parse_number(name, value));
  } else if (name == "repeat_penalty") {
    s.repeat_penalty = static_cast<float>(parse_number(name, value));
  } else if (name == "repeat_last_n") {
    s.repeat_last_n = static_cast<int32_t>(parse_int(name, value));
  } else if (name == "presence_penalty") {
    s.presence_penalty = static_cast<float>(parse_number(name, value));
  } else if (name == "frequency_penalty") {
    s.frequency_penalty = static_cast<float>(parse_number(name, value));
  } else if (name == "seed") {
    s.seed = parse_int(name, value);
  } else if (name == "num_predict") {
    generate.num_predict = parse_int(name, value);
  } else if (name == "num_ctx") {
    const int64_t v = parse_int(name, value);
    if (v < 0) fail("parameter num_ctx: must be 0 (the default) or more, got ", value);
    num_ctx = v;
  } else if (name == "num_thread") {
    const int64_t v = parse_int(name, value);
    if (v < 0 || v > 1024) fail("parameter num_thread: ", value, " is out of range (0 = the physical performance cores)");
    threads = static_cast<int>(v);
  } else if (name == "num_gpu") {
    num_gpu = parse_num_gpu(std::string(value), "parameter num_gpu");
  } else if (name == "max_tiles") {
    const int64_t v = parse_int(name, value);
    if (v < 0 || v > 1024) fail("parameter max_tiles: ", value, " is out of range (0 = the model's full resolution)");
    media.max_tiles = static_cast<int>(v);
  } else if (name == "stop") {
    generate.stop.emplace_back(value);
  } else {
    fail("unknown parameter '", name, "'; known: ", kNames);
  }
}

std::string RunSettings::describe() const {
  const SamplerParams& s = generate.sampling;
  const SamplerParams d;
  std::string out;
  auto line = [&](const char* name, const std::string& v) { out += cat(name, std::string(20 - std::string(name).size(), ' '), v, "\n"); };
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  if (s.temperature != d.temperature) line("temperature", num(s.temperature));
  if (s.top_k != d.top_k) line("top_k", num(s.top_k));
  if (s.top_p != d.top_p) line("top_p", num(s.top_p));
  if (s.min_p != d.min_p) line("min_p", num(s.min_p));
  if (s.repeat_penalty != d.repeat_penalty) line("repeat_penalty", num(s.repeat_penalty));
  if (s.repeat_last_n != d.repeat_last_n) line("repeat_last_n", num(s.repeat_last_n));
  if (s.presence_penalty != d.presence_penalty) line("presence_penalty", num(s.presence_penalty));
  if (s.frequency_penalty != d.frequency_penalty) line("frequency_penalty", num(s.frequency_penalty));
  if (s.seed != d.seed) line("seed", num(static_cast<double>(s.seed)));
  if (generate.num_predict >= 0) line("num_predict", num(static_cast<double>(generate.num_predict)));
  if (num_ctx > 0) line("num_ctx", num(static_cast<double>(num_ctx)));
  if (threads > 0) line("num_thread", num(threads));
  if (num_gpu >= kNumGpuAll) line("num_gpu", "all");
  else if (num_gpu >= 0) line("num_gpu", num(static_cast<double>(num_gpu)));
  if (media.max_tiles > 0) line("max_tiles", num(media.max_tiles));
  for (const std::string& st : generate.stop) line("stop", cat("\"", st, "\""));
  return out.empty() ? "No parameters set; Ollama's defaults apply (temperature 0.8, top_k 40, top_p 0.9).\n" : out;
}

LoadOptions RunSettings::load_options() const {
  LoadOptions o;
  o.num_gpu = num_gpu;
  o.device = device;
  o.n_ctx = num_ctx;
  o.kv_type = kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  return o;
}

}  // namespace smolvlm::cli
