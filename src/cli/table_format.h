// Output helpers shared by `list` and `ps`: Ollama's byte sizes and its left-aligned tables.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace smolvlm::cli {

// Ollama's HumanBytes: decimal units, one decimal below 10 ("1.2 GB", "512 MB", "12 B").
std::string human_bytes(int64_t bytes);
// Rows of cells, each column as wide as its widest cell plus 4 spaces (the last not padded).
void print_table(const std::vector<std::vector<std::string>>& rows);
// Seconds since the epoch of an RFC 3339 time's UTC date and time (fraction and zone ignored).
std::optional<std::time_t> parse_rfc3339_utc(const std::string& s);

}  // namespace smolvlm::cli
