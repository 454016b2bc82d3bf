// The prompt Ollama builds from a Modelfile TEMPLATE (ollama-contract.md §1.3, §1.4, §5): the
// values it gives the Go template for /api/chat and /api/generate, and where images go.
//
// Images: Ollama puts one marker per attached image at the front of the message's content, or,
// when the content holds literal "[img]" placeholders, replaces them one by one in order (a
// later image with no "[img]" left goes to the front). Ollama's marker is "[img-N]"; ours is the
// model's placeholder, "<image>" for SmolVLM2 (or "<video>" for a video), which the processor
// expands later. So a Modelfile TEMPLATE sees images inside .Content, exactly where
// render_chat() would put them, and can test whether a message starts with one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "template/go_template.h"

namespace smolvlm {

struct TemplateMessage {
  std::string role;                // "system" | "user" | "assistant" | "tool" (lower case, as Ollama)
  std::string content;             // text; may hold "[img]" placeholders
  std::vector<std::string> media;  // one marker per attachment, in order: "<image>", "<video>"
  std::string thinking;
  std::string tool_name;
  nlohmann::json tool_calls = nlohmann::json::array();  // [{"function":{"name","arguments"}}]

  static TemplateMessage text(std::string role, std::string content) { return {std::move(role), std::move(content), {}, {}, {}}; }
  static TemplateMessage with_images(std::string role, std::string content, size_t n) {
    return {std::move(role), std::move(content), std::vector<std::string>(n, "<image>"), {}, {}};
  }
};

// Ollama's placement of a message's media markers in its content (see above).
std::string place_media(const std::string& content, const std::vector<std::string>& markers);

// Ollama's template.Parse: a template that references neither .Messages nor .Response gets
// "{{ .Response }}" appended. Throws Error on a syntax error.
GoTemplate parse_ollama_template(const std::string& text);

// The prompt for /api/chat (and /api/generate without suffix or template override, whose
// messages are [system] + history + user(prompt)): `system` (the model's SYSTEM or the request's)
// goes in front unless the first message is a system message. Media markers are placed, then
// Ollama's collate merges consecutive same-role messages (except "tool") with "\n\n" and joins
// every system message into .System. A template using .Messages runs once with .System,
// .Messages[] (.Role .Content .Thinking .Images .ToolCalls .ToolName), .Tools (empty),
// .Response "" and .Think false; any other template takes the legacy path: it runs once per
// user/assistant turn with .System .Prompt .Response, the last run cut after .Response.
std::string render_ollama_template(const GoTemplate& t, const std::string& system,
                                   const std::vector<TemplateMessage>& messages);

// /api/generate with a suffix or an explicit `template`: one run with .Prompt .Suffix .System
// and .Response "".
std::string render_ollama_generate(const GoTemplate& t, const std::string& system, const std::string& prompt,
                                   const std::string& suffix);

}  // namespace smolvlm
