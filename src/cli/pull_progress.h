// Pulling a model with `ollama pull`'s progress on stderr (a bar per file on a terminal, status
// lines otherwise): POST /api/pull of the server at SMOLVLM_HOST / OLLAMA_HOST when one answers,
// else in this process into the store ($OLLAMA_MODELS or ~/.ollama/models).
#pragma once

#include <string>

namespace smolvlm::cli {

void pull_with_progress(const std::string& name, int parallel = 4);

// A name smolvlm knows how to pull (hf.co/..., HuggingFaceTB/..., smolvlm2:SIZE[-QUANT]).
bool pullable(const std::string& name);

}  // namespace smolvlm::cli
