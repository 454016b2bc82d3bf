// StopMatcher: a stop string split over 2-3 pieces is never emitted; held-back prefixes are
// released once they stop matching; the earliest of several stop strings wins; text before the
// stop is emitted; flush(); UTF-8 stop strings split inside a character. The exhaustive test
// checks every way of cutting a text into three pieces against the plain definition.
#include <string>
#include <vector>

#include "runtime/stop_strings.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

// The definition: the text up to the earliest occurrence of any non-empty stop string.
std::string expected(const std::string& text, const std::vector<std::string>& stops) {
  size_t first = std::string::npos;
  for (const auto& s : stops)
    if (!s.empty()) first = std::min(first, text.find(s));
  return first == std::string::npos ? text : text.substr(0, first);
}

TEST(StopMatcher, StopSplitAcrossPiecesIsNeverEmitted) {
  StopMatcher m({"</s>"});
  EXPECT_EQ(m.push("Hello <"), "Hello ");
  EXPECT_EQ(m.push("/"), "");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.push("s>tail"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.push("more"), "");
  EXPECT_EQ(m.flush(), "");

  StopMatcher two({"<end>"});
  EXPECT_EQ(two.push("a<en"), "a");
  EXPECT_EQ(two.push("d>b"), "");
  EXPECT_TRUE(two.stopped());
}

TEST(StopMatcher, PartialPrefixReleasedWhenItStopsMatching) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("ST"), "");
  EXPECT_EQ(m.push("x"), "STx");
  EXPECT_EQ(m.push("STO"), "");
  EXPECT_EQ(m.push("O"), "STOO");
  // A held prefix that turns into a later start of the stop string: only the dead part goes out.
  EXPECT_EQ(m.push("S"), "");
  EXPECT_EQ(m.push("S"), "S");
  EXPECT_EQ(m.push("TOP!"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, EarliestOfSeveralWins) {
  StopMatcher m({"world", "lo"});
  EXPECT_EQ(m.push("hello world"), "hel");
  EXPECT_TRUE(m.stopped());
  // Across pieces: "bc" completes inside a held prefix of "abcd" and starts later than it.
  StopMatcher n({"abcd", "bc"});
  EXPECT_EQ(n.push("xab"), "x");
  EXPECT_EQ(n.push("c"), "a");
  EXPECT_TRUE(n.stopped());
  // Both complete in one piece: the one that starts first wins, whatever the list order.
  StopMatcher o({"789", "456"});
  EXPECT_EQ(o.push("123456789"), "123");
}

TEST(StopMatcher, TextBeforeStopInSamePieceIsEmitted) {
  StopMatcher m({"User:"});
  EXPECT_EQ(m.push("The answer is 4.\n"), "The answer is 4.\n");
  EXPECT_EQ(m.push("\nUser: next"), "\n");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, FlushReturnsHeldTextWithoutStop) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("go ST"), "go ");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.flush(), "ST");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, NoStopsOrEmptyStopsPassThrough) {
  StopMatcher none({});
  EXPECT_EQ(none.push("abc"), "abc");
  EXPECT_EQ(none.flush(), "");
  StopMatcher empty({"", "zz"});
  EXPECT_EQ(empty.push("abc"), "abc");
  EXPECT_EQ(empty.push("z"), "");
  EXPECT_EQ(empty.push("y"), "zy");
  EXPECT_FALSE(empty.stopped());
  EXPECT_EQ(empty.push(""), "");
}

TEST(StopMatcher, Utf8StopSplitInsideCharacters) {
  // "。" is E3 80 82; the pieces cut it byte by byte.
  StopMatcher m({"。"});
  EXPECT_EQ(m.push("答案\xE3"), "答案");
  EXPECT_EQ(m.push("\x80"), "");
  EXPECT_EQ(m.push("\x82后面"), "");
  EXPECT_TRUE(m.stopped());
  // A shared first character that turns out not to match is released whole.
  StopMatcher n({"停止", "🛑"});
  EXPECT_EQ(n.push("请停"), "请");
  EXPECT_EQ(n.push("下"), "停下");
  EXPECT_EQ(n.push("\xF0\x9F"), "");
  EXPECT_EQ(n.push("\x9B\x91 after"), "");
  EXPECT_TRUE(n.stopped());
}

TEST(StopMatcher, EveryThreeWaySplitMatchesDefinition) {
  const std::vector<std::vector<std::string>> stop_sets = {
      {"STOP"}, {"aab", "b"}, {"abab"}, {"<|im_end|>", "\nUser:"}, {"。", "é"}, {"zzz"}};
  const std::vector<std::string> texts = {"xxSTOPyy",  "aaab",       "abaababab",
                                          "ok<|im_e",  "hi\nUser: q", "caf\xC3\xA9。",
                                          "STSTOSTOP", "no stop here"};
  for (const auto& stops : stop_sets) {
    for (const auto& text : texts) {
      const std::string want = expected(text, stops);
      for (size_t i = 0; i <= text.size(); ++i) {
        for (size_t j = i; j <= text.size(); ++j) {
          StopMatcher m(stops);
          std::string out;
          bool leaked = false;
          for (const std::string& piece :
               {text.substr(0, i), text.substr(i, j - i), text.substr(j)}) {
            out += m.push(piece);
            // Emitted text is always a prefix of the answer: nothing is taken back later.
            leaked |= want.compare(0, out.size(), out) != 0 || out.size() > want.size();
          }
          if (!m.stopped()) out += m.flush();
          EXPECT_FALSE(leaked) << "text '" << text << "' cuts " << i << "," << j;
          EXPECT_EQ(out, want) << "text '" << text << "' cuts " << i << "," << j;
          EXPECT_EQ(m.stopped(), want.size() != text.size()) << text;
        }
      }
    }
  }
}

}  // namespace
}  // namespace smolvlm
