// SmolVLM2's chat template: exact strings from spec §9 (transformers' processor test and the hub
// template), and the token ids those strings give with the real tokenizer.
#include <gtest/gtest.h>


#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "support/testing.h"
#include "unit/test_tokenizer_util.h"

namespace smolvlm {
namespace {

using K = ChatItem::Kind;

TEST(ChatTemplate, ImageFirstUsesColonWithoutSpace) {
  const std::vector<ChatMessage> m = {
      {"user", {ChatItem::image(), ChatItem::make_text("Can you describe this image?")}}};
  EXPECT_EQ(render_chat(m), "<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\nAssistant:");
}

TEST(ChatTemplate, TextFirstMultiTurnFromTheTransformersTest) {
  const std::vector<ChatMessage> m = {
      {"user", {ChatItem::make_text("What do these images show?"), ChatItem::image(), ChatItem::image()}},
      ChatMessage::text("assistant", "The first image shows the statue of Liberty in New York. The second image "
                                     "picture depicts Idefix, the dog of Obelix in Asterix and Obelix."),
      ChatMessage::text("user", "And who is that?"),
  };
  EXPECT_EQ(render_chat(m),
            "<|im_start|>User: What do these images show?<image><image><end_of_utterance>\n"
            "Assistant: The first image shows the statue of Liberty in New York. The second image picture depicts "
            "Idefix, the dog of Obelix in Asterix and Obelix.<end_of_utterance>\n"
            "User: And who is that?<end_of_utterance>\nAssistant:");
}

TEST(ChatTemplate, SystemTurnRolesCapitalizedAndNoGenerationPrompt) {
  const std::vector<ChatMessage> m = {ChatMessage::text("SYSTEM", "Be brief."), ChatMessage::text("user", "Hi")};
  EXPECT_EQ(render_chat(m, false), "<|im_start|>System: Be brief.<end_of_utterance>\nUser: Hi<end_of_utterance>\n");
  EXPECT_EQ(render_chat({}, true), "<|im_start|>Assistant:");
}

TEST(ChatTemplate, VideoPlaceholderKeepsTheSpace) {
  // DEFAULT_CHAT_TEMPLATE only drops the space for an image first.
  const std::vector<ChatMessage> m = {{"user", {ChatItem::video(), ChatItem::make_text("What happens?")}}};
  EXPECT_EQ(render_chat(m), "<|im_start|>User: <video>What happens?<end_of_utterance>\nAssistant:");
}

TEST(ChatTemplate, RealTokenizerIdsOfTheTemplatePieces) {
  SMOLVLM_REQUIRE_SHARED(std::string(testing::kRealTokenizerDir) + "/tokenizer.json");
  const Tokenizer& tok = testing::real_tokenizer();
  // spec §9: "<|im_start|>User:" -> [1, 11126, 42]; "<end_of_utterance>\nAssistant:" -> [49279, 198, 9519, 9531, 42]
  const std::string text = render_chat({{"user", {ChatItem::image()}}});
  const std::vector<int32_t> ids = tok.encode(text);
  const std::vector<int32_t> want = {1, 11126, 42, 49190, 49279, 198, 9519, 9531, 42};
  EXPECT_EQ(ids, want) << text;
  const std::vector<int32_t> q = tok.encode(render_chat({ChatMessage::text("user", "What color is the car?")}));
  const std::vector<int32_t> want_q = {1, 11126, 42, 1812, 2380, 314, 260, 1076, 47, 49279, 198, 9519, 9531, 42};
  EXPECT_EQ(q, want_q);
}

}  // namespace
}  // namespace smolvlm
