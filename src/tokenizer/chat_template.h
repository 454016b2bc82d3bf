// SmolVLM2's chat template (spec §9) rendered natively: "<|im_start|>" once, then per message the
// capitalized role, ":" when its first content item is an image and ": " otherwise (video too), the
// items in order (text verbatim, "<image>" / "<video>" placeholders), "<end_of_utterance>\n"; and
// "Assistant:" when add_generation_prompt. (Modelfile TEMPLATE overrides come with the server.)
#pragma once

#include <string>
#include <vector>

namespace smolvlm {

struct ChatItem {
  enum class Kind { kText, kImage, kVideo };
  Kind kind = Kind::kText;
  std::string text;  // kText only
  static ChatItem make_text(std::string t) { return {Kind::kText, std::move(t)}; }
  static ChatItem image() { return {Kind::kImage, {}}; }
  static ChatItem video() { return {Kind::kVideo, {}}; }
};

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant" (any role is capitalized verbatim)
  std::vector<ChatItem> content;
  static ChatMessage text(std::string role, std::string t) { return {std::move(role), {ChatItem::make_text(std::move(t))}}; }
};

// The prompt text; images and videos appear as "<image>" / "<video>" placeholders that the
// processor expands later.
std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true);

}  // namespace smolvlm
