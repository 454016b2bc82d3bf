// Ollama's prompt construction from a Go template (see ollama_prompt.h).
#include "template/ollama_prompt.h"

namespace smolvlm {
namespace {

using json = nlohmann::json;

json message_value(const TemplateMessage& m) {
  return {{"Role", m.role},         {"Content", m.content},   {"Thinking", m.thinking},
          {"Images", m.media},      {"ToolCalls", m.tool_calls}, {"ToolName", m.tool_name},
          {"ToolCallID", ""}};
}

// A marker no template output contains: where the legacy path's last run is cut.
const std::string kCut = "\x1f\x1e<cut-after-response>\x1e\x1f";

std::string legacy(const GoTemplate& t, const std::vector<TemplateMessage>& msgs) {
  std::string out, system, prompt, response;
  auto run = [&](bool last) {
    const json v = {{"System", system}, {"Prompt", prompt}, {"Response", last ? response + kCut : response},
                    {"Suffix", ""},     {"Think", false},   {"ThinkLevel", ""}, {"IsThinkSet", false}};
    std::string s = t.execute(v);
    if (last) {
      const size_t at = s.find(kCut);
      if (at != std::string::npos) s.resize(at);
    }
    out += s;
    system.clear();
    prompt.clear();
    response.clear();
  };
  for (const TemplateMessage& m : msgs) {
    if (m.role == "system") {
      if (!prompt.empty() || !response.empty()) run(false);
      system = m.content;
    } else if (m.role == "user") {
      if (!response.empty()) run(false);
      prompt = m.content;
    } else if (m.role == "assistant") {
      response = m.content;
    }
  }
  run(true);
  return out;
}

}  // namespace

std::string place_media(const std::string& content, const std::vector<std::string>& markers) {
  std::string prefix, text = content;
  for (const std::string& marker : markers) {
    const size_t at = text.find("[img]");
    if (at == std::string::npos) {
      prefix += marker;
    } else {
      text.replace(at, 5, marker);
    }
  }
  return prefix + text;
}

GoTemplate parse_ollama_template(const std::string& text) {
  GoTemplate t = GoTemplate::parse(text);
  if (!t.references("messages") && !t.references("response")) t = GoTemplate::parse(text + "{{ .Response }}");
  return t;
}

std::string render_ollama_template(const GoTemplate& t, const std::string& system,
                                   const std::vector<TemplateMessage>& messages) {
  std::vector<TemplateMessage> msgs;
  if (!system.empty() && (messages.empty() || messages.front().role != "system"))
    msgs.push_back(TemplateMessage::text("system", system));
  for (const TemplateMessage& m : messages) {
    TemplateMessage placed = m;
    placed.content = place_media(m.content, m.media);
    // Ollama's collate: consecutive same-role messages merge (tool results stay apart).
    if (!msgs.empty() && msgs.back().role == placed.role && placed.role != "tool") {
      msgs.back().content += "\n\n" + placed.content;
      msgs.back().media.insert(msgs.back().media.end(), placed.media.begin(), placed.media.end());
      continue;
    }
    msgs.push_back(std::move(placed));
  }
  if (!t.references("messages")) return legacy(t, msgs);

  std::string joined;
  json list = json::array();
  for (const TemplateMessage& m : msgs) {
    if (m.role == "system") joined += (joined.empty() ? "" : "\n\n") + m.content;
    list.push_back(message_value(m));
  }
  const json v = {{"System", joined}, {"Messages", list}, {"Tools", json::array()}, {"Response", ""},
                  {"Think", false},   {"ThinkLevel", ""}, {"IsThinkSet", false}};
  return t.execute(v);
}

std::string render_ollama_generate(const GoTemplate& t, const std::string& system, const std::string& prompt,
                                   const std::string& suffix) {
  const json v = {{"System", system}, {"Prompt", prompt}, {"Suffix", suffix}, {"Response", ""},
                  {"Think", false},   {"ThinkLevel", ""}, {"IsThinkSet", false}};
  return t.execute(v);
}

}  // namespace smolvlm
