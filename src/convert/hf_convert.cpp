#include "convert/hf_convert.h"

#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/progress.h"
#include "convert/hf_config.h"
#include "convert/hf_mmproj_gguf.h"
#include "convert/hf_text_gguf.h"
#include "convert/hf_vocab.h"

namespace smolvlm {
namespace fs = std::filesystem;

std::string converted_file_name(const std::string& name, OutType t, bool mmproj) {
  return cat(mmproj ? "mmproj-" : "", name, "-", outtype_info(t).name, ".gguf");
}

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : sep) + e;
  return s;
}

// Adds the tensor infos and streams the data, converting each tensor when the writer asks.
ConvertedFile write_plan(GgufPlan& plan, const std::string& path, const SafetensorsCheckpoint& ckpt,
                         const ConvertOptions& opt, Progress* progress) {
  ConvertedFile f;
  f.path = path;
  f.n_tensors = plan.jobs.size();
  for (const TensorJob& j : plan.jobs) plan.writer.add_tensor(j.name, j.type, j.ne);
  for (const GgufTensorInfo& t : plan.writer.tensors()) f.tensor_bytes += t.nbytes;
  plan.writer.write_file(
      path, opt.force,
      [&](size_t i, const GgufTensorInfo&, std::vector<uint8_t>& out) {
        const TensorJob& job = plan.jobs[i];
        convert_tensor_data(ckpt.get(job.hf_name), job, out, opt.threads);
      },
      progress);
  return f;
}

}  // namespace

ConvertResult convert_hf_checkpoint(const ConvertOptions& opt) {
  const HfModelConfig cfg = load_hf_config(opt.hf_dir);
  ConvertResult r;
  r.name = cfg.name;
  const fs::path out_dir(opt.out_dir.empty() ? opt.hf_dir : opt.out_dir);
  const std::string text_path = (out_dir / converted_file_name(cfg.name, opt.outtype, false)).string();
  const std::string mmproj_path = (out_dir / converted_file_name(cfg.name, opt.outtype, true)).string();
  std::error_code ec;
  if (!opt.force) {
    for (const std::string& p : {text_path, mmproj_path}) {
      if (fs::exists(p, ec)) fail(p, ": output exists; pass --force to overwrite it");
    }
  }

  // Read and check everything before writing anything.
  const HfVocab vocab = load_hf_vocab(opt.hf_dir, cfg.text.vocab_size, cfg.config_json);
  const SafetensorsCheckpoint ckpt = SafetensorsCheckpoint::open_dir(opt.hf_dir);
  std::vector<std::string> missing;
  GgufPlan text = plan_text_gguf(cfg, vocab, ckpt, opt.outtype, missing);
  GgufPlan mmproj = plan_mmproj_gguf(cfg, ckpt, opt.outtype, missing);
  if (!missing.empty()) {
    fail(opt.hf_dir, ": the checkpoint lacks ", missing.size(), " tensor(s) that config.json (model_type '",
         cfg.model_type, "') requires: ", join(missing, ", "));
  }
  std::set<std::string> used;
  uint64_t total = 0;
  for (const GgufPlan* p : {&text, &mmproj}) {
    for (const TensorJob& j : p->jobs) {
      used.insert(j.hf_name);
      total += ggml_row_size(j.type, j.ne[0]) * uint64_t(j.n_rows());
      const GgmlType want = outtype_info(opt.outtype).ggml;
      if (j.type == GgmlType::F16 && want != GgmlType::F16 && j.ne.size() >= 2) {
        r.notes.push_back(cat(p->kind, " tensor ", j.name, ": row of ", j.ne[0], " is not a multiple of ",
                              ggml_type_info(want).block_size, "; stored as F16"));
      }
    }
  }
  for (const std::string& n : ckpt.names()) {
    if (!used.count(n)) r.unused_tensors.push_back(n);
  }

  if (!out_dir.empty() && !fs::exists(out_dir, ec)) {
    fs::create_directories(out_dir, ec);
    if (ec) fail(out_dir.string(), ": cannot create the output folder: ", ec.message());
  }
  Progress progress("convert", total, Progress::Unit::kBytes, opt.progress);
  r.text = write_plan(text, text_path, ckpt, opt, &progress);
  r.mmproj = write_plan(mmproj, mmproj_path, ckpt, opt, &progress);
  progress.finish();
  return r;
}

}  // namespace smolvlm
