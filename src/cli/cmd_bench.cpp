// `smolvlm bench MODEL... [--threads N] [--json[=FILE]] [-p 512] [-n 128] [-r 5] [--kv-type f16|f32]
//                [--batch 512] [--mmproj M] [--image I [--image-repeats 3]] [--num-gpu N|all] [--device D]
//                [--sweep-depth[=0,1024,4096,8192]] [--sweep-edge[=256,...,2048] [--sweep-max-tiles 0,4]]`
//
// Text-model speed like llama-bench, for one model or several (a GGUF file, a store name, or a
// folder with text + mmproj GGUFs): pp<P> = P random prompt tokens prefilled into an empty cache
// (logits of the last one only), tg<N> = N single-token decode steps from an empty cache; each is
// the median over the repeats (after one warm-up run), in tokens per second. The decode bound is
// measured here too: bound_tg = streaming-read bandwidth (same threads, buffer >> L3; the median of
// the passes of probes before, between the decode runs and after) / weight bytes read per token (every matmul weight
// incl. lm_head; not token_embd, a row lookup). With --image (and a projector: the model's own from
// its folder / store entry, else --mmproj) also the image figures of bench_image.h. Peak RSS is
// the process's VmHWM after the runs, reset after the bandwidth buffer is freed; with several
// models each runs in a child process of this program (hidden --bench-child) so each has its own.
//
// Output: one table with a block of rows per model. --json with one model prints that model's
// flat object (below) as before; --json with several models prints, and --json=FILE writes,
// {"machine": {...}, "settings": {...}, "models": [flat object, ...]} (bench_report.py reads it).
// Flat object keys: pp<P>, tg<N>, bound_tg, bandwidth_gbs, bandwidth_before_after_gbs,
// bandwidth_min_max_gbs, bandwidth_passes, numerics, device,
// gpu_layers, offload, [gpu_bandwidth_gbs, gpu_weight_bytes_per_token, gpu_matmul],
// weight_bytes_per_token, tg_of_bound, isa, threads, model, kv_type, repeats, name, file, type,
// params, size_bytes, n_prompt, n_gen, pp_min_max, tg_min_max, config, peak_rss_mib,
// peak_rss_reset, [mmproj, mmproj_type, mmproj_params, mmproj_size_bytes, + bench_image.h's keys],
// [sweep_depth, sweep_image: arrays of bench_sweep.h's rows (the cost curves)].
// SMOLVLM_FORCE_ISA=scalar|avx2|avx512 forces the kernels.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "cli/bench_image.h"
#include "cli/bench_process.h"
#include "cli/bench_stats.h"
#include "cli/bench_sweep.h"
#include "cli/bench_table.h"
#include "cli/command.h"
#include "cli/memory_bandwidth.h"
#include "cli/model_files.h"
#include "io/gguf.h"
#include "media/image_decode.h"
#include "kernels/isa.h"
#include "kernels/peak.h"
#include "kernels/thread_pool.h"
#include "backend/vulkan/vulkan_backend.h"
#include "cli/run_options.h"
#include "model/numerics.h"
#include "model/text/text_model.h"
#include "runtime/loaded_model.h"
#include "store/gguf_info.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

using Json = nlohmann::ordered_json;

struct BenchArgs {
  std::vector<std::string> models;
  int threads = 0;
  std::string json_file;  // with --json: "" = stdout
  bool json = false;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int repeats = 5;
  std::string kv_type = "f16";
  int64_t batch = 512;
  std::string mmproj, image;
  std::string quant;  // a folder's text GGUF of this type
  int image_repeats = 3;
  std::string child_name;  // hidden --bench-child NAME: run models[0] (already resolved), print its JSON
  int64_t num_gpu = -1;    // decoder layers on the GPU (-1: as many as fit)
  std::string device;      // --device / SMOLVLM_DEVICE
  std::string sweep_depth, sweep_edge;  // comma-separated lists ("" with the flag: the defaults)
  bool depth_sweep = false, edge_sweep = false;
  std::string sweep_max_tiles = "0";
};
constexpr const char* kDefaultDepths = "0,1024,4096,8192";
constexpr const char* kDefaultEdges = "256,512,768,1024,1536,2048";
BenchArgs args;
CLI::App* bench_app = nullptr;

struct Stat {
  double median = 0, min = 0, max = 0;  // tokens per second
};

Stat stats(const std::vector<double>& tps) {
  return {median(tps), *std::min_element(tps.begin(), tps.end()), *std::max_element(tps.begin(), tps.end())};
}

// name, file, type, params, size_bytes of a GGUF (prefix "mmproj_" for the projector).
void describe_gguf(Json& j, const std::string& path, const std::string& prefix) {
  const GgufFile f = GgufFile::open(path);
  j[prefix.empty() ? "file" : prefix] = std::filesystem::path(path).filename().string();
  j[prefix + (prefix.empty() ? "type" : "_type")] = gguf_file_type_name(f);
  j[prefix + (prefix.empty() ? "params" : "_params")] = gguf_parameter_count(f);
  j[prefix + (prefix.empty() ? "size_bytes" : "_size_bytes")] = std::filesystem::file_size(path);
}

// The text half: pp and tg; fills the flat object's speed keys.
// `between_tg` runs after each timed decode run (the interleaved bandwidth probe).
void bench_text(const BenchArgs& a, const std::string& text, kernels::ThreadPool& pool, Json& j,
                std::vector<double>& pp, std::vector<double>& tg, const std::function<void()>& between_tg) {
  TextStateOptions o;
  o.n_ctx = std::max<int64_t>(1, std::max(a.n_prompt, a.n_gen));
  o.kv_type = a.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  o.n_batch = a.batch;
  backend::OffloadPlan plan;
  const TextModel model = open_text_model(
      text, {.num_gpu = a.num_gpu, .device = a.device, .n_ctx = o.n_ctx, .kv_type = o.kv_type, .n_batch = a.batch},
      &plan);
  const int64_t V = model.config().n_vocab;
  TextState state = model.new_state(o);
  const std::vector<int32_t> tokens = bench_tokens(std::max(a.n_prompt, a.n_gen), V);
  std::vector<float> logits(static_cast<size_t>(V));

  auto prefill = [&] {
    state.clear();
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(TextInput::tokens({tokens.data(), size_t(a.n_prompt)}), state, LogitRows::kLast, logits.data(), pool);
    return static_cast<double>(a.n_prompt) / seconds_since(t0);
  };
  auto generate = [&] {
    state.clear();
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < a.n_gen; ++i)
      model.forward(TextInput::tokens({&tokens[size_t(i)], 1}), state, LogitRows::kLast, logits.data(), pool);
    return static_cast<double>(a.n_gen) / seconds_since(t0);
  };
  if (a.n_prompt > 0) {
    prefill();  // warm-up
    for (int r = 0; r < a.repeats; ++r) pp.push_back(prefill());
  }
  if (a.n_gen > 0) {
    generate();  // warm-up
    for (int r = 0; r < a.repeats; ++r) {
      tg.push_back(generate());
      between_tg();
    }
  }
  j["weight_bytes_per_token"] = model.weights().matmul_bytes();
  j["config"] = model.config().summary();
  // the GPU's share of the bytes per token (its layers' matrices, lm_head with the output layer)
  const TextPlacement& place = model.placement();
  size_t gpu_bytes = place.output->is_cpu() ? 0 : model.weights().lm_head->bytes();
  for (int64_t l = 0; l < model.config().n_layer; ++l)
    if (!place.layer(l)->is_cpu()) gpu_bytes += model.weights().layers[size_t(l)].bytes();
  j["gpu_weight_bytes_per_token"] = gpu_bytes;
  j["gpu_layers"] = plan.gpu_layers;
  j["offload"] = plan.summary;
  for (backend::Device* d : place.devices())
    if (!d->is_cpu()) {
      j["device"] = d->name();
      j["gpu_bandwidth_gbs"] = vk::measure_bandwidth_gbs(*d);
      j["gpu_matmul"] = vk::uses_tensor_cores(*d) ? "tensor cores" : "shader cores";  // prefill's tiles
    }
}

// One model in this process: the flat JSON object. `files.text` / `files.mmproj` are resolved.
Json bench_one(const BenchArgs& a, const std::string& name, const ModelFiles& files) {
  kernels::ThreadPool pool(a.threads);
  // The machine's bandwidth drifts (other tenants, clocks, bursts of a few passes): it is measured
  // before the runs, after each timed decode run and after the runs, and the median of every pass
  // makes the bound, as the median of the runs makes tg. Each probe's buffer is freed and the peak
  // reset after it, the peak so far taken before it.
  std::vector<double> before, between, after;
  uint64_t peak_rss = 0;
  bool reset = true;
  const auto probe = [&](std::vector<double>& into, int passes) {
    peak_rss = std::max(peak_rss, peak_rss_bytes());
    for (double g : measure_read_bandwidth(pool, size_t(512) << 20, passes)) into.push_back(g);
    reset = reset_peak_rss() && reset;
  };
  probe(before, 5);
  peak_rss = 0;  // the model's peak starts here
  Json m;  // model-specific keys, merged after the legacy ones below
  std::vector<double> pp, tg;
  // (the text model is released before the image half)
  bench_text(a, files.text, pool, m, pp, tg, [&] { probe(between, 2); });
  Json image;
  if (!a.image.empty())
    image = bench_image({files.text, files.mmproj, a.image, a.image_repeats, a.num_gpu, a.device}, pool, true);
  probe(after, 5);
  std::vector<double> passes = before;
  passes.insert(passes.end(), between.begin(), between.end());
  passes.insert(passes.end(), after.begin(), after.end());
  const double bandwidth = median(passes);
  Json sweeps;  // the cost curves, after the peak memory of the standard runs is taken
  if (a.depth_sweep) {
    std::fprintf(stderr, "bench: context-depth sweep (%s)\n", a.sweep_depth.c_str());
    sweeps["sweep_depth"] = sweep_depth({files.text, parse_int_list(a.sweep_depth, "--sweep-depth"), a.n_gen,
                                         a.repeats, a.kv_type == "f32", a.batch, a.num_gpu, a.device},
                                        bandwidth, pool);
  }
  if (a.edge_sweep) {
    std::fprintf(stderr, "bench: image-edge sweep (%s; max_tiles %s)\n", a.sweep_edge.c_str(), a.sweep_max_tiles.c_str());
    ImageSweepArgs s{files.text, files.mmproj, {}, {}, 1.0, a.image_repeats, a.num_gpu, a.device};
    for (int64_t e : parse_int_list(a.sweep_edge, "--sweep-edge")) s.edges.push_back(static_cast<int>(e));
    for (int64_t t : parse_int_list(a.sweep_max_tiles, "--sweep-max-tiles")) s.max_tiles.push_back(static_cast<int>(t));
    if (!a.image.empty()) {  // the synthetic images take the aspect ratio of --image
      const RgbImage img = load_image(a.image);
      s.aspect = static_cast<double>(img.width) / img.height;
    }
    sweeps["sweep_image"] = sweep_image(s, pool);
  }
  const size_t weight_bytes = m["weight_bytes_per_token"].get<size_t>();
  // each device reads its own share of the bytes at its own bandwidth
  const size_t gpu_bytes = std::min(weight_bytes, m["gpu_weight_bytes_per_token"].get<size_t>());
  const double gpu_bandwidth = m.value("gpu_bandwidth_gbs", 0.0);
  const double seconds_per_token = static_cast<double>(weight_bytes - gpu_bytes) / (bandwidth * 1e9) +
                                   (gpu_bytes > 0 ? static_cast<double>(gpu_bytes) / (gpu_bandwidth * 1e9) : 0.0);
  const double bound_tg = 1.0 / seconds_per_token;

  Json j;  // the keys (and order) of the single-model --json before several models were supported
  if (!pp.empty()) j[cat("pp", a.n_prompt)] = stats(pp).median;
  if (!tg.empty()) j[cat("tg", a.n_gen)] = stats(tg).median;
  j["bound_tg"] = bound_tg;
  j["bandwidth_gbs"] = bandwidth;
  j["bandwidth_before_after_gbs"] = {median(before), median(after)};
  j["bandwidth_min_max_gbs"] = {*std::min_element(passes.begin(), passes.end()),
                                *std::max_element(passes.begin(), passes.end())};
  j["bandwidth_passes"] = passes.size();
  j["weight_bytes_per_token"] = weight_bytes;
  if (!tg.empty()) j["tg_of_bound"] = stats(tg).median / bound_tg;
  j["isa"] = kernels::isa_name(kernels::active_isa());
  j["numerics"] = numerics_name(numerics());  // fast, or exact (--exact / SMOLVLM_EXACT=1)
  j["threads"] = pool.size();
  j["model"] = std::filesystem::path(files.text).filename().string();
  j["kv_type"] = a.kv_type;
  j["repeats"] = a.repeats;
  for (const auto& [k, v] : image.items()) j[k] = v;
  j["device"] = m.value("device", "CPU");
  j["gpu_layers"] = m["gpu_layers"];
  j["offload"] = m["offload"];
  if (m.contains("gpu_bandwidth_gbs")) {
    j["gpu_bandwidth_gbs"] = m["gpu_bandwidth_gbs"];
    j["gpu_weight_bytes_per_token"] = m["gpu_weight_bytes_per_token"];
    j["gpu_matmul"] = m["gpu_matmul"];
  }
  // Added with several models: what the report groups by, the spreads, the memory.
  j["name"] = name;
  describe_gguf(j, files.text, "");
  j["n_prompt"] = a.n_prompt;
  j["n_gen"] = a.n_gen;
  if (!pp.empty()) j["pp_min_max"] = {stats(pp).min, stats(pp).max};
  if (!tg.empty()) j["tg_min_max"] = {stats(tg).min, stats(tg).max};
  j["config"] = m["config"];
  j["peak_rss_mib"] = static_cast<double>(peak_rss) / (1024.0 * 1024.0);
  j["peak_rss_reset"] = reset;  // false: the peak includes the 512 MiB bandwidth buffer
  if (!files.mmproj.empty()) describe_gguf(j, files.mmproj, "mmproj");
  for (const auto& [k, v] : sweeps.items()) j[k] = v;
  return j;
}

// A model argument -> its files: a store name, a folder, or a GGUF. The model's own projector (store
// entry, folder) wins; --mmproj is for the models that have none (or a folder with several).
ModelFiles resolve(const std::string& model, const std::string& mmproj, const std::string& quant) {
  ModelFiles f;
  if (const std::optional<ResolvedModel> stored = try_resolve(model)) {
    f = {stored->text_path, stored->mmproj_path};
  } else {
    try {
      f = resolve_model_files(model, "", quant);
    } catch (const Error&) {
      if (mmproj.empty()) throw;
      f = resolve_model_files(model, mmproj, quant);
    }
  }
  if (f.mmproj.empty()) f.mmproj = mmproj;
  return f;
}

// The arguments a child gets to run one resolved model with this run's settings.
std::vector<std::string> child_args(const BenchArgs& a, const std::string& name, const ModelFiles& f, int threads) {
  std::vector<std::string> v = {"bench", f.text, "--bench-child", name, "--json", "-t", std::to_string(threads),
                                "-p", std::to_string(a.n_prompt), "-n", std::to_string(a.n_gen),
                                "-r", std::to_string(a.repeats), "--kv-type", a.kv_type, "-b", std::to_string(a.batch),
                                "--num-gpu", std::to_string(a.num_gpu)};
  if (!a.device.empty()) v.insert(v.end(), {"--device", a.device});
  if (!a.image.empty()) {
    v.insert(v.end(), {"--mmproj", f.mmproj, "--image", a.image});
  } else if (a.edge_sweep) {
    v.insert(v.end(), {"--mmproj", f.mmproj});
  }
  v.insert(v.end(), {"--image-repeats", std::to_string(a.image_repeats)});
  if (a.depth_sweep) v.push_back("--sweep-depth=" + a.sweep_depth);
  if (a.edge_sweep) v.insert(v.end(), {"--sweep-edge=" + a.sweep_edge, "--sweep-max-tiles", a.sweep_max_tiles});
  return v;
}

Json machine_info(int threads, const std::vector<Json>& models) {
  kernels::ThreadPool pool(threads);
  double bandwidth = 0;
  for (const Json& m : models) bandwidth = std::max(bandwidth, m.value("bandwidth_gbs", 0.0));
  Json j;
  j["cpu"] = cpu_model_name();
  j["cores"] = kernels::physical_cores();
  j["logical_cpus"] = std::thread::hardware_concurrency();
  j["isa"] = kernels::isa_name(kernels::active_isa());
  j["threads"] = pool.size();
  j["bandwidth_gbs"] = bandwidth;  // the best of the models' measurements
  const kernels::Peaks peaks = kernels::measure_peaks(pool);
  j["peak_gflops"] = peaks.fma / 1e9;
  j["peak_int8_gops"] = peaks.int8 / 1e9;    // 0: not measured (the scalar path)
  j["peak_bf16_gflops"] = peaks.bf16 / 1e9;  // 0: no vdpbf16ps on this path
  return j;
}

int run_bench(const BenchArgs& a) {
  if (!a.child_name.empty()) {  // a child: one resolved model, its flat object on stdout
    std::printf("%s\n", bench_one(a, a.child_name, {a.models[0], a.mmproj}).dump().c_str());
    return 0;
  }
  const bool to_stdout = a.json && a.json_file.empty();
  std::vector<std::pair<std::string, ModelFiles>> todo;
  for (const std::string& m : a.models) {
    ModelFiles f = resolve(m, a.mmproj, a.quant);
    if ((!a.image.empty() || a.edge_sweep) && f.mmproj.empty())
      fail(m, ": ", a.image.empty() ? "--sweep-edge" : "--image",
           " needs a vision projector: name a folder or store model that has one, or pass --mmproj");
    if (a.image.empty() && !a.edge_sweep) f.mmproj.clear();
    todo.push_back({m, f});
  }
  const int threads = kernels::ThreadPool(a.threads).size();
  std::vector<Json> results;
  int status = 0;
  if (todo.size() == 1) {
    results.push_back(bench_one(a, todo[0].first, todo[0].second));
    if (to_stdout) {  // the single-model format, as before
      std::printf("%s\n", results[0].dump().c_str());
      return 0;
    }
  } else {
    for (const auto& [name, files] : todo) {
      if (!to_stdout) std::fprintf(stderr, "bench: %s ...\n", name.c_str());
      const ChildResult r = run_self(child_args(a, name, files, threads));
      Json j;
      try {
        if (r.exit_code != 0) fail("exit status ", r.exit_code);
        j = Json::parse(r.out);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "smolvlm: bench of %s failed: %s\n", name.c_str(), e.what());
        j = Json{{"name", name}, {"file", std::filesystem::path(files.text).filename().string()},
                 {"error", e.what()}};
        status = 1;
      }
      results.push_back(std::move(j));
    }
  }
  Json doc;
  doc["machine"] = machine_info(threads, results);
  doc["settings"] = {{"n_prompt", a.n_prompt}, {"n_gen", a.n_gen},       {"repeats", a.repeats},
                     {"kv_type", a.kv_type},   {"batch", a.batch},        {"image", a.image},
                     {"image_repeats", a.image_repeats}};
  if (a.depth_sweep) doc["settings"]["sweep_depth"] = a.sweep_depth;
  if (a.edge_sweep) {
    doc["settings"]["sweep_edge"] = a.sweep_edge;
    doc["settings"]["sweep_max_tiles"] = a.sweep_max_tiles;
  }
  doc["models"] = results;
  if (to_stdout) {
    std::printf("%s\n", doc.dump(2).c_str());
    return status;
  }
  print_bench_table(doc);
  if (a.json) {
    std::ofstream out(a.json_file);
    out << doc.dump(2) << "\n";
    out.close();
    if (!out) fail("cannot write ", a.json_file);
    std::printf("wrote %s\n", a.json_file.c_str());
  }
  return status;
}

const CommandRegistrar kRegistrar{Command{
    "bench",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("bench", "Measure prefill (pp) and decode (tg) speed of one or more models, "
                                                  "like llama-bench, with the memory-bandwidth bound, peak memory and "
                                                  "optionally image encode time and time to first token");
      bench_app = sub;
      sub->footer(
          "pp<P>: P random tokens prefilled into an empty cache; tg<N>: N single-token decode steps from an\n"
          "empty cache; tokens/s, median of the repetitions after one warm-up. bound_tg = measured streaming-\n"
          "read bandwidth (same threads, 512 MiB buffer; the median of its passes before, between the decode\n"
          "runs and after, as tg is the median of the runs) / weight\n"
          "bytes per token (all matmul weights incl. the output matrix). peak rss: VmHWM of the process\n"
          "running the model (several models: one child process each).\n"
          "--json: one model prints one object (keys pp<P>, tg<N>, bound_tg, bandwidth_gbs, weight_bytes_per_token,\n"
          "tg_of_bound, isa, threads, model, kv_type, repeats, name, file, type, params, size_bytes,\n"
          "peak_rss_mib, ...); several models print {\"machine\", \"settings\", \"models\": [...]}; --json=FILE\n"
          "writes that document to FILE and prints the table (scripts/bench_report.py makes a report of it).\n"
          "SMOLVLM_FORCE_ISA=scalar|avx2|avx512 applies. With layers on a GPU (--num-gpu, default: as many as\n"
          "fit), bound_tg adds the GPU's share of the bytes at its own copy bandwidth (gpu_bandwidth_gbs).");
      sub->add_option("model", args.models,
                      "Models: text GGUF files, store names (smolvlm2:256m) or folders with the text (+ mmproj) GGUFs")
          ->required();
      sub->add_option("--threads,-t", args.threads, "Threads (default: the physical performance cores)")
          ->check(CLI::NonNegativeNumber);
      sub->add_option("--json", args.json_file,
                      "Print JSON instead of the table; --json=FILE writes it to FILE and prints the table")
          ->expected(0, 1);
      sub->add_option("-p,--n-prompt", args.n_prompt, "Prompt tokens for the prefill test (0: skip)")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      sub->add_option("-n,--n-gen", args.n_gen, "Decode steps for the generation test (0: skip)")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      sub->add_option("-r,--repetitions", args.repeats, "Timed runs per test (the median is reported)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub->add_option("--kv-type", args.kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}))
          ->capture_default_str();
      sub->add_option("--batch,-b", args.batch, "Prompt tokens per prefill pass")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub->add_option("--quant", args.quant, "For a folder with several text GGUFs: the type to run (default Q4_K_M, else "
                                             "the smallest quantized one)");
      sub->add_option("--mmproj", args.mmproj, "Vision projector GGUF for the models without their own (with --image)")
          ->check(CLI::ExistingFile);
      sub->add_option("--image", args.image, "Also time this image: one tile, the whole image, the image "
                                             "prompt's prefill and the time to first token")
          ->check(CLI::ExistingFile);
      sub->add_option("--image-repeats", args.image_repeats, "Timed runs of each image measure")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub->add_option("--sweep-depth", args.sweep_depth,
                      cat("Also decode -n tokens after a prefilled context of each depth (cost curve; default ",
                          kDefaultDepths, ")"))
          ->expected(0, 1);
      sub->add_option("--sweep-edge", args.sweep_edge,
                      cat("Also time synthetic images of each longest edge in px: tiles, image tokens, encode time and "
                          "time to first token (cost curve; default ", kDefaultEdges,
                          "; the aspect ratio of --image, else square)"))
          ->expected(0, 1);
      sub->add_option("--sweep-max-tiles", args.sweep_max_tiles,
                      "With --sweep-edge: run each edge with each of these max_tiles settings (0: full resolution)")
          ->capture_default_str();
      add_device_options(sub, args.num_gpu, args.device);
      add_exact_flag(sub);
      sub->add_option("--bench-child", args.child_name)->group("");  // internal: one model per process
      return sub;
    },
    [] {
      args.json = bench_app->count("--json") > 0;
      args.depth_sweep = bench_app->count("--sweep-depth") > 0;
      args.edge_sweep = bench_app->count("--sweep-edge") > 0;
      if (args.depth_sweep && args.sweep_depth.empty()) args.sweep_depth = kDefaultDepths;
      if (args.edge_sweep && args.sweep_edge.empty()) args.sweep_edge = kDefaultEdges;
      if (args.depth_sweep) parse_int_list(args.sweep_depth, "--sweep-depth");  // bad lists fail before any work
      if (args.edge_sweep)
        for (int64_t e : parse_int_list(args.sweep_edge, "--sweep-edge"))
          if (e < 16 || e > 16384) fail("--sweep-edge: ", e, " px is outside 16..16384");
      parse_int_list(args.sweep_max_tiles, "--sweep-max-tiles");
      if (args.depth_sweep && args.n_gen == 0) fail("--sweep-depth times -n decode steps at each depth: give -n > 0");
      if (args.json && std::filesystem::path(args.json_file).extension() == ".gguf")
        fail("--json ", args.json_file, ": that looks like a model, not an output file; write --json=FILE, or put "
             "--json after the models");
      if (!args.child_name.empty() && args.models.size() != 1) fail("--bench-child runs one model");
      return run_bench(args);
    },
    60,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
