// Ollama's prompt rules around a Go template (template/ollama_prompt.h): image placement, the
// model's SYSTEM, collation of consecutive roles, .System, the legacy .Prompt/.Response path and
// the direct generate path (ollama-contract.md §1.3, §1.4, §5).
#include <gtest/gtest.h>

#include "template/ollama_prompt.h"

namespace smolvlm {
namespace {

TEST(OllamaPrompt, MediaGoInFrontOrAtEachImgPlaceholder) {
  EXPECT_EQ(place_media("text", {}), "text");
  EXPECT_EQ(place_media("text", {"<image>", "<image>"}), "<image><image>text");
  EXPECT_EQ(place_media("a [img] b [img] c", {"<image>", "<video>"}), "a <image> b <video> c");
  // More images than placeholders: the rest go in front; unused placeholders stay.
  EXPECT_EQ(place_media("a [img] b", {"<image>", "<video>"}), "<video>a <image> b");
  EXPECT_EQ(place_media("[img] [img]", {"<image>"}), "<image> [img]");
}

TEST(OllamaPrompt, MessagesPathCollatesAndJoinsSystem) {
  const GoTemplate t = parse_ollama_template(
      "[{{ .System }}]{{ range .Messages }}{{ .Role }}={{ .Content }}|{{ end }}{{ len .Tools }}{{ .Response }}");
  const std::vector<TemplateMessage> m = {
      TemplateMessage::text("system", "S1"),     TemplateMessage::text("system", "S2"),
      TemplateMessage::text("user", "u1"),       TemplateMessage::with_images("user", "u2", 1),
      TemplateMessage::text("tool", "t1"),       TemplateMessage::text("tool", "t2"),
      TemplateMessage::text("assistant", "a1")};
  EXPECT_EQ(render_ollama_template(t, "model system", m),
            "[S1\n\nS2]system=S1\n\nS2|user=u1\n\n<image>u2|tool=t1|tool=t2|assistant=a1|0");
  // The model's SYSTEM only when the conversation does not start with one.
  EXPECT_EQ(render_ollama_template(t, "model system", {TemplateMessage::text("user", "u")}),
            "[model system]system=model system|user=u|0");
}

TEST(OllamaPrompt, LegacyTemplateRunsPerTurnAndCutsAfterResponse) {
  const GoTemplate t = parse_ollama_template(
      "{{ if .System }}<s>{{ .System }}</s>{{ end }}{{ if .Prompt }}<u>{{ .Prompt }}</u>{{ end }}<a>{{ .Response }}</a>\n");
  EXPECT_FALSE(t.references("messages"));
  const std::vector<TemplateMessage> m = {TemplateMessage::text("user", "q1"), TemplateMessage::text("assistant", "r1"),
                                          TemplateMessage::text("user", "q2")};
  EXPECT_EQ(render_ollama_template(t, "sys", m), "<s>sys</s><u>q1</u><a>r1</a>\n<u>q2</u><a>");
  // A final assistant turn is continued: the cut keeps its text.
  EXPECT_EQ(render_ollama_template(t, "", {TemplateMessage::text("user", "q"), TemplateMessage::text("assistant", "par")}),
            "<u>q</u><a>par");
}

TEST(OllamaPrompt, TemplateWithoutResponseGetsItAppended) {
  const GoTemplate t = parse_ollama_template("{{ .Prompt }}");
  EXPECT_TRUE(t.references("response"));
  EXPECT_EQ(render_ollama_template(t, "", {TemplateMessage::text("user", "hello")}), "hello");
  // No template at all is "{{ .Prompt }}" in Ollama.
  EXPECT_EQ(render_ollama_generate(parse_ollama_template("{{ .System }}|{{ .Prompt }}|{{ .Suffix }}|{{ .Response }}"),
                                   "s", "p", "x"),
            "s|p|x|");
}

}  // namespace
}  // namespace smolvlm
