// The interactive chat of `smolvlm run` (like `ollama run`): ">>> " prompt, multi-line input between
// """ ... """, /bye, /clear, /set, /show, /?; Ctrl-C stops a reply (or the line being typed), Ctrl-D
// or a closed stdin ends the chat.
#pragma once

#include "cli/chat_backend.h"

namespace smolvlm::cli {

// Returns the process exit code (0).
int run_chat_repl(ChatBackend& chat);

}  // namespace smolvlm::cli
