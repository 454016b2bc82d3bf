// The table `smolvlm bench` prints: the machine, then for every model a block of rows (pp, tg, the
// decode bound, the image figures when measured, peak RSS) and a footnote line per model.
#pragma once

#include <nlohmann/json.hpp>

namespace smolvlm::cli {

// `doc` is bench's JSON document: {"machine": {...}, "settings": {...}, "models": [{...}, ...]}.
void print_bench_table(const nlohmann::ordered_json& doc);

}  // namespace smolvlm::cli
