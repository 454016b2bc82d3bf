#include "tokenizer/chat_template.h"

#include <cctype>

namespace smolvlm {
namespace {

// Jinja's `capitalize`: first character upper case, the rest lower case.
std::string capitalize(const std::string& s) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    out[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

}  // namespace

std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out = "<|im_start|>";
  for (const ChatMessage& m : messages) {
    out += capitalize(m.role);
    // Only an image first drops the space (a video first keeps ": ", as the reference template does).
    const bool image_first = !m.content.empty() && m.content.front().kind == ChatItem::Kind::kImage;
    out += image_first ? ":" : ": ";
    for (const ChatItem& item : m.content) {
      switch (item.kind) {
        case ChatItem::Kind::kText: out += item.text; break;
        case ChatItem::Kind::kImage: out += "<image>"; break;
        case ChatItem::Kind::kVideo: out += "<video>"; break;
      }
    }
    out += "<end_of_utterance>\n";
  }
  if (add_generation_prompt) out += "Assistant:";
  return out;
}

}  // namespace smolvlm
