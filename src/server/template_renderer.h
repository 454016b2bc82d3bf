// The Modelfile TEMPLATE seam filled with src/template's Go-template engine (Ollama's rendering).
#pragma once

#include "server/generation.h"

namespace smolvlm::server {

// Renders with parse_ollama_template + render_ollama_template: system messages join .System,
// each message's images become "<image>" markers placed as Ollama places them.
TemplateRenderer ollama_template_renderer();

}  // namespace smolvlm::server
