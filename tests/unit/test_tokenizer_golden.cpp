// The tokenizer against the golden files: the real SmolVLM tokenizer on the 170 llama.cpp / Python
// reference cases and the decode cases, the spec §11 ids, the synthetic tokenizers of the tiny
// golden GGUFs (via from_gguf), and the streaming decoder on all of them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "io/gguf.h"
#include "test_tokenizer_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;
using nlohmann::json;

std::string show(const std::string& s) { return json(s).dump(); }  // JSON-escaped, for messages

std::vector<int32_t> ids_of(const json& j) { return j.get<std::vector<int32_t>>(); }

// Every push is valid UTF-8 (no U+FFFD unless the full decode has one there) and all pushes plus
// flush equal decode(ids).
void expect_stream_equals_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip,
                                 const std::string& what) {
  TokenStreamDecoder dec(tok, skip);
  std::string streamed;
  for (const int32_t id : ids) streamed += dec.push(id);
  streamed += dec.flush();
  EXPECT_EQ(streamed, tok.decode(ids, skip)) << what << " skip_special=" << skip;
}

void check_encode_cases(const char* file) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  SMOLVLM_REQUIRE_SHARED(std::string("golden/tokenizer/") + file);
  const Tokenizer& tok = real_tokenizer();
  const json cases = read_json_utf8(std::string("golden/tokenizer/") + file)["cases"];
  ASSERT_EQ(cases.size(), 170u);
  int n_ok = 0;
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int32_t> want = ids_of(c["ids"]);
    const std::vector<int32_t> got = tok.encode(text);
    EXPECT_EQ(got, want) << c["id"].get<std::string>() << " " << show(text);
    n_ok += got == want;
    if (c.contains("tokens") && c["tokens"].is_array()) {  // null for cases over 64 tokens
      std::vector<std::string> texts;
      for (const int32_t id : got) texts.push_back(tok.token_text(id));
      EXPECT_EQ(texts, c["tokens"].get<std::vector<std::string>>()) << c["id"].get<std::string>();
    }
    if (c.value("decode_roundtrip_exact", false)) {
      EXPECT_EQ(tok.decode(want), text) << c["id"].get<std::string>();
    }
  }
  EXPECT_EQ(n_ok, 170);
}

TEST(TokenizerGolden, LlamaCppCases) { check_encode_cases("llamacpp_cases.json"); }
TEST(TokenizerGolden, PythonReferenceCases) { check_encode_cases("pyref_cases.json"); }

// The two cases whose text has bytes without a token: encoding drops them, so decode differs.
TEST(TokenizerGolden, DroppedBytesDoNotRoundTrip) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  SMOLVLM_REQUIRE_SHARED("golden/tokenizer/pyref_cases.json");
  const Tokenizer& tok = real_tokenizer();
  int n_inexact = 0;
  const json cases = read_json_utf8("golden/tokenizer/pyref_cases.json")["cases"];
  for (const json& c : cases) {
    if (c["decode_roundtrip_exact"].get<bool>()) continue;
    ++n_inexact;
    const std::string text = c["text"].get<std::string>();
    EXPECT_NE(tok.decode(tok.encode(text)), text) << c["id"].get<std::string>();
  }
  EXPECT_EQ(n_inexact, 2);
}

TEST(TokenizerGolden, DecodeCases) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  SMOLVLM_REQUIRE_SHARED("golden/tokenizer/decode_cases.json");
  const Tokenizer& tok = real_tokenizer();
  const json cases = read_json_utf8("golden/tokenizer/decode_cases.json")["cases"];
  ASSERT_EQ(cases.size(), 19u);
  for (const json& c : cases) {
    const std::vector<int32_t> ids = ids_of(c["ids"]);
    const std::string what = c["description"].get<std::string>();
    EXPECT_EQ(tok.decode(ids, false), c["text_keep_special"].get<std::string>()) << what;
    EXPECT_EQ(tok.decode(ids, true), c["text_skip_special"].get<std::string>()) << what;
    const auto tokens = c["tokens"].get<std::vector<std::string>>();
    ASSERT_EQ(tokens.size(), ids.size()) << what;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(tok.token_text(ids[i]), tokens[i]) << what << " #" << i;
      EXPECT_EQ(tok.find_token(tokens[i]), ids[i]) << what << " #" << i;
    }
    expect_stream_equals_decode(tok, ids, false, what);
    expect_stream_equals_decode(tok, ids, true, what);
  }
}

TEST(TokenizerGolden, StreamingEqualsDecodeOnAllCases) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  SMOLVLM_REQUIRE_SHARED("golden/tokenizer/pyref_cases.json");
  const Tokenizer& tok = real_tokenizer();
  int n_split_chars = 0;  // cases where some token ends inside a UTF-8 character
  const json cases = read_json_utf8("golden/tokenizer/pyref_cases.json")["cases"];
  for (const json& c : cases) {
    const std::vector<int32_t> ids = ids_of(c["ids"]);
    const std::string what = c["id"].get<std::string>();
    expect_stream_equals_decode(tok, ids, false, what);
    expect_stream_equals_decode(tok, ids, true, what);
    // No push emits U+FFFD for text that has none (a character split across tokens is held back).
    const std::string full = tok.decode(ids);
    if (full.find("\xEF\xBF\xBD") != std::string::npos) continue;
    TokenStreamDecoder dec(tok, false);
    bool held = false;
    for (const int32_t id : ids) {
      const std::string piece = dec.push(id);
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << what;
      held |= piece.size() < tok.token_bytes(id).size();
    }
    EXPECT_EQ(dec.flush(), "") << what;
    n_split_chars += held;
  }
  EXPECT_GT(n_split_chars, 5);  // emoji, CJK ... really exercise the hold-back
}

// An emoji spelled by three byte-level tokens: each prefix decodes to one U+FFFD, the stream
// emits nothing until the character is complete.
TEST(TokenizerGolden, EmojiSplitAcrossTokens) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  const Tokenizer& tok = real_tokenizer();
  const std::string emoji = "\xF0\x9F\xA6\x80";  // U+1F980
  const std::vector<int32_t> ids = tok.encode(emoji);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(tok.decode(std::vector<int32_t>(ids.begin(), ids.end() - 1)), "\xEF\xBF\xBD");
  TokenStreamDecoder dec(tok);
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(dec.push(ids[i]), "");
  EXPECT_EQ(dec.push(ids.back()), emoji);
  // Cut short: flush gives the lossy remainder.
  TokenStreamDecoder cut(tok);
  EXPECT_EQ(cut.push(ids[0]), "");
  EXPECT_EQ(cut.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(cut.flush(), "");
}

TEST(TokenizerGolden, SpecIds) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  const Tokenizer& tok = real_tokenizer();
  using V = std::vector<int32_t>;
  EXPECT_EQ(tok.encode("Hello, world!"), (V{19556, 28, 905, 17}));
  EXPECT_EQ(tok.encode("\n"), (V{198}));
  EXPECT_EQ(tok.encode("\n\n"), (V{1116}));
  EXPECT_EQ(tok.encode("a\n\nb"), (V{81, 198, 198, 82}));
  EXPECT_EQ(tok.encode(" 42"), (V{216, 36, 34}));
  EXPECT_EQ(tok.encode("1234567890"), (V{33, 34, 35, 36, 37, 38, 39, 40, 41, 32}));
  EXPECT_EQ(tok.encode("<image>Can you describe this image?"), (V{49190, 7306, 346, 5125, 451, 2443, 47}));
  EXPECT_EQ(tok.encode(" What color is the car?"), (V{1812, 2380, 314, 260, 1076, 47}));
  EXPECT_EQ(tok.encode("<|im_start|>User:"), (V{1, 11126, 42}));
  EXPECT_EQ(tok.encode(" <end_of_utterance> "), (V{216, 49279, 216}));
  EXPECT_EQ(tok.encode(""), V{});
}

TEST(TokenizerGolden, SpecialIdsAndEndOfGeneration) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  const Tokenizer& tok = real_tokenizer();
  EXPECT_EQ(tok.n_vocab(), 49280);
  EXPECT_EQ(tok.eos(), 49279);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_TRUE(tok.is_eog(49279));  // <end_of_utterance> = eos
  EXPECT_TRUE(tok.is_eog(2));      // <|im_end|>
  EXPECT_TRUE(tok.is_eog(0));      // <|endoftext|>
  EXPECT_FALSE(tok.is_eog(1));
  EXPECT_FALSE(tok.is_eog(49190));
  EXPECT_FALSE(tok.is_eog(19556));
  EXPECT_FALSE(tok.is_eog(-1));
  EXPECT_FALSE(tok.is_eog(49280));
  int n_special = 0;
  for (int32_t id = 0; id < tok.n_vocab(); ++id) n_special += tok.is_special(id);
  EXPECT_EQ(n_special, 145);  // ids 0..16 and 49152..49279
  EXPECT_TRUE(tok.is_special(16));
  EXPECT_FALSE(tok.is_special(17));
  EXPECT_TRUE(tok.is_special(49152));
  EXPECT_FALSE(tok.is_special(-3));
  EXPECT_EQ(tok.find_token("<image>"), 49190);
  EXPECT_EQ(tok.find_token("\xC4\x8A\xC4\x8A"), 1116);  // "ĊĊ" = "\n\n"
  EXPECT_EQ(tok.find_token("no such token"), std::nullopt);
  EXPECT_EQ(tok.token_bytes(1116), "\n\n");
  EXPECT_EQ(tok.token_bytes(49190), "<image>");
  EXPECT_EQ(tok.token_bytes(49190, true), "");
  EXPECT_THROW(tok.token_text(49280), Error);
  EXPECT_THROW(tok.decode(std::vector<int32_t>{1, -1}), Error);
}

// parse_special = false: added tokens in the text are ordinary text.
TEST(TokenizerGolden, ParseSpecialOff) {
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  const Tokenizer& tok = real_tokenizer();
  const std::string text = "<|im_start|>User:<image>Hi<end_of_utterance>\nAssistant:";
  const std::vector<int32_t> plain = tok.encode(text, false);
  for (const int32_t id : plain) EXPECT_FALSE(tok.is_special(id)) << id;
  EXPECT_EQ(tok.decode(plain), text);
  EXPECT_EQ(tok.decode(plain, true), text);  // nothing special to skip
  const std::vector<int32_t> parsed = tok.encode(text);
  EXPECT_LT(parsed.size(), plain.size());
  EXPECT_EQ(parsed.front(), 1);
  EXPECT_EQ(tok.decode(parsed, true), "User:Hi\nAssistant:");
  EXPECT_EQ(tok.decode(parsed), text);
}

// The synthetic tokenizer of the tiny golden models, read from their GGUF (llama.cpp's ids).
void check_tiny(const std::string& set) {
  const std::string gguf = "golden/" + set + "/gguf/text-F32.gguf";
  SMOLVLM_REQUIRE_SHARED(gguf);
  SMOLVLM_REQUIRE_SHARED("golden/" + set + "/index.json");
  const GgufFile file = GgufFile::open(shared_path(gguf).string());
  const Tokenizer tok = Tokenizer::from_gguf(file);
  const json index = read_json_utf8("golden/" + set + "/index.json");
  EXPECT_EQ(tok.n_vocab(), 600);
  EXPECT_EQ(tok.eos(), 599);
  EXPECT_EQ(tok.bos(), 1);
  for (const auto& [text, id] : index["special_token_ids"].items()) {
    // Keys are the token texts, except "\\n" and "\\n\\n" spelled with backslashes.
    if (text.find('\\') != std::string::npos) continue;
    EXPECT_EQ(tok.find_token(text), id.get<int32_t>()) << text;
    EXPECT_TRUE(tok.is_special(id.get<int32_t>())) << text;
  }
  EXPECT_EQ(tok.token_bytes(index["special_token_ids"]["\\n\\n"].get<int32_t>()), "\n\n");
  EXPECT_TRUE(tok.is_eog(599));
  EXPECT_TRUE(tok.is_eog(2));
  EXPECT_TRUE(tok.is_eog(0));
  const json& cases = index["tokenize"];
  ASSERT_GE(cases.size(), 10u);
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int32_t> want = ids_of(c["ids"]);
    EXPECT_EQ(tok.encode(text), want) << set << " " << show(text);
    EXPECT_EQ(tok.decode(want), text) << set << " " << show(text);
    expect_stream_equals_decode(tok, want, true, set + " " + show(text));
  }
}

TEST(TokenizerGolden, Tiny512Gguf) { check_tiny("tiny512"); }
TEST(TokenizerGolden, Tiny384Gguf) { check_tiny("tiny384"); }

}  // namespace
}  // namespace smolvlm
