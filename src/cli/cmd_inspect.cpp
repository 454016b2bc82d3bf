// smolvlm inspect FILE [--json] [--all]: metadata and tensor table of a GGUF or safetensors file
// (the format is recognised by its first bytes, not its name).
//
// --json prints one object:
//   {"format": "gguf", "version": 3, "alignment": 32, "data_offset": N,
//    "metadata": {key: value, ...},            arrays longer than 16 elements (unless --all) as
//                                              {"type": "arr[str]", "count": N, "head": [first 8]}
//    "tensors": [{"name", "type", "shape", "bytes", "offset"}, ...]}
// GGUF shapes are in ggml order (ne[0] first), types ggml names ("F32", "Q8_0"), offsets absolute
// file offsets. For safetensors: {"format": "safetensors", "header_size", "metadata" (the
// __metadata__ strings), "tensors"} with PyTorch shapes and dtype names.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/command.h"
#include "io/gguf.h"
#include "io/safetensors.h"

namespace smolvlm::cli {
namespace {

using nlohmann::ordered_json;

constexpr uint64_t kJsonArrayLimit = 16;  // longer arrays are abbreviated unless --all
constexpr size_t kJsonArrayHead = 8;
constexpr size_t kTextArrayHead = 8;
constexpr size_t kTextStringLimit = 160;

struct InspectArgs {
  std::string file;
  bool json = false;
  bool all = false;
};
InspectArgs args;

enum class Format { kGguf, kSafetensors };

Format detect_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the file");
  unsigned char head[9] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = static_cast<size_t>(in.gcount());
  if (got >= 4 && std::memcmp(head, "GGUF", 4) == 0) return Format::kGguf;
  if (got == 9 && head[8] == '{') {
    uint64_t n = 0;
    std::memcpy(&n, head, 8);  // little-endian header length
    if (n >= 2 && n < (uint64_t(1) << 32)) return Format::kSafetensors;
  }
  fail(path, ": not a GGUF or safetensors file (unrecognised first bytes)");
}

// A float32 as the shortest decimal that reads back as the same float (1e-05, not 9.99999974e-06).
ordered_json float_json(float f) {
  if (!std::isfinite(f)) return nullptr;
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, f);
  return std::strtod(std::string(buf, res.ptr).c_str(), nullptr);
}

ordered_json scalar_json(GgufType t, uint64_t bits) {
  const GgufValue v = GgufValue::from_bits(t, bits);
  switch (t) {
    case GgufType::BOOL: return bits != 0;
    case GgufType::FLOAT32: return float_json(std::bit_cast<float>(static_cast<uint32_t>(bits)));
    case GgufType::FLOAT64: {
      const double d = std::bit_cast<double>(bits);
      return std::isfinite(d) ? ordered_json(d) : ordered_json(nullptr);
    }
    case GgufType::UINT8: case GgufType::UINT16: case GgufType::UINT32: case GgufType::UINT64: return bits;
    default: return v.as_int();
  }
}

// Element i of an array value as JSON.
ordered_json element_json(const GgufValue& v, uint64_t i) {
  if (v.elem_type() == GgufType::STRING) return v.as_str_array()[i];
  const size_t es = gguf_scalar_size(v.elem_type());
  uint64_t bits = 0;
  std::memcpy(&bits, v.packed().data() + i * es, es);
  return scalar_json(v.elem_type(), bits);
}

ordered_json value_json(const GgufValue& v, bool all) {
  if (v.type() == GgufType::STRING) return v.as_str();
  if (!v.is_array()) return scalar_json(v.type(), v.raw_bits());
  const uint64_t n = v.array_size();
  const bool abbreviate = !all && n > kJsonArrayLimit;
  ordered_json elems = ordered_json::array();
  for (uint64_t i = 0; i < (abbreviate ? kJsonArrayHead : n); ++i) elems.push_back(element_json(v, i));
  if (!abbreviate) return elems;
  ordered_json o;
  o["type"] = v.type_string();
  o["count"] = n;
  o["head"] = std::move(elems);
  return o;
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += cat(i ? ", " : "", s[i]);
  return r + "]";
}

void print_json(const ordered_json& j) {
  std::fputs(j.dump(2, ' ', false, ordered_json::error_handler_t::replace).c_str(), stdout);
  std::fputc('\n', stdout);
}

// Prints rows of cells with each column padded to its widest cell (numbers right-aligned).
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<size_t> w(rows.front().size(), 0);
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], r[c].size());
  }
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string pad(w[c] - r[c].size(), ' ');
      line += " " + (right[c] ? pad + r[c] : (c + 1 == r.size() ? r[c] : r[c] + pad));
    }
    std::printf("%s\n", line.c_str());
  }
}

int inspect_gguf(const std::string& path) {
  const GgufFile f = GgufFile::open(path);
  if (args.json) {
    ordered_json j;
    j["format"] = "gguf";
    j["version"] = f.version();
    j["alignment"] = f.alignment();
    j["data_offset"] = f.data_offset();
    ordered_json md = ordered_json::object();
    for (const GgufKV& kv : f.metadata()) md[kv.key] = value_json(kv.value, args.all);
    j["metadata"] = std::move(md);
    ordered_json ts = ordered_json::array();
    for (const GgufTensorInfo& t : f.tensors()) {
      ts.push_back({{"name", t.name}, {"type", ggml_type_name(t.type)}, {"shape", t.ne}, {"bytes", t.nbytes},
                    {"offset", f.data_offset() + t.offset}});
    }
    j["tensors"] = std::move(ts);
    print_json(j);
    return 0;
  }
  std::printf("%s: GGUF v%u, alignment %u, %zu metadata keys, %zu tensors, data at offset %llu\n", path.c_str(),
              f.version(), f.alignment(), f.metadata().size(), f.tensors().size(),
              static_cast<unsigned long long>(f.data_offset()));
  std::printf("\nmetadata:\n");
  std::vector<std::vector<std::string>> rows;
  for (const GgufKV& kv : f.metadata()) {
    std::string text = kv.value.to_string(args.all ? SIZE_MAX : kTextArrayHead);
    if (!args.all && text.size() > kTextStringLimit) {
      text = cat(text.substr(0, kTextStringLimit), "... (", text.size(), " characters; --all shows everything)");
    }
    rows.push_back({kv.key, kv.value.type_string(), text});
  }
  if (!rows.empty()) print_table(rows, {false, false, false});
  std::printf("\ntensors:\n");
  rows = {{"#", "name", "type", "shape", "bytes", "offset"}};
  uint64_t total = 0;
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const GgufTensorInfo& t = f.tensors()[i];
    total += t.nbytes;
    rows.push_back({cat(i), t.name, ggml_type_name(t.type), shape_text(t.ne), cat(t.nbytes), cat(f.data_offset() + t.offset)});
  }
  print_table(rows, {true, false, false, false, true, true});
  std::printf("\n%zu tensors, %llu bytes of tensor data\n", f.tensors().size(), static_cast<unsigned long long>(total));
  return 0;
}

int inspect_safetensors(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  if (args.json) {
    ordered_json j;
    j["format"] = "safetensors";
    j["header_size"] = f.header_size();
    ordered_json md = ordered_json::object();
    for (const auto& [k, v] : f.metadata()) md[k] = v;
    j["metadata"] = std::move(md);
    ordered_json ts = ordered_json::array();
    for (const SafetensorsTensor& t : f.tensors()) {
      ts.push_back({{"name", t.name}, {"type", t.dtype}, {"shape", t.shape}, {"bytes", t.data.size()},
                    {"offset", t.file_offset}});
    }
    j["tensors"] = std::move(ts);
    print_json(j);
    return 0;
  }
  std::printf("%s: safetensors, header %llu bytes, %zu tensors\n", path.c_str(),
              static_cast<unsigned long long>(f.header_size()), f.tensors().size());
  if (!f.metadata().empty()) {
    std::printf("\nmetadata:\n");
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : f.metadata()) rows.push_back({k, v});
    print_table(rows, {false, false});
  }
  std::printf("\ntensors:\n");
  std::vector<std::vector<std::string>> rows{{"#", "name", "dtype", "shape", "bytes", "offset"}};
  uint64_t total = 0;
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const SafetensorsTensor& t = f.tensors()[i];
    total += t.data.size();
    rows.push_back({cat(i), t.name, t.dtype, shape_text(t.shape), cat(t.data.size()), cat(t.file_offset)});
  }
  print_table(rows, {true, false, false, false, true, true});
  std::printf("\n%zu tensors, %llu bytes of tensor data\n", f.tensors().size(), static_cast<unsigned long long>(total));
  return 0;
}

int run() {
  return detect_format(args.file) == Format::kGguf ? inspect_gguf(args.file) : inspect_safetensors(args.file);
}

CLI::App* setup(CLI::App& app) {
  CLI::App* c = app.add_subcommand("inspect", "Show the metadata and tensors of a GGUF or safetensors file");
  c->add_option("FILE", args.file, "A .gguf or .safetensors file (recognised by content)")->required();
  c->add_flag("--json", args.json, "Print one JSON object instead of tables");
  c->add_flag("--all", args.all, "Print arrays and long strings in full");
  return c;
}

const CommandRegistrar reg{Command{"inspect", setup, run, 40, ""}};

}  // namespace
}  // namespace smolvlm::cli
