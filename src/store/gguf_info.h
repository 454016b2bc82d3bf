// What the store needs to know about a GGUF: its role in a manifest (model / projector / adapter,
// Ollama's create rules, reference/ollama-contract.md §4 "How create decides"), the config-blob
// fields (§7.4) and the model_info / projector_info maps of /api/show (§1.12).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace smolvlm {

class GgufFile;

enum class GgufRole { Model, Projector, Adapter };
GgufRole gguf_role(const GgufFile& f);
const char* gguf_role_media_type(GgufRole r);

// Sum of every tensor's element count (Ollama patches general.parameter_count with it).
uint64_t gguf_parameter_count(const GgufFile& f);
// general.file_type as Ollama names it ("Q8_0", "Q4_K_M", "F16", ...; "unknown" when absent).
std::string gguf_file_type_name(const GgufFile& f);
// Ollama's format.HumanNumber: 8B, 3.2B, 256M, 134.52M, 12K, 999.
std::string human_number(uint64_t n);

// The GGUF's key/values as Ollama's show reports them: general.parameter_count set from the
// tensors, general.name and tokenizer.chat_template dropped, arrays longer than 5 replaced by []
// unless verbose; float32 values printed at float32 precision.
nlohmann::json gguf_model_info(const GgufFile& f, bool verbose);

}  // namespace smolvlm
