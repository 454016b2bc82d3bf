// Tokenizer building blocks on hand-made inputs (no ../shared needed): UTF-8 validation and lossy
// decoding, the byte-level alphabet, Unicode classes, the pre-tokenizer's splits, added-token
// matching, BPE, dropped bytes, streaming, threads, and clear errors for bad vocabularies/GGUFs.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "io/gguf.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace smolvlm {
namespace {

using V = std::vector<int32_t>;
const std::string kFffd = "\xEF\xBF\xBD";

std::string cp_utf8(uint32_t cp) {
  std::string s;
  tok::append_utf8(s, cp);
  return s;
}

// The error message of f(), or "" when it does not throw.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ---- UTF-8 ---------------------------------------------------------------------------------

TEST(TokenizerUtf8, ValidateNamesTheByteOffset) {
  EXPECT_EQ(error_of([] { tok::utf8_validate("h\xC3\xA9llo \xF0\x9F\x98\x80", "x"); }), "");
  EXPECT_NE(error_of([] { tok::utf8_validate("ab\xC3", "x"); }).find("byte offset 2"), std::string::npos);
  EXPECT_NE(error_of([] { tok::utf8_validate("abc\xED\xA0\x80", "x"); }).find("byte offset 3"), std::string::npos);
  EXPECT_NE(error_of([] { tok::utf8_validate("\xC0\xAF", "x"); }).find("byte offset 0"), std::string::npos);
  EXPECT_NE(error_of([] { tok::utf8_validate("1\xF4\x90\x80\x80", "x"); }).find("byte offset 1"), std::string::npos);
  EXPECT_NE(error_of([] { tok::utf8_validate("12\x80", "x"); }).find("byte offset 2"), std::string::npos);
  EXPECT_NE(error_of([] { tok::utf8_validate("\xE0\x80\x80", "x"); }).find("byte offset 0"), std::string::npos);
}

std::string lossy(const std::string& s) {
  std::string out;
  tok::append_utf8_lossy(out, s);
  return out;
}

// Rust's String::from_utf8_lossy: one U+FFFD per maximal invalid subpart.
TEST(TokenizerUtf8, LossyLikeRust) {
  EXPECT_EQ(lossy("abc"), "abc");
  EXPECT_EQ(lossy("\xF0\x9F\xA6"), kFffd);               // truncated 4-byte sequence: one
  EXPECT_EQ(lossy("\xF0\x9F\xA6x"), kFffd + "x");
  EXPECT_EQ(lossy("\x80\x80"), kFffd + kFffd);           // stray continuation bytes: one each
  EXPECT_EQ(lossy("\xE2\x82" "A"), kFffd + "A");
  EXPECT_EQ(lossy("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(lossy("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // surrogate
  EXPECT_EQ(lossy("\xC0\xAF"), kFffd + kFffd);
  EXPECT_EQ(lossy("a\xC3\xA9\xFF" "b"), "a\xC3\xA9" + kFffd + "b");
  std::string out;
  EXPECT_EQ(tok::append_utf8_complete(out, "ok\xF0\x9F"), 2u);  // the cut emoji is held back
  EXPECT_EQ(out, "ok");
  out.clear();
  EXPECT_EQ(tok::append_utf8_complete(out, "\xF0\x9F" "a"), 3u);  // ... but not when followed
  EXPECT_EQ(out, kFffd + "a");
}

TEST(TokenizerUtf8, ByteLevelAlphabet) {
  std::set<uint32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const uint32_t cp = tok::byte_to_cp(static_cast<uint8_t>(b));
    EXPECT_EQ(tok::cp_to_byte(cp), b);
    seen.insert(cp);
  }
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_EQ(tok::byte_to_cp(' '), 0x120u);   // Ġ
  EXPECT_EQ(tok::byte_to_cp('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(tok::byte_to_cp('a'), uint32_t{'a'});
  EXPECT_EQ(tok::byte_to_cp(0xAD), 0x143u);  // the last of the 68 remapped bytes
  EXPECT_EQ(tok::cp_to_byte(' '), -1);
  EXPECT_EQ(tok::cp_to_byte(0x144), -1);
  EXPECT_EQ(tok::byte_level_decode("\xC4\xA0hi\xC4\x8A"), " hi\n");
  EXPECT_EQ(tok::byte_level_decode("a b"), "a b");  // ' ' is outside the alphabet: copied
  EXPECT_EQ(tok::byte_level_decode("\xC3\xA9"), "\xE9");  // 'é' is the byte 0xE9
}

// ---- Unicode classes and pre-tokenizer ------------------------------------------------------

TEST(TokenizerPreTokenize, UnicodeClasses) {
  using tok::CharClass;
  EXPECT_EQ(tok::char_class('a'), CharClass::kLetter);
  EXPECT_EQ(tok::char_class(0xE9), CharClass::kLetter);     // é
  EXPECT_EQ(tok::char_class(0x4E2D), CharClass::kLetter);   // 中
  EXPECT_EQ(tok::char_class(0x10400), CharClass::kLetter);  // Deseret (outside the BMP)
  EXPECT_EQ(tok::char_class('7'), CharClass::kNumber);
  EXPECT_EQ(tok::char_class(0x663), CharClass::kNumber);    // Arabic-Indic 3 (Nd)
  EXPECT_EQ(tok::char_class(0x216B), CharClass::kNumber);   // Roman numeral XII (Nl)
  EXPECT_EQ(tok::char_class(0xBD), CharClass::kNumber);     // ½ (No)
  EXPECT_EQ(tok::char_class(0x1D7CE), CharClass::kNumber);  // mathematical bold 0
  EXPECT_EQ(tok::char_class(' '), CharClass::kSpace);
  EXPECT_EQ(tok::char_class(0x0B), CharClass::kSpace);      // VT
  EXPECT_EQ(tok::char_class(0x85), CharClass::kSpace);      // NEL
  EXPECT_EQ(tok::char_class(0xA0), CharClass::kSpace);      // NBSP
  EXPECT_EQ(tok::char_class(0x3000), CharClass::kSpace);    // ideographic space
  EXPECT_EQ(tok::char_class(0x1F), CharClass::kOther);      // not White_Space
  EXPECT_EQ(tok::char_class(0x200B), CharClass::kOther);    // zero-width space (Cf)
  EXPECT_EQ(tok::char_class(0x1F600), CharClass::kOther);   // emoji
  EXPECT_EQ(tok::char_class(0x301), CharClass::kOther);     // combining acute (Mn)
}

std::vector<std::string> words(const std::string& text, bool split_digits = true) {
  tok::PreTokenizer pre(split_digits);
  tok::PreTokenizer::Scratch scratch;
  std::vector<tok::Span> spans;
  pre.split(text, spans, scratch);
  std::vector<std::string> out;
  for (const auto& s : spans) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

using W = std::vector<std::string>;

TEST(TokenizerPreTokenize, Gpt2Pattern) {
  EXPECT_EQ(words("Hello, world!"), (W{"Hello", ",", " world", "!"}));
  EXPECT_EQ(words("word \n\n word"), (W{"word", " \n\n", " word"}));
  EXPECT_EQ(words("a\n\nb"), (W{"a", "\n", "\n", "b"}));
  EXPECT_EQ(words("a  b"), (W{"a", " ", " b"}));
  EXPECT_EQ(words("x   "), (W{"x", "   "}));
  EXPECT_EQ(words("  "), (W{"  "}));
  EXPECT_EQ(words("don't I'M we're they've I'll he'd"),
            (W{"don", "'t", " I", "'", "M", " we", "'re", " they", "'ve", " I", "'ll", " he", "'d"}));
  EXPECT_EQ(words("x's ?'s 's"), (W{"x", "'s", " ?'", "s", " '", "s"}));
  EXPECT_EQ(words("a ...!? b"), (W{"a", " ...!?", " b"}));
  EXPECT_EQ(words("caf\xC3\xA9 na\xC3\xAFve"), (W{"caf\xC3\xA9", " na\xC3\xAFve"}));
  EXPECT_EQ(words("a\xC2\xA0" "b"), (W{"a", "\xC2\xA0", "b"}));       // NBSP is \s but not ' '
  EXPECT_EQ(words("\xE4\xB8\xAD\xE6\x96\x87 x"), (W{"\xE4\xB8\xAD\xE6\x96\x87", " x"}));
  EXPECT_EQ(words("e\xCC\x81t\xC3\xA9"), (W{"e", "\xCC\x81", "t\xC3\xA9"}));  // a combining mark is "other"
  EXPECT_EQ(words("\r\n\tx"), (W{"\r\n", "\t", "x"}));
}

TEST(TokenizerPreTokenize, DigitsAreSplitFirst) {
  EXPECT_EQ(words(" 42"), (W{" ", "4", "2"}));
  EXPECT_EQ(words("a  1"), (W{"a", "  ", "1"}));  // the space run ends the piece before the digit
  EXPECT_EQ(words("x1y"), (W{"x", "1", "y"}));
  EXPECT_EQ(words("\xC2\xB2\xC2\xBD\xE2\x85\xAB"), (W{"\xC2\xB2", "\xC2\xBD", "\xE2\x85\xAB"}));  // ² ½ Ⅻ
  EXPECT_EQ(words("'1"), (W{"'", "1"}));
  // Plain gpt2: numbers are runs, with the optional space.
  EXPECT_EQ(words(" 42", false), (W{" 42"}));
  EXPECT_EQ(words("a  1", false), (W{"a", " ", " 1"}));
  EXPECT_EQ(words("x1y", false), (W{"x", "1", "y"}));
}

// ---- Tokenizer on a hand-made vocabulary ----------------------------------------------------

std::string sym(char c) { return cp_utf8(tok::byte_to_cp(static_cast<uint8_t>(c))); }

// Ids 0..255: the byte symbols in byte order (minus `missing`), then extra tokens.
struct TinyVocab {
  VocabSpec spec;
  explicit TinyVocab(std::string missing = "") {
    for (int b = 0; b < 256; ++b) {
      const bool gone = missing.find(static_cast<char>(b)) != std::string::npos;
      spec.tokens.push_back(gone ? cat("[PAD", b, "]") : sym(static_cast<char>(b)));
      spec.token_types.push_back(gone ? 5 : 1);
    }
  }
  int32_t add(const std::string& text, int32_t type = 1) {
    spec.tokens.push_back(text);
    spec.token_types.push_back(type);
    return static_cast<int32_t>(spec.tokens.size() - 1);
  }
  void merge(const std::string& a, const std::string& b) { spec.merges.push_back(a + " " + b); }
};

TEST(TokenizerBpe, MergesByRankThenLeftmost) {
  TinyVocab v;
  const int32_t bc = v.add("bc"), ab = v.add("ab"), abc = v.add("abc"), aa = v.add("aa");
  v.merge("b", "c");   // rank 0
  v.merge("a", "b");   // rank 1
  v.merge("a", "bc");  // rank 2
  v.merge("a", "a");   // rank 3
  const Tokenizer tok(v.spec);
  EXPECT_EQ(tok.encode("abc"), (V{abc}));  // bc first, then a+bc
  EXPECT_EQ(tok.encode("abx"), (V{ab, 'x'}));
  EXPECT_EQ(tok.encode("aaa"), (V{aa, 'a'}));  // equal ranks: leftmost first
  EXPECT_EQ(tok.encode("aaaaa"), (V{aa, aa, 'a'}));
  EXPECT_EQ(tok.encode("xabc abc"), (V{'x', abc, ' ', abc}));  // cached words give the same ids
  EXPECT_EQ(tok.encode("xabc abc"), (V{'x', abc, ' ', abc}));
  EXPECT_EQ(tok.decode(tok.encode("aaaaa abc")), "aaaaa abc");
  (void)bc;
}

TEST(TokenizerBpe, BytesWithoutATokenAreDropped) {
  TinyVocab v(std::string("\x01\xF1", 2));
  const Tokenizer tok(v.spec);
  EXPECT_EQ(tok.encode(std::string("a\x01" "b", 3)), (V{'a', 'b'}));
  // U+40000 is F1 80 80 80: only the F1 byte disappears.
  EXPECT_EQ(tok.encode("\xF1\x80\x80\x80"), (V{0x80, 0x80, 0x80}));
  EXPECT_EQ(tok.encode(std::string("\x01", 1)), V{});
}

TEST(TokenizerAdded, LeftmostLongestAndTypes) {
  TinyVocab v;
  const int32_t a = v.add("<a>", 3), ab = v.add("<a><b>", 3), user = v.add("ab", 4), cd = v.add("bcd", 3);
  const int32_t normal = v.add("<n>", 1), unused = v.add("<u>", 5);
  const Tokenizer tok(v.spec);
  EXPECT_EQ(tok.encode("x<a><b>y"), (V{'x', ab, 'y'}));   // longest
  EXPECT_EQ(tok.encode("<a><b"), (V{a, '<', 'b'}));        // near miss falls back
  EXPECT_EQ(tok.encode("abcd"), (V{user, 'c', 'd'}));      // leftmost wins over longer "bcd"
  EXPECT_EQ(tok.encode("xbcd"), (V{'x', cd}));
  EXPECT_EQ(tok.encode("<n><u>"), (V{'<', 'n', '>', '<', 'u', '>'}));  // only control/user-defined
  EXPECT_EQ(tok.encode(" <a> "), (V{' ', a, ' '}));                  // neighbours stay text
  EXPECT_EQ(tok.encode("<a>", false), (V{'<', 'a', '>'}));
  EXPECT_TRUE(tok.is_special(a));
  EXPECT_TRUE(tok.is_special(user));
  EXPECT_FALSE(tok.is_special(normal));
  EXPECT_FALSE(tok.is_special(unused));
  EXPECT_EQ(tok.decode(V{'x', a, user, 'y'}), "x<a>aby");
  EXPECT_EQ(tok.decode(V{'x', a, user, 'y'}, true), "xy");
}

TEST(TokenizerEncode, InvalidUtf8NamesTheOffset) {
  const Tokenizer tok(TinyVocab().spec);
  const std::string msg = error_of([&] { tok.encode("hello\xC3(", true); });
  EXPECT_NE(msg.find("invalid UTF-8 at byte offset 5"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { tok.encode("ab\xF0\x9F\x98", false); }).find("byte offset 2"), std::string::npos);
}

TEST(TokenizerEncode, ManyThreadsShareTheCache) {
  TinyVocab v;
  v.add("ab");
  v.merge("a", "b");
  const Tokenizer tok(v.spec);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += cat(" ab", i % 97, "x ab", char('a' + i % 26), "b");
  const V want = tok.encode(text);
  std::vector<V> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&] { g = tok.encode(text); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
  EXPECT_EQ(tok.decode(want), text);
}

TEST(TokenizerDecode, StreamHoldsBackCutCharacters) {
  const Tokenizer tok(TinyVocab().spec);
  const std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";  // 1-, 2-, 3-, 4-byte characters
  const V ids = tok.encode(text);  // one id per byte
  ASSERT_EQ(ids.size(), text.size());
  TokenStreamDecoder dec(tok);
  std::vector<std::string> pieces;
  for (const int32_t id : ids) pieces.push_back(dec.push(id));
  EXPECT_EQ(pieces, (W{"a", "", "\xC3\xA9", "", "", "\xE4\xB8\xAD", "", "", "", "\xF0\x9F\x98\x80", "z"}));
  EXPECT_EQ(dec.flush(), "");
  // Invalid bytes come out as soon as they are known to be invalid.
  TokenStreamDecoder bad(tok);
  EXPECT_EQ(bad.push(0xE4), "");
  EXPECT_EQ(bad.push('x'), kFffd + "x");
  EXPECT_EQ(bad.push(0x80), kFffd);
  EXPECT_EQ(bad.push(0xF0), "");
  EXPECT_EQ(bad.flush(), kFffd);
  EXPECT_THROW(bad.push(100000), Error);
}

// ---- Bad vocabularies ----------------------------------------------------------------------

TEST(TokenizerErrors, BadVocabSpecs) {
  {
    TinyVocab v;
    v.add("ab");
    v.merge("a", "b");
    v.merge("a", "zz");
    const std::string msg = error_of([&] { Tokenizer t(v.spec); });
    EXPECT_NE(msg.find("tokenizer.ggml.merges[1]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'zz' is not in tokenizer.ggml.tokens"), std::string::npos) << msg;
  }
  {
    TinyVocab v;
    v.merge("a", "b");  // "ab" itself is missing
    EXPECT_NE(error_of([&] { Tokenizer t(v.spec); }).find("'ab' is not in"), std::string::npos);
  }
  {
    TinyVocab v;
    v.spec.merges.push_back("ab");
    EXPECT_NE(error_of([&] { Tokenizer t(v.spec); }).find("separated by a space"), std::string::npos);
  }
  {
    TinyVocab v;
    v.spec.token_types.pop_back();
    const std::string msg = error_of([&] { Tokenizer t(v.spec); });
    EXPECT_NE(msg.find("tokenizer.ggml.token_type has 255 entries"), std::string::npos) << msg;
  }
  {
    TinyVocab v;
    v.spec.pre = "llama3";
    EXPECT_NE(error_of([&] { Tokenizer t(v.spec); }).find("tokenizer.ggml.pre 'llama3' is not supported"),
              std::string::npos);
  }
  {
    TinyVocab v;
    v.spec.eos_id = 256;
    EXPECT_NE(error_of([&] { Tokenizer t(v.spec); }).find("tokenizer.ggml.eos_token_id 256 is out of range"),
              std::string::npos);
  }
  EXPECT_NE(error_of([] { Tokenizer t(VocabSpec{}); }).find("tokenizer.ggml.tokens is empty"), std::string::npos);
}

// A vocabulary-only GGUF in memory; `edit` changes the keys before writing.
template <typename Edit>
std::vector<uint8_t> vocab_gguf(Edit edit) {
  TinyVocab v;
  v.add("ab");
  v.add("<eos>", 3);
  v.merge("a", "b");
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("llama"));
  w.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::str("smollm"));
  w.set("tokenizer.ggml.tokens", GgufValue::str_array(v.spec.tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(v.spec.token_types));
  w.set("tokenizer.ggml.merges", GgufValue::str_array(v.spec.merges));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(257));
  edit(w);
  return w.write_memory([](size_t, const GgufTensorInfo&, std::vector<uint8_t>&) {});
}

std::string gguf_error(const std::vector<uint8_t>& bytes) {
  return error_of([&] { Tokenizer::from_gguf(GgufFile::parse(bytes, "vocab.gguf")); });
}

TEST(TokenizerErrors, FromGguf) {
  const auto good = vocab_gguf([](GgufWriter&) {});
  const GgufFile file = GgufFile::parse(good, "vocab.gguf");
  const Tokenizer tok = Tokenizer::from_gguf(file);
  EXPECT_EQ(tok.n_vocab(), 258);
  EXPECT_EQ(tok.eos(), 257);
  EXPECT_EQ(tok.bos(), -1);  // absent
  EXPECT_TRUE(tok.is_eog(257));
  EXPECT_EQ(tok.encode("xab<eos>"), (V{'x', 256, 257}));

  auto expect_error = [](const std::vector<uint8_t>& bytes, const std::string& part) {
    const std::string msg = gguf_error(bytes);
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("vocab.gguf: ", 0), 0u) << msg;
  };
  expect_error(vocab_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.model", GgufValue::str("llama")); }),
               "tokenizer.ggml.model 'llama' is not supported");
  expect_error(vocab_gguf([](GgufWriter& w) { w.remove("tokenizer.ggml.model"); }),
               "missing key 'tokenizer.ggml.model'");
  expect_error(vocab_gguf([](GgufWriter& w) { w.remove("tokenizer.ggml.merges"); }),
               "missing key 'tokenizer.ggml.merges'");
  expect_error(vocab_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.pre", GgufValue::str("qwen2")); }),
               "tokenizer.ggml.pre 'qwen2' is not supported");
  expect_error(vocab_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.tokens", GgufValue::u32_array({1, 2})); }),
               "tokenizer.ggml.tokens: ");
  expect_error(vocab_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.token_type", GgufValue::i32_array({1, 1})); }),
               "tokenizer.ggml.token_type has 2 entries but tokenizer.ggml.tokens has 258");
  expect_error(vocab_gguf([](GgufWriter& w) {
                 w.set("tokenizer.ggml.merges", GgufValue::str_array({"a b", "q \xC4\xA0zz"}));
               }),
               "tokenizer.ggml.merges[1]");
  expect_error(vocab_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(999)); }),
               "tokenizer.ggml.eos_token_id 999 is out of range");
  expect_error(vocab_gguf([](GgufWriter& w) { w.set("tokenizer.ggml.bos_token_id", GgufValue::str("1")); }),
               "tokenizer.ggml.bos_token_id: ");
}

TEST(TokenizerErrors, IdsOutOfRange) {
  const Tokenizer tok(TinyVocab().spec);
  EXPECT_NE(error_of([&] { tok.decode(V{1, 256}); }).find("token id 256 is out of range [0, 256)"),
            std::string::npos);
  EXPECT_THROW(tok.token_bytes(-1), Error);
  EXPECT_THROW(tok.token_text(256), Error);
  EXPECT_FALSE(tok.is_special(256));
  EXPECT_FALSE(tok.is_eog(-5));
}

TEST(TokenizerEncode, MovedTokenizerStillWorks) {
  TinyVocab v;
  v.add("ab");
  v.merge("a", "b");
  Tokenizer a(v.spec);
  Tokenizer b = std::move(a);
  EXPECT_EQ(b.encode("ab"), (V{256}));
  EXPECT_EQ(b.find_token("ab"), 256);
}

}  // namespace
}  // namespace smolvlm
