#include "convert/hf_tensors.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/fp16.h"
#include "base/parallel.h"
#include "quant/quant.h"

namespace smolvlm {

namespace {

constexpr OutTypeInfo kOutTypes[] = {
    {OutType::F32, "F32", GgmlType::F32, 0},
    {OutType::F16, "F16", GgmlType::F16, 1},
    {OutType::BF16, "BF16", GgmlType::BF16, 32},
    {OutType::Q8_0, "Q8_0", GgmlType::Q8_0, 7},
};

bool ends_with(const std::string& s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Bytes per element of a checkpoint dtype the converter reads (0: unsupported).
size_t source_elem_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

// n elements of a checkpoint dtype -> float (the data may be unaligned in the mapped file).
void source_to_f32(const std::string& dtype, const uint8_t* src, float* dst, int64_t n) {
  if (dtype == "F32") {
    std::memcpy(dst, src, size_t(n) * 4);
    return;
  }
  const bool bf16 = dtype == "BF16";
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = bf16 ? bf16_to_fp32(h) : fp16_to_fp32(h);
  }
}


}  // namespace

const OutTypeInfo& outtype_info(OutType t) {
  for (const auto& i : kOutTypes) {
    if (i.type == t) return i;
  }
  fail("unknown output type");
}

std::optional<OutType> parse_outtype(std::string_view name) {
  std::string up(name);
  for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& i : kOutTypes) {
    if (up == i.name) return i.type;
  }
  return std::nullopt;
}

GgmlType choose_tensor_type(OutType out, const std::string& gguf_name, const std::vector<int64_t>& hf_shape,
                            bool force_f32) {
  if (force_f32 || hf_shape.size() <= 1 || ends_with(gguf_name, "_norm.weight") || !ends_with(gguf_name, ".weight")) {
    return GgmlType::F32;
  }
  const GgmlType t = outtype_info(out).ggml;
  const int64_t block = ggml_type_info(t).block_size;
  if (hf_shape.back() % block != 0) return GgmlType::F16;  // gguf-py's QuantError fallback
  return t;
}

void add_tensor_job(GgufPlan& plan, const SafetensorsCheckpoint& ckpt, const std::string& gguf_name,
                    const std::string& hf_name, OutType out, std::vector<std::string>& missing,
                    const std::vector<int64_t>& expect, int64_t permute_heads, bool force_f32) {
  const SafetensorsTensor* t = ckpt.find(hf_name);
  if (t == nullptr) {
    missing.push_back(hf_name);
    return;
  }
  if (source_elem_size(t->dtype) == 0) {
    fail(t->file, ": tensor '", hf_name, "' has dtype ", t->dtype, "; the converter reads F32, F16 and BF16 weights");
  }
  if (!expect.empty() && t->shape != expect) {
    fail(t->file, ": tensor '", hf_name, "' has shape ", shape_string(t->shape), ", expected ", shape_string(expect),
         " from config.json");
  }
  if (t->shape.empty() || t->shape.size() > 4) {
    fail(t->file, ": tensor '", hf_name, "' has ", t->shape.size(), " dimensions (GGUF needs 1 to 4)");
  }
  if (permute_heads > 0 && (t->shape.size() > 2 || t->shape[0] % (2 * permute_heads) != 0)) {
    fail(t->file, ": tensor '", hf_name, "' with shape ", shape_string(t->shape), " cannot be split into ",
         permute_heads, " heads of an even size");
  }
  TensorJob job;
  job.name = gguf_name;
  job.hf_name = hf_name;
  job.ne.assign(t->shape.rbegin(), t->shape.rend());
  job.type = choose_tensor_type(out, gguf_name, t->shape, force_f32);
  job.permute_heads = permute_heads;
  plan.jobs.push_back(std::move(job));
}

int64_t rope_permuted_row(int64_t row, int64_t n_rows, int64_t heads) {
  const int64_t d = n_rows / heads;
  const int64_t h = row / d, j = row % d;
  return h * d + j / 2 + (j % 2 ? d / 2 : 0);
}

void convert_tensor_data(const SafetensorsTensor& src, const TensorJob& job, std::vector<uint8_t>& out, int threads) {
  const size_t esize = source_elem_size(src.dtype);
  const int64_t n = src.n_elements();
  if (esize == 0) fail(src.file, ": tensor '", src.name, "' has unsupported dtype ", src.dtype);
  if (src.data.size() != size_t(n) * esize) {
    fail(src.file, ": tensor '", src.name, "' has ", src.data.size(), " data bytes, expected ", size_t(n) * esize);
  }
  const int64_t cols = job.ne[0];
  const int64_t rows = n / cols;
  const size_t row_bytes = ggml_row_size(job.type, cols);
  out.resize(row_bytes * size_t(rows));
  // A permuted 1-D tensor (a q/k bias) is one row whose elements move; a matrix moves whole rows.
  const bool permute_rows = job.permute_heads > 0 && rows > 1;
  const bool permute_elems = job.permute_heads > 0 && rows == 1;
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 16) / cols);
  try {
    parallel_for(
        rows, threads,
        [&](int64_t begin, int64_t end) {
          std::vector<float> f(static_cast<size_t>(cols));
          std::vector<float> g(permute_elems ? static_cast<size_t>(cols) : 0);
          for (int64_t r = begin; r < end; ++r) {
            const int64_t s = permute_rows ? rope_permuted_row(r, rows, job.permute_heads) : r;
            source_to_f32(src.dtype, src.data.data() + size_t(s * cols) * esize, f.data(), cols);
            if (permute_elems) {
              for (int64_t i = 0; i < cols; ++i) g[size_t(i)] = f[size_t(rope_permuted_row(i, cols, job.permute_heads))];
              f.swap(g);
            }
            quantize_row(job.type, f.data(), out.data() + size_t(r) * row_bytes, cols);
          }
        },
        chunk);
  } catch (const Error& e) {
    fail("tensor '", job.name, "' (from '", src.name, "' in ", src.file, "): ", e.what());
  }
  // Drop the source pages once converted, so the resident set stays near one tensor.
  MappedFile::release_range(src.data.data(), src.data.size());
}

}  // namespace smolvlm
