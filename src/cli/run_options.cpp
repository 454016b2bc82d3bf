#include "cli/run_options.h"

#include <cstdlib>
#include <string>

#include "model/numerics.h"

namespace smolvlm::cli {

void add_media_options(CLI::App* sub, RunSettings& s) {
  sub->add_option("--max-tiles", s.media.max_tiles,
                  "At most this many tiles per image (fewer image tokens; 0 = full resolution)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-split", [&s](int64_t) { s.media.split = false; },
                "One global frame per image instead of tiles + global view");
  sub->add_option("--video-fps", s.media.video_fps, "Video frames sampled per second")->capture_default_str();
  sub->add_option("--video-max-frames", s.media.video_max_frames, "At most this many video frames")
      ->capture_default_str();
}

void add_device_options(CLI::App* sub, int64_t& num_gpu, std::string& device, bool cpu_default) {
  sub->add_option_function<std::string>(
         "--num-gpu", [&num_gpu](const std::string& v) { num_gpu = parse_num_gpu(v, "--num-gpu"); },
         std::string("Decoder layers on the GPU (alias -ngl): N (the last N, with the output layer), all, 0 for the "
                     "CPU only; default: ") +
             (cpu_default ? "0 (the CPU)" : "as many as fit"))
      ->type_name("N|all");
  if (const char* env = std::getenv("SMOLVLM_DEVICE"); env != nullptr) device = env;
  sub->add_option("--device", device,
                  "GPU to use: an index or name from `smolvlm devices`, or cpu (default: $SMOLVLM_DEVICE, else the "
                  "first discrete GPU, else an integrated one)");
}

void add_exact_flag(CLI::App* sub) {
  sub->add_flag_callback(
      "--exact",
      [] {
        ::setenv("SMOLVLM_EXACT", "1", 1);  // child processes (bench's per-model runs) inherit it
        set_numerics(Numerics::kExact);
      },
      "Sum every float in ggml's order: logits bit-identical to llama.cpp's CPU build (no flash attention, no "
      "repacking), at about half the prefill speed (default: the fastest order, logits within ~1e-6 of those for "
      "float weights, ~1e-2 for quantized ones; SMOLVLM_EXACT=1 sets this too)");
}

void add_generation_options(CLI::App* sub, RunSettings& s) {
  SamplerParams& p = s.generate.sampling;
  sub->add_option("--temperature", p.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  sub->add_option("--top-k", p.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  sub->add_option("--top-p", p.top_p, "Nucleus sampling threshold; 1 = off")->capture_default_str();
  sub->add_option("--min-p", p.min_p, "Drop tokens below min_p x the top probability")->capture_default_str();
  sub->add_option("--repeat-penalty", p.repeat_penalty, "Penalty for repeated tokens; 1 = off")
      ->capture_default_str();
  sub->add_option("--repeat-last-n", p.repeat_last_n, "Tokens the penalties look back; 0 = off, -1 = all")
      ->capture_default_str();
  sub->add_option("--presence-penalty", p.presence_penalty, "Subtracted once from seen tokens")
      ->capture_default_str();
  sub->add_option("--frequency-penalty", p.frequency_penalty, "Subtracted per occurrence of seen tokens")
      ->capture_default_str();
  sub->add_option("--seed", p.seed, "Random seed; -1 = random")->capture_default_str();
  sub->add_option("-n,--num-predict", s.generate.num_predict, "Most tokens per reply; -1 = no limit")
      ->capture_default_str();
  sub->add_option("--stop", s.generate.stop, "Stop string (repeatable); never printed")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--system", s.system, "System message");
  sub->add_option("--threads,-t", s.threads, "Threads (default: the physical performance cores)")->check(CLI::NonNegativeNumber);
  sub->add_option("--ctx,-c", s.num_ctx, "Context size in tokens (default: min(trained, 4096))")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--kv-type", s.kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}))->capture_default_str();
  add_device_options(sub, s.num_gpu, s.device);
  sub->add_option_function<std::string>(
         "--format", [&s](const std::string&) { s.generate.json = JsonKind::kAny; },
         "Response format: json (each reply is one JSON value, enforced by constrained decoding)")
      ->check(CLI::IsMember({"json"}));
}

void apply_model_settings(const ResolvedModel& m, const CLI::App& sub, RunSettings& s) {
  static const std::pair<const char*, const char*> kFlag[] = {
      {"temperature", "--temperature"},       {"top_k", "--top-k"},
      {"top_p", "--top-p"},                   {"min_p", "--min-p"},
      {"repeat_penalty", "--repeat-penalty"}, {"repeat_last_n", "--repeat-last-n"},
      {"presence_penalty", "--presence-penalty"}, {"frequency_penalty", "--frequency-penalty"},
      {"seed", "--seed"},                     {"num_predict", "--num-predict"},
      {"num_ctx", "--ctx"},                   {"num_thread", "--threads"},
      {"num_gpu", "--num-gpu"},
      {"max_tiles", "--max-tiles"},
      {"stop", "--stop"}};
  for (const auto& [name, flag] : kFlag) {
    if (!m.params.contains(name) || sub.count(flag) > 0) continue;
    const nlohmann::json& v = m.params[name];
    for (const nlohmann::json& x : v.is_array() ? v : nlohmann::json::array({v}))
      s.set_parameter(name, x.is_string() ? x.get<std::string>() : x.dump());
  }
  if (sub.count("--system") == 0 && !m.system.empty()) s.system = m.system;
}

}  // namespace smolvlm::cli
