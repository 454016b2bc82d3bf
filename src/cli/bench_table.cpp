#include "cli/bench_table.h"

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/gguf_info.h"

namespace smolvlm::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string mib(double bytes) { return cat(fixed(bytes / (1024.0 * 1024.0), 1), " MiB"); }

struct Row {
  std::vector<std::string> cells;
};

// "| a | b |" with every column padded to its widest cell; numbers (the last column) right-aligned.
void print_rows(const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const Row& r : rows)
    for (size_t c = 0; c < r.cells.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], r.cells[c].size());
    }
  auto line = [&](const Row& r) {
    std::string s = "|";
    for (size_t c = 0; c < r.cells.size(); ++c) {
      const size_t pad = width[c] - r.cells[c].size();
      const bool right = c + 1 == r.cells.size() && c > 0;
      s.push_back(' ');
      if (right) s.append(pad, ' ');
      s.append(r.cells[c]);
      if (!right) s.append(pad, ' ');
      s.append(" |");
    }
    std::printf("%s\n", s.c_str());
  };
  line(rows[0]);
  Row sep;
  for (size_t w : width) sep.cells.push_back(std::string(w, '-'));
  line(sep);
  for (size_t i = 1; i < rows.size(); ++i) line(rows[i]);
}

}  // namespace

void print_bench_table(const Json& doc) {
  const Json& mc = doc["machine"];
  std::string peaks = cat("FMA peak ", fixed(mc.value("peak_gflops", 0.0), 0), " GFLOP/s");
  if (mc.value("peak_int8_gops", 0.0) > 0) peaks += cat(", int8 ", fixed(mc.value("peak_int8_gops", 0.0), 0), " GOP/s");
  if (mc.value("peak_bf16_gflops", 0.0) > 0) peaks += cat(", bf16 ", fixed(mc.value("peak_bf16_gflops", 0.0), 0), " GFLOP/s");
  std::printf("machine: %s, %d cores (%d logical), %d threads, %s; %s, read bandwidth %.1f GB/s\n",
              mc.value("cpu", std::string("?")).c_str(), mc.value("cores", 0), mc.value("logical_cpus", 0),
              mc.value("threads", 0), mc.value("isa", std::string("?")).c_str(), peaks.c_str(),
              mc.value("bandwidth_gbs", 0.0));
  std::vector<Row> rows = {{{"model", "type", "size", "params", "test", "result"}}};
  std::vector<std::string> notes;
  for (const Json& m : doc["models"]) {
    std::string name = m.value("name", std::string("?"));
    if (name.find('/') != std::string::npos) {  // a path: its last component
      std::filesystem::path p(name);
      if (p.filename().empty()) p = p.parent_path();
      name = p.filename().string();
    }
    if (m.contains("error")) {
      rows.push_back({{name, "", "", "", "error", m["error"].get<std::string>()}});
      continue;
    }
    const std::string type = m.value("type", std::string("?"));
    const std::string size = mib(m.value("size_bytes", 0.0));
    const std::string params = human_number(m.value("params", uint64_t{0}));
    auto row = [&](const std::string& test, const std::string& result) {
      rows.push_back({{name, type, size, params, test, result}});
    };
    const std::string pp_key = cat("pp", m.value("n_prompt", 0)), tg_key = cat("tg", m.value("n_gen", 0));
    for (const auto& [key, range] : {std::pair{pp_key, "pp_min_max"}, std::pair{tg_key, "tg_min_max"}}) {
      if (!m.contains(key)) continue;
      std::string r = cat(fixed(m[key].get<double>(), 2), " t/s");
      if (m.contains(range))
        r += cat(" (", std::lround(m[range][0].get<double>()), "-", std::lround(m[range][1].get<double>()), ")");
      row(key, r);
    }
    std::string bound = cat(fixed(m.value("bound_tg", 0.0), 2), " t/s");
    if (m.contains("tg_of_bound")) bound += cat(" (", std::lround(100 * m["tg_of_bound"].get<double>()), "% reached)");
    row("bound tg", bound);
    if (m.contains("encode_tile_s")) {
      row("encode tile", cat(fixed(m["encode_tile_s"].get<double>(), 3), " s (",
                             std::lround(100 * m.value("tile_of_peak", 0.0)), "% of ",
                             m.value("peak_kind", std::string("FMA")), " peak)"));
      row("encode image", cat(fixed(m["encode_image_s"].get<double>(), 3), " s (", m.value("image_frames", 0),
                              " tiles)"));
      row("ttft", cat(fixed(m["ttft_s"].get<double>(), 3), " s (", m.value("image_prompt_tokens", 0), " tokens)"));
    }
    row("peak rss", cat(fixed(m.value("peak_rss_mib", 0.0), 1), " MiB"));
    for (const Json& d : m.value("sweep_depth", Json::array())) {
      std::string r = cat(fixed(d["tg"].get<double>(), 2), " t/s");
      if (d.contains("tg_of_bound"))
        r += cat(" (", std::lround(100 * d["tg_of_bound"].get<double>()), "% of ", fixed(d["bound_tg"].get<double>(), 1),
                 ")");
      row(cat(tg_key, " @ d", d["depth"].get<int64_t>()), r);
    }
    for (const Json& e : m.value("sweep_image", Json::array())) {
      const int max_tiles = e["max_tiles"].get<int>();
      row(cat("image ", e["width"].get<int>(), "x", e["height"].get<int>(), max_tiles ? cat(" max ", max_tiles) : ""),
          cat(e["tiles"].get<int64_t>(), e["tiles"].get<int64_t>() == 1 ? " frame, " : " frames, ", e["image_tokens"].get<int64_t>(), " tok, encode ",
              fixed(e["encode_s"].get<double>(), 2), " s, ttft ", fixed(e["ttft_s"].get<double>(), 2), " s"));
    }
    notes.push_back(cat(name, ": ", m.value("config", std::string()), "; sums in the ",
                        m.value("numerics", std::string("fast")), " order; bound tg = ",
                        fixed(m.value("bandwidth_gbs", 0.0), 2), " GB/s / ",
                        fixed(m.value("weight_bytes_per_token", 0.0) / 1e6, 1), " MB of weights per token",
                        m.value("peak_rss_reset", true) ? "" : "; peak rss includes the 512 MiB bandwidth buffer"));
  }
  print_rows(rows);
  for (const std::string& n : notes) std::printf("%s\n", n.c_str());
}

}  // namespace smolvlm::cli
