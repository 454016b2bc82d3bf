// POST /api/pull (reference/ollama-contract.md §1.16): store/pull.h's pull, its progress streamed as
// Ollama's NDJSON lines. A client that goes away cancels the pull.
#pragma once

#include "server/routes.h"
#include "store/pull.h"

namespace smolvlm::server {

void add_pull_route(Router& r, const RouteContext& ctx);

}  // namespace smolvlm::server
