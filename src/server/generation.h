// From an API request to a generation on a leased slot: the prompt (chat template or raw text,
// base64-decoded images encoded by the model's projector), the run with its text streamed piece by
// piece, and Ollama's metrics in nanoseconds.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/session.h"
#include "server/api_types.h"
#include "server/model_manager.h"
#include "tokenizer/chat_template.h"

namespace smolvlm::server {

// A message as the APIs give it: images (and our extension, videos) already base64-decoded.
struct InputMessage {
  std::string role;
  std::string content;
  std::vector<std::vector<uint8_t>> images;
  std::vector<std::vector<uint8_t>> videos = {};  // after the images in the prompt
};

// The seam for Modelfile TEMPLATEs (Go templates, src/template): renders the messages (images as
// "<image>" placeholders in ChatItems) to prompt text. generate_override: /api/generate with an
// explicit `template` (one run with .System and .Prompt, the last message). When the server has no
// renderer, a model's TEMPLATE is ignored and SmolVLM2's native chat template is used; a request
// `template` is then answered with 500 "template overrides are not supported yet".
using TemplateRenderer = std::function<std::string(const std::string& template_text,
                                                   const std::vector<ChatMessage>& messages, bool generate_override)>;

// The prompt for a conversation: `messages` rendered with `template_text` (empty: native) and a
// generation prompt; images encoded with at most max_tiles tiles. `context` ids (generate's
// deprecated field) are put in front. Throws ApiError 400 for images on a model without a
// projector or bytes that are not an image.
Prompt chat_prompt(ModelManager::Lease& lease, const std::vector<InputMessage>& messages,
                   const std::string& template_text, const TemplateRenderer* renderer, int max_tiles,
                   const std::vector<int32_t>& context = {}, bool generate_override = false);
// raw: `text` tokenized as is; its "<image>" placeholders take the images in order.
Prompt raw_prompt(ModelManager::Lease& lease, const std::string& text,
                  const std::vector<std::vector<uint8_t>>& images, int max_tiles);

// Generates on the lease's session. on_piece gets the reply's text (leading whitespace removed);
// returning false cancels, as does *cancel. Errors (prompt too long...) -> ApiError 500.
GenerateResult run_generation(ModelManager::Lease& lease, const Prompt& prompt, const GenerateOptions& options,
                              const std::function<bool(std::string_view)>& on_piece,
                              const std::atomic<bool>* cancel = nullptr);

// Ollama's final-chunk fields: done_reason and the metrics (omitted when zero), in nanoseconds.
// prompt_eval_count counts the prompt tokens evaluated (not those reused from the cache).
void add_metrics(nlohmann::json& out, const GenerateResult& r, double total_seconds, double load_seconds);
// Our extension of the final chunk, when the request's images / videos were encoded (not cached):
// media_encode_count, media_encode_frames (tiles and video frames), media_encode_duration (ns; it is
// part of total_duration).
void add_media_metrics(nlohmann::json& out, const Prompt& p);
const char* ollama_done_reason(const GenerateResult& r);  // "stop" | "length"

}  // namespace smolvlm::server
