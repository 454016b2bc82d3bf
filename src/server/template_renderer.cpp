#include "server/template_renderer.h"

#include "template/ollama_prompt.h"

namespace smolvlm::server {

TemplateRenderer ollama_template_renderer() {
  return [](const std::string& template_text, const std::vector<ChatMessage>& messages, bool generate_override) {
    const GoTemplate t = parse_ollama_template(template_text);
    std::vector<TemplateMessage> tm;
    for (const ChatMessage& m : messages) {
      TemplateMessage t = TemplateMessage::text(m.role, "");
      for (const ChatItem& item : m.content) {
        if (item.kind == ChatItem::Kind::kText) t.content += item.text;
        else t.media.push_back(item.kind == ChatItem::Kind::kVideo ? "<video>" : "<image>");
      }
      tm.push_back(std::move(t));
    }
    if (!generate_override) return render_ollama_template(t, "", tm);
    // /api/generate with `template`: .System from the system messages, .Prompt the last message.
    std::string system;
    for (const TemplateMessage& m : tm)
      if (m.role == "system") system += (system.empty() ? "" : "\n\n") + m.content;
    const TemplateMessage& last = tm.back();
    return render_ollama_generate(t, system, place_media(last.content, last.media), "");
  };
}

}  // namespace smolvlm::server
