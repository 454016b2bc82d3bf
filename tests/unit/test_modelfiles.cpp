// The shipped Modelfiles (modelfiles/*.Modelfile): each parses with the store's Modelfile parser,
// names the GGUF files docs/CONVERSION.md writes, sets greedy decoding, the trained context and
// the <end_of_utterance> stop, and its Go TEMPLATE renders, through Ollama's prompt rules
// (template/ollama_prompt.h), exactly the string the native template render_chat() renders.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/modelfile.h"
#include "support/testing.h"
#include "template/ollama_prompt.h"
#include "tokenizer/chat_template.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using K = ChatItem::Kind;

using testing::read_text;

fs::path modelfile_dir() { return testing::repo_root() / "modelfiles"; }

// Our native message as Ollama receives it: the text with an "[img]" where each image or video
// is, and one marker per attachment (Ollama's placement puts them back at the "[img]"s).
TemplateMessage to_ollama(const ChatMessage& m) {
  TemplateMessage t = TemplateMessage::text(m.role, "");
  for (const ChatItem& item : m.content) {
    if (item.kind == K::kText) {
      t.content += item.text;
    } else {
      t.content += "[img]";
      t.media.push_back(item.kind == K::kImage ? "<image>" : "<video>");
    }
  }
  return t;
}

std::vector<TemplateMessage> to_ollama(const std::vector<ChatMessage>& ms) {
  std::vector<TemplateMessage> out;
  for (const ChatMessage& m : ms) out.push_back(to_ollama(m));
  return out;
}

ChatMessage msg(std::string role, std::vector<ChatItem> items) { return {std::move(role), std::move(items)}; }
ChatItem txt(std::string s) { return ChatItem::make_text(std::move(s)); }

// Conversations ending with a user turn: the template must add "Assistant:" as render_chat does.
std::vector<std::vector<ChatMessage>> conversations() {
  return {
      {msg("user", {ChatItem::image(), txt("Can you describe this image?")})},
      {msg("user", {txt("What do these images show?"), ChatItem::image(), ChatItem::image()}),
       ChatMessage::text("assistant", " The first image shows the statue of Liberty. The second one a dog."),
       ChatMessage::text("user", "And who is that?")},
      {ChatMessage::text("system", "You are a careful assistant.\nAnswer briefly."),
       ChatMessage::text("user", "Hi"), ChatMessage::text("assistant", " Hello!"),
       ChatMessage::text("user", "What is 2+2?")},
      {ChatMessage::text("system", "Be brief."),
       msg("user", {ChatItem::image(), ChatItem::image(), txt("Which is bigger?")})},
      {msg("user", {txt("Compare "), ChatItem::image(), txt(" with "), ChatItem::image(), txt(".")})},
      {msg("user", {ChatItem::video(), txt("Describe this video.")})},
      {msg("user", {txt("")})},
      {ChatMessage::text("user", "Look up the weather."), ChatMessage::text("assistant", " Calling the tool."),
       ChatMessage::text("tool", "{\"temp\": 21}"), ChatMessage::text("user", "So?")},
      {},
  };
}

std::vector<fs::path> shipped() {
  std::vector<fs::path> out;
  if (fs::is_directory(modelfile_dir()))
    for (const auto& e : fs::directory_iterator(modelfile_dir()))
      if (e.path().extension() == ".Modelfile") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Modelfiles, NineFilesNameTheConvertedGgufsAndSetTheDefaults) {
  struct Model {
    std::string tag, name;
    int ctx;
  };
  const Model models[] = {{"256m", "SmolVLM2-256M-Video-Instruct", 8192},
                          {"500m", "SmolVLM2-500M-Video-Instruct", 8192},
                          {"2.2b", "SmolVLM2-2.2B-Instruct", 16384}};
  ASSERT_EQ(shipped().size(), 9u);
  for (const Model& m : models) {
    for (const std::string q : {"Q4_K_M", "Q5_K_M", "Q8_0"}) {
      std::string lower = q;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      const fs::path p = modelfile_dir() / ("smolvlm2-" + m.tag + "-" + lower + ".Modelfile");
      SCOPED_TRACE(p.string());
      ASSERT_TRUE(fs::exists(p));
      const Modelfile mf = parse_modelfile(read_text(p), p.filename().string());
      EXPECT_EQ(mf.from, (std::vector<std::string>{"./" + m.name + "-" + q + ".gguf", "./mmproj-" + m.name + "-F16.gguf"}));
      EXPECT_EQ(mf.parameters.value("num_ctx", 0), m.ctx);
      EXPECT_EQ(mf.parameters.value("temperature", -1.0), 0.0);
      EXPECT_EQ(mf.parameters.value("stop", nlohmann::json()), nlohmann::json::array({"<end_of_utterance>"}));
      ASSERT_TRUE(mf.template_text.has_value());
      EXPECT_TRUE(mf.warnings.empty());
    }
  }
}

TEST(Modelfiles, TemplateRendersWhatTheNativeChatTemplateRenders) {
  const auto files = shipped();
  ASSERT_FALSE(files.empty());
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    const GoTemplate t = parse_ollama_template(*parse_modelfile(read_text(p)).template_text);
    EXPECT_TRUE(t.references("messages"));
    for (const auto& conv : conversations()) {
      const std::string want = render_chat(conv, true);
      EXPECT_EQ(render_ollama_template(t, "", to_ollama(conv)), want);
    }
  }
}

TEST(Modelfiles, ImagesSentTheOllamaWayLandWhereTheNativeTemplatePutsThem) {
  const fs::path p = modelfile_dir() / "smolvlm2-500m-q8_0.Modelfile";
  const GoTemplate t = parse_ollama_template(*parse_modelfile(read_text(p)).template_text);
  // Plain Ollama requests: "images" with no "[img]" in the text go in front of the content.
  EXPECT_EQ(render_ollama_template(t, "", {TemplateMessage::with_images("user", "Can you describe this image?", 1)}),
            render_chat({msg("user", {ChatItem::image(), txt("Can you describe this image?")})}));
  EXPECT_EQ(render_ollama_template(t, "", {TemplateMessage::with_images("user", "Two?", 2)}),
            "<|im_start|>User:<image><image>Two?<end_of_utterance>\nAssistant:");
  // The model's SYSTEM goes in front as a system turn (and not when the request has its own).
  EXPECT_EQ(render_ollama_template(t, "Be brief.", {TemplateMessage::text("user", "Hi")}),
            render_chat({ChatMessage::text("system", "Be brief."), ChatMessage::text("user", "Hi")}));
  EXPECT_EQ(render_ollama_template(t, "Ignored.", {TemplateMessage::text("system", "Mine."), TemplateMessage::text("user", "Hi")}),
            render_chat({ChatMessage::text("system", "Mine."), ChatMessage::text("user", "Hi")}));
}

TEST(Modelfiles, FinalAssistantMessageStaysOpenForPrefill) {
  const fs::path p = modelfile_dir() / "smolvlm2-256m-q4_k_m.Modelfile";
  const GoTemplate t = parse_ollama_template(*parse_modelfile(read_text(p)).template_text);
  const std::vector<ChatMessage> conv = {msg("user", {ChatItem::image(), txt("Describe.")}),
                                         ChatMessage::text("assistant", " The image shows")};
  std::string want = render_chat(conv, false);
  const std::string eou = "<end_of_utterance>\n";
  ASSERT_EQ(want.substr(want.size() - eou.size()), eou);
  want.resize(want.size() - eou.size());
  EXPECT_EQ(render_ollama_template(t, "", to_ollama(conv)), want);
}

}  // namespace
}  // namespace smolvlm
