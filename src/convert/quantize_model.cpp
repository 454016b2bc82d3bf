#include "convert/quantize_model.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/parallel.h"
#include "base/progress.h"
#include "io/gguf.h"
#include "quant/quant.h"

namespace smolvlm {
namespace {

// llama-quantize drops the split keys of a (single-file) input.
constexpr const char* kSplitKeys[] = {"split.no", "split.count", "split.tensors.count"};

void check_is_gguf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open input: ", std::strerror(errno));
  char magic[4] = {};
  f.read(magic, 4);
  if (f.gcount() != 4 || std::memcmp(magic, "GGUF", 4) != 0)
    fail(path, ": not a GGUF file (it does not start with the magic 'GGUF')");
}

uint32_t u32_key(const GgufFile& in, const std::string& key) {
  const GgufValue* v = in.find(key);
  if (v == nullptr) fail(in.path(), ": missing key '", key, "'");
  if (v->type() != GgufType::UINT32)
    fail(in.path(), ": key '", key, "' has type ", v->type_string(), ", expected u32");
  return v->as_u32();
}

QuantModelParams model_params(const GgufFile& in, const std::string& arch) {
  QuantModelParams m;
  m.arch = arch;
  if (arch == "clip") return m;  // llama.cpp loads no hyper-parameters for clip files: n_layer 0
  m.n_layer = static_cast<int>(u32_key(in, "llama.block_count"));
  if (const GgufValue* e = in.find("llama.expert_count"); e != nullptr && e->as_int() > 0)
    fail(in.path(), ": mixture-of-experts models (llama.expert_count = ", e->as_int(), ") are not supported");
  if (m.n_layer == 80) {  // llama.cpp's LLM_TYPE_70B: 80 layers with grouped-query attention
    const uint32_t heads = u32_key(in, "llama.attention.head_count");
    const uint32_t kv = in.find("llama.attention.head_count_kv") ? u32_key(in, "llama.attention.head_count_kv") : heads;
    m.is_70b = heads != kv;
  }
  return m;
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1024.0 * 1024.0));
  return buf;
}

// One output tensor's bytes: a copy when the type is kept, else (dequantize to f32 and)
// quantize, rows in parallel.
void produce_tensor(const GgufFile& in, const QuantPlanEntry& e, int threads, std::vector<uint8_t>& out) {
  const GgufTensorInfo& src = in.tensor(e.name);
  const std::span<const uint8_t> bytes = in.tensor_data(src);
  if (!e.convert()) {
    out.assign(bytes.begin(), bytes.end());
    return;
  }
  const int64_t width = src.ne[0];
  const int64_t rows = src.n_rows();
  const float* f32 = nullptr;
  std::vector<float> buf;
  if (e.from == GgmlType::F32 && reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0) {
    f32 = reinterpret_cast<const float*>(bytes.data());
  } else {
    buf.resize(static_cast<size_t>(width * rows));
    const size_t row_bytes = ggml_row_size(e.from, width);
    parallel_for(
        rows, threads,
        [&](int64_t r0, int64_t r1) {
          dequantize_row(e.from, bytes.data() + r0 * row_bytes, buf.data() + r0 * width, (r1 - r0) * width);
        },
        64);
    f32 = buf.data();
  }
  out.resize(static_cast<size_t>(rows) * ggml_row_size(e.to, width));
  quantize_rows(e.to, f32, out.data(), rows, width, threads);
}

}  // namespace

QuantizeReport plan_model_quantization(const GgufFile& in, QuantTarget target) {
  const QuantTargetInfo& ti = quant_target_info(target);
  QuantizeReport r;
  r.target = target;
  r.arch = in.architecture();
  if (r.arch != "llama" && r.arch != "clip")
    fail(in.path(), ": general.architecture is '", r.arch, "'; quantize supports 'llama' text models and 'clip' ",
         "(mmproj) files");
  if (r.arch == "clip" && !ti.mmproj_ok)
    fail(in.path(), ": ", ti.name, " is a text-model type; an mmproj (clip) file can be quantized to ",
         quant_target_list(true));
  if (const GgufValue* n = in.find("split.count"); n != nullptr && n->as_int() > 1)
    fail(in.path(), ": split GGUF files (split.count = ", n->as_int(), ") are not supported; merge them first");

  std::vector<QuantTensorIn> tensors;
  for (const auto& t : in.tensors()) {
    tensors.push_back({t.name, t.ne, t.type});
    r.bytes_in += t.nbytes;
  }
  r.plan = plan_quantization(tensors, target, model_params(in, r.arch));
  for (const auto& e : r.plan) {
    if (e.convert() && !can_dequantize(e.from))
      fail(in.path(), ": tensor '", e.name, "' has type ", ggml_type_name(e.from), ", which cannot be converted");
    r.bytes_out += static_cast<uint64_t>(in.tensor(e.name).n_rows()) * ggml_row_size(e.to, e.ne[0]);
  }
  return r;
}

QuantizeReport quantize_model(const QuantizeOptions& o) {
  check_is_gguf(o.input);
  const GgufFile in = GgufFile::open(o.input);
  QuantizeReport r = plan_model_quantization(in, o.target);
  if (o.dry_run) return r;

  GgufWriter w;
  for (const auto& kv : in.metadata()) w.set(kv.key, kv.value);
  for (const char* k : kSplitKeys) w.remove(k);
  w.set_last("general.quantization_version", GgufValue::u32(2));
  w.set_last("general.file_type", GgufValue::u32(quant_target_info(o.target).file_type));
  for (const auto& e : r.plan) w.add_tensor(e.name, e.to, e.ne);

  const int threads = o.threads > 0 ? o.threads : default_threads();
  Progress progress(cat("quantize ", quant_target_info(o.target).name), r.bytes_out, Progress::Unit::kBytes,
                    o.progress);
  w.write_file(
      o.output, o.overwrite,
      [&](size_t index, const GgufTensorInfo&, std::vector<uint8_t>& out) {
        produce_tensor(in, r.plan[index], threads, out);
        // Drop the input pages once quantized, so the resident set stays near one tensor.
        const auto src = in.tensor_data(in.tensor(r.plan[index].name));
        MappedFile::release_range(src.data(), src.size());
      },
      &progress);
  progress.finish();
  return r;
}

std::string format_quant_plan(const QuantizeReport& r) {
  size_t name_w = 4;
  for (const auto& e : r.plan) name_w = std::max(name_w, e.name.size());
  std::string s;
  size_t converted = 0;
  const size_t n = r.plan.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& e = r.plan[i];
    converted += e.convert();
    char head[64];
    std::snprintf(head, sizeof head, "[%4zu/%4zu] ", i + 1, n);
    std::string line = head + e.name + std::string(name_w + 2 - e.name.size(), ' ');
    const std::string shape = shape_string(e.ne);
    line += shape + std::string(shape.size() < 22 ? 22 - shape.size() : 1, ' ');
    const std::string types = cat(ggml_type_name(e.from), " -> ", ggml_type_name(e.to));
    line += types + std::string(types.size() < 16 ? 16 - types.size() : 1, ' ') + e.reason;
    s += line + "\n";
  }
  const auto& ti = quant_target_info(r.target);
  s += cat(n, " tensors (", converted, " converted, ", n - converted, " copied); tensor data ", mib(r.bytes_in),
           " -> ", mib(r.bytes_out), "; ", r.arch, " ", ti.name, " (general.file_type ", ti.file_type, ")\n");
  return s;
}

}  // namespace smolvlm
