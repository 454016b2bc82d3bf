// Tokenizer::from_gguf: the tokenizer.ggml.* keys of a GGUF -> VocabSpec. Only metadata is read.
#include <string>

#include "base/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm {
namespace {

// Runs read(value of key) and prefixes any error with the key; nullptr value when absent.
template <typename F>
auto read_key(const GgufFile& f, const char* key, bool required, F read) -> decltype(read(f.get(key))) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) {
    if (required) fail("missing key '", key, "'");
    return {};
  }
  try {
    return read(*v);
  } catch (const Error& e) {
    fail(key, ": ", e.what());
  }
}

int32_t read_id(const GgufFile& f, const char* key) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return -1;
  int64_t id = 0;
  try {
    id = v->as_int();
  } catch (const Error& e) {
    fail(key, ": ", e.what());
  }
  if (id < 0 || id > INT32_MAX) fail(key, " ", id, " is out of range");
  return static_cast<int32_t>(id);
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufFile& file) {
  try {
    const std::string model =
        read_key(file, "tokenizer.ggml.model", true, [](const GgufValue& v) { return v.as_str(); });
    if (model != "gpt2") {
      fail("tokenizer.ggml.model '", model, "' is not supported (only gpt2, byte-level BPE)");
    }
    VocabSpec spec;
    spec.pre = read_key(file, "tokenizer.ggml.pre", true, [](const GgufValue& v) { return v.as_str(); });
    spec.tokens =
        read_key(file, "tokenizer.ggml.tokens", true, [](const GgufValue& v) { return v.as_str_array(); });
    // Absent types: every token normal (what llama.cpp assumes).
    spec.token_types =
        read_key(file, "tokenizer.ggml.token_type", false, [](const GgufValue& v) { return v.as_i32_array(); });
    spec.merges =
        read_key(file, "tokenizer.ggml.merges", true, [](const GgufValue& v) { return v.as_str_array(); });
    spec.bos_id = read_id(file, "tokenizer.ggml.bos_token_id");
    spec.eos_id = read_id(file, "tokenizer.ggml.eos_token_id");
    spec.pad_id = read_id(file, "tokenizer.ggml.padding_token_id");
    spec.unk_id = read_id(file, "tokenizer.ggml.unknown_token_id");
    return Tokenizer(std::move(spec));
  } catch (const Error& e) {
    fail(file.path(), ": ", e.what());
  }
}

}  // namespace smolvlm
