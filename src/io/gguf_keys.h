// Typed reads of optional GGUF metadata for the model loaders: nullopt when the key is absent, and
// an Error "<file>: key '<key>': <problem>" when it holds the wrong type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smolvlm {

class GgufFile;

// An integer key, or a per-layer integer array whose elements are all equal (llama.cpp accepts both
// forms for feed_forward_length and the head counts).
std::optional<int64_t> gguf_int(const GgufFile& f, const std::string& key);
std::optional<double> gguf_number(const GgufFile& f, const std::string& key);  // any numeric type
std::optional<bool> gguf_bool(const GgufFile& f, const std::string& key);
std::optional<std::string> gguf_str(const GgufFile& f, const std::string& key);
std::optional<std::vector<float>> gguf_floats(const GgufFile& f, const std::string& key);

// v, which must be present and in [1, max]; otherwise an Error naming the key and, when missing,
// what needs it ("a llama model").
int64_t gguf_positive(const GgufFile& f, const std::string& key, std::optional<int64_t> v, std::string_view needed_by,
                      int64_t max = int64_t(1) << 30);

}  // namespace smolvlm
