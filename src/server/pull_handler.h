// POST /api/pull (reference/ollama-contract.md §1.16): store/pull.h's pull, its progress streamed as
// Ollama's NDJSON lines. A client that goes away cancels the pull.
#pragma once

#include "server/routes.h"
#include "store/pull.h"

namespace smolvlm::server {

void add_pull_route(Router& r, const RouteContext& ctx);

// The server does not link the converter (src/convert): HuggingFaceTB/... safetensors names are
// answered with 400 unless the program sets one here (once, before serving).
void set_pull_converter(CheckpointConverter convert);

}  // namespace smolvlm::server
