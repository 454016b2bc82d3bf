// JSON-constrained decoding: the recognizer agrees with nlohmann::json on complete texts (valid
// documents, their prefixes, and random one-byte mutations), handles escapes, surrogates, UTF-8,
// numbers, nesting and the whitespace / top-level-type limits; the token mask equals testing every
// token on its own (tiny and real vocabularies, with the cost per step); a session with the random
// tiny512 model and the server's "format":"json" always give JSON (or a valid prefix cut by num_predict).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "base/error.h"
#include "runtime/json_constraint.h"
#include "runtime/session.h"
#include "support/testing.h"
#include "test_json_util.h"
#include "test_server_util.h"
#include "test_tokenizer_util.h"

namespace smolvlm {
namespace {

using nlohmann::json;

// Feeds the text; true when every byte was accepted and a full value was read.
bool accepts_whole(std::string_view s, JsonKind k = JsonKind::kAny) {
  JsonRecognizer r(k, 64);
  if (!r.accepts(s)) return false;
  r.advance(s);
  return r.complete();
}

bool accepts_prefix(std::string_view s, JsonKind k = JsonKind::kAny) { return JsonRecognizer(k, 64).accepts(s); }

const char* const kValid[] = {
    "{}", "[]", "\"\"", "0", "-0", "12", "-3.25e+10", "1E-2", "0.5", "true", "false", "null",
    " { \"a\" : [1, 2.5, {\"b\": null}], \"c\": \"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\" } ",
    "[[[[]]],[{}],\"\\u00e9\\uD83D\\uDE00\"]", "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"",
    "{\"k\":{\"k\":{\"k\":[true,false,null,-0.0e0]}}}", "\n\t[1 ,2 ]\r\n",
};

TEST(JsonRecognizer, ValidDocumentsAndAllTheirPrefixes) {
  for (const char* doc : kValid) {
    const std::string s = doc;
    ASSERT_TRUE(json::accept(s)) << s;  // the list itself is right
    EXPECT_TRUE(accepts_whole(s)) << s;
    JsonRecognizer r(JsonKind::kAny, 64);
    for (size_t i = 0; i < s.size(); ++i) {
      ASSERT_TRUE(r.accepts(s.substr(i, 1))) << s << " at byte " << i;
      r.advance(s.substr(i, 1));
    }
  }
}

TEST(JsonRecognizer, RejectsInvalidContinuations) {
  // {valid prefix, a byte string that must be rejected after it}
  const std::pair<const char*, const char*> bad[] = {
      {"", "}"},         {"", "]"},          {"", ","},        {"", "x"},          {"{", "1"},
      {"{", "]"},        {"{\"a\"", ","},    {"{\"a\":", "}"}, {"{\"a\":1", "]"},  {"[1", "}"},
      {"[1,", "]"},      {"[", ","},         {"0", "1"},       {"-", "a"},        {"-", "."},
      {"1.", "e"},       {"1e", "."},        {"1e+", "+"},     {"t", "ru "},      {"nul", "L"},
      {"\"", "\x01"},    {"\"", "\n"},       {"\"\\", "x"},    {"\"\\u", "g"},    {"\"\\u12", "z"},
      {"\"", "\xC0\xAF"}, {"\"", "\xE0\x80"}, {"\"", "\xED\xA0"}, {"\"", "\xF4\x90"}, {"\"", "\xF5"},
      {"\"", "\x80"},    {"\"\xC3", "A"},    {"\"\\uD800", "a"}, {"\"\\uD800\\u", "0"},
      {"\"\\uD800\\uD", "8"}, {"{}", "{"},   {"1 ", "2"},      {"[] ", "x"},      {"true", "e"},
  };
  for (const auto& [prefix, next] : bad) {
    ASSERT_TRUE(accepts_prefix(prefix)) << prefix;
    EXPECT_FALSE(accepts_prefix(std::string(prefix) + next)) << prefix << " + " << next;
  }
  EXPECT_FALSE(accepts_prefix("\"\\uDC"));
  EXPECT_TRUE(accepts_prefix("\"\\uDB"));
  JsonRecognizer r;
  EXPECT_THROW(r.advance("{]"), Error);
  EXPECT_TRUE(r.accepts("{"));  // advance left the state as it was
}

TEST(JsonRecognizer, CompletionAndNumbers) {
  for (const char* incomplete : {"", " ", "{", "[1", "\"a", "-", "1.", "1e", "1e-", "tru", "{\"a\":1", "\"\\uD83D\""})
    EXPECT_FALSE(accepts_whole(incomplete)) << incomplete;
  JsonRecognizer n;
  n.advance("12");
  EXPECT_TRUE(n.complete());  // a top-level number is complete but may grow
  EXPECT_FALSE(n.done());
  EXPECT_TRUE(n.accepts("3.5e7"));
  n.advance(" ");
  EXPECT_TRUE(n.done());
  EXPECT_FALSE(n.accepts("3"));
  JsonRecognizer o;
  o.advance("{\"a\":[1]}");
  EXPECT_TRUE(o.done());
  EXPECT_TRUE(o.accepts("  "));
  EXPECT_FALSE(o.accepts(","));
}

TEST(JsonRecognizer, WhitespaceRunsDepthAndTopLevelKind) {
  EXPECT_TRUE(JsonRecognizer(JsonKind::kAny, 8).accepts(std::string(8, ' ') + "{"));
  EXPECT_FALSE(JsonRecognizer(JsonKind::kAny, 8).accepts(std::string(9, ' ')));
  EXPECT_TRUE(JsonRecognizer(JsonKind::kAny, 8).accepts("[" + std::string(8, '\n') + "1," + std::string(8, ' ') + "2"));
  EXPECT_TRUE(JsonRecognizer(JsonKind::kAny, 8).accepts("\"" + std::string(100, ' ')));  // inside strings: no limit

  const std::string deep(JsonRecognizer::kMaxDepth, '[');
  EXPECT_TRUE(accepts_prefix(deep));
  EXPECT_FALSE(accepts_prefix(deep + "["));
  EXPECT_TRUE(accepts_whole(deep + std::string(JsonRecognizer::kMaxDepth, ']')));

  EXPECT_TRUE(accepts_whole("{\"a\":[]}", JsonKind::kObject));
  EXPECT_FALSE(accepts_prefix("[", JsonKind::kObject));
  EXPECT_FALSE(accepts_prefix("\"", JsonKind::kArray));
  EXPECT_TRUE(accepts_whole(" \"s\"", JsonKind::kString));
  EXPECT_TRUE(accepts_whole("-12 ", JsonKind::kInteger));
  EXPECT_FALSE(accepts_prefix("1.", JsonKind::kInteger));
  EXPECT_FALSE(accepts_prefix("1e", JsonKind::kInteger));
  EXPECT_TRUE(accepts_whole("[1e99,-1E-99,0.5e+07]"));
  EXPECT_FALSE(accepts_prefix("1e100"));
  EXPECT_FALSE(accepts_prefix("1e-100"));
  EXPECT_TRUE(accepts_prefix(std::string(JsonRecognizer::kMaxIntDigits, '9') + ".5"));
  EXPECT_FALSE(accepts_prefix(std::string(JsonRecognizer::kMaxIntDigits + 1, '9')));
  EXPECT_TRUE(accepts_whole("1.5e3 ", JsonKind::kNumber));
  EXPECT_FALSE(accepts_prefix("t", JsonKind::kNumber));
  EXPECT_TRUE(accepts_whole("false", JsonKind::kBoolean));
  EXPECT_FALSE(accepts_prefix("n", JsonKind::kBoolean));
  EXPECT_TRUE(accepts_whole("null", JsonKind::kNull));
  EXPECT_FALSE(accepts_prefix("{", JsonKind::kNull));
}

// Random JSON documents, each also with one byte replaced: the recognizer's verdict on the whole
// text equals nlohmann's, and a text it rejects is never accepted by nlohmann.
json random_value(std::mt19937& rng, int depth) {
  const int pick = static_cast<int>(rng() % (depth > 3 ? 4 : 6));
  switch (pick) {
    case 0: return static_cast<int64_t>(rng() % 2001) - 1000;
    case 1: return std::ldexp(static_cast<double>(static_cast<int32_t>(rng())), -static_cast<int>(rng() % 40));
    case 2: {
      static const char* const kStrings[] = {"", "a", "q\"uote", "back\\slash", "tab\t", "\xC3\xA9", "\xF0\x9F\x98\x80", "\x01"};
      return kStrings[rng() % 8];
    }
    case 3: return rng() % 3 == 0 ? json(nullptr) : json(rng() % 2 == 0);
    case 4: {
      json a = json::array();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) o[std::string(1, static_cast<char>('a' + rng() % 5))] = random_value(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonRecognizer, AgreesWithNlohmannOnRandomDocumentsAndMutations) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]\":,. -+0123456789eEtrufalsn\\u\x80\xC3\xA9\x01\n";
  int valid = 0, mutated_valid = 0;
  for (int i = 0; i < 3000; ++i) {
    const json v = random_value(rng, 0);
    std::string s = v.dump(rng() % 2 == 0 ? -1 : 1);
    // the escaped form too: \uXXXX escapes including surrogate pairs
    if (rng() % 2 == 0) s = v.dump(-1, ' ', true);
    ASSERT_TRUE(accepts_whole(s)) << s;
    ++valid;
    std::string m = s;
    m[rng() % m.size()] = alphabet[rng() % alphabet.size()];
    // (we also refuse exponents of 3+ digits, which can overflow a double and nlohmann rejects)
    static const std::regex kBigExponent("[eE][+-]?[0-9]{3}");
    const bool ours = accepts_whole(m), theirs = json::accept(m) && !std::regex_search(m, kBigExponent);
    EXPECT_EQ(ours, theirs) << m;
    mutated_valid += theirs;
  }
  EXPECT_EQ(valid, 3000);
  EXPECT_GT(mutated_valid, 50);  // the mutations reach both verdicts
}

// The mask equals testing every token on its own.
void expect_mask_matches(const JsonTokenMask& mask, const JsonRecognizer& rec, const std::vector<std::string>& bytes,
                         const std::vector<bool>& eog) {
  std::vector<float> logits(bytes.size() + 2, 1.0f);
  const size_t allowed = mask.apply(rec, logits);
  size_t expect = 0;
  for (size_t id = 0; id < bytes.size(); ++id) {
    const bool ok = eog[id] ? rec.complete() : !bytes[id].empty() && rec.accepts(bytes[id]);
    expect += ok;
    ASSERT_EQ(std::isinf(logits[id]), !ok) << "token " << id << " \"" << bytes[id] << "\"";
  }
  EXPECT_EQ(allowed, expect);
  EXPECT_TRUE(std::isinf(logits[bytes.size()]) && std::isinf(logits[bytes.size() + 1]));  // past the vocabulary
}

TEST(JsonTokenMask, TinyVocabulary) {
  const std::vector<std::string> bytes = {"{", "}", "\"a\"", ":", " ", "1", "x", "", "<eos>", "{\"", "\":", "}}", "  \"b"};
  const std::vector<bool> eog = {false, false, false, false, false, false, false, false, true, false, false, false, false};
  const JsonTokenMask mask(bytes, eog);
  EXPECT_EQ(mask.bytes(2), "\"a\"");
  EXPECT_EQ(mask.bytes(8), "<eos>");
  JsonRecognizer rec(JsonKind::kObject);
  std::vector<float> logits(bytes.size(), 0.0f);
  EXPECT_EQ(mask.apply(rec, logits), 3u);  // "{", " ", "{\""
  EXPECT_FALSE(std::isinf(logits[0]));
  EXPECT_FALSE(std::isinf(logits[4]));
  EXPECT_FALSE(std::isinf(logits[9]));
  for (const char* step : {"{", "\"a\"", ":", " ", "1", "}"}) {
    expect_mask_matches(mask, rec, bytes, eog);
    rec.advance(step);
  }
  std::vector<float> done(bytes.size(), 0.0f);
  EXPECT_EQ(mask.apply(rec, done), 2u);  // closed: " " and the end-of-generation token
  EXPECT_FALSE(std::isinf(done[4]));
  EXPECT_FALSE(std::isinf(done[8]));
}

TEST(JsonTokenMask, RealVocabularyMatchesPerTokenTestAndIsCheap) {
  SMOLVLM_REQUIRE_SHARED(testing::kRealTokenizerDir);
  const Tokenizer& tok = testing::real_tokenizer();
  const JsonTokenMask mask(tok);
  const auto [bytes, eog] = testing::vocab_table(tok, mask);
  const char* const states[] = {"",     "{",      "{\"na",  "{\"name\": ", "[1, 2", "{\"a\": [\"x\", {\"b\": \"hello wor",
                                "12.5", "[true", "\"\\", "\"\xC3",    "\"\\uD83D"};
  std::vector<float> logits(bytes.size());
  double total_us = 0;
  int steps = 0;
  for (const char* st : states) {
    JsonRecognizer rec;
    rec.advance(st);
    expect_mask_matches(mask, rec, bytes, eog);
    double state_us = 0;
    for (int rep = 0; rep < 5; ++rep) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      const auto t0 = std::chrono::steady_clock::now();
      const size_t allowed = mask.apply(rec, logits);
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      total_us += us;
      state_us += us;
      ++steps;
      EXPECT_GT(allowed, 0u) << st;
    }
    std::cout << "[ json mask ] after '" << st << "': " << state_us / 5 << " us\n";
  }
  std::cout << "[ json mask ] " << tok.n_vocab() << " tokens: " << total_us / steps << " us per step (mean of "
            << steps << ")\n";
}

// A session with random weights: constrained sampling at temperature 1 always gives JSON, or a
// valid JSON prefix when num_predict cuts it.
TEST(JsonSession, RandomTinyModelAlwaysGivesJson) {
  const char* const kModel = "golden/tiny512/gguf/text-F32.gguf";
  SMOLVLM_REQUIRE_SHARED(kModel);
  const auto model = LoadedModel::load(testing::shared_path(kModel).string());
  kernels::ThreadPool pool(2);
  const JsonTokenMask mask(model->tokenizer());
  int closed = 0;
  for (const JsonKind kind : {JsonKind::kAny, JsonKind::kObject}) {
    for (int64_t seed = 1; seed <= 6; ++seed) {
      Session s(model, {.n_ctx = 512}, pool);
      GenerateOptions o;
      o.sampling.temperature = 1.0f;
      o.sampling.top_k = 0;
      o.sampling.top_p = 1.0f;
      o.sampling.seed = seed;
      o.num_predict = 96;
      o.json = kind;
      std::string streamed;
      const GenerateResult r = s.generate(std::vector<int32_t>{1, 2, 3, 4}, o, [&](std::string_view t) {
        streamed += t;
        return true;
      });
      EXPECT_EQ(streamed, r.text);
      if (r.reason == DoneReason::kStop) {
        ++closed;
        EXPECT_TRUE(json::accept(r.text)) << "seed " << seed << ": " << r.text;
        if (kind == JsonKind::kObject) {
          EXPECT_TRUE(json::parse(r.text).is_object()) << r.text;
        }
      } else {
        ASSERT_EQ(r.reason, DoneReason::kLength);
        // (the raw token bytes: a cut inside a UTF-8 sequence streams U+FFFD)
        std::string raw;
        for (const int32_t id : r.tokens) raw += mask.bytes(id);
        EXPECT_TRUE(JsonRecognizer(kind).accepts(raw)) << "seed " << seed << ": " << r.text;
        EXPECT_EQ(r.eval_tokens, 96);
      }
    }
  }
  std::cout << "[ json session ] " << closed << " of 12 closed a value within 96 tokens\n";
  // Unconstrained, the same sampling is not JSON (the constraint is what makes it so).
  Session s(model, {.n_ctx = 512}, pool);
  GenerateOptions o;
  o.sampling.temperature = 1.0f;
  o.sampling.seed = 1;
  o.num_predict = 32;
  const GenerateResult free_run = s.generate(std::vector<int32_t>{1, 2, 3, 4}, o, [](std::string_view) { return true; });
  EXPECT_FALSE(JsonRecognizer(JsonKind::kAny, 64).accepts(free_run.text)) << free_run.text;
}

TEST(JsonServer, GenerateWithFormatJsonAndSchema) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  auto c = testing::server_env().client();
  const json opts = {{"temperature", 1}, {"top_k", 0}, {"top_p", 1}, {"seed", 5}, {"num_predict", 96}};
  for (const json& format : {json("json"), json({{"type", "array"}})}) {
    int status = 0;
    const json r = testing::post_json(
        c, "/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"format", format}, {"stream", false}, {"options", opts}},
        &status);
    ASSERT_EQ(status, 200) << r.dump();
    const std::string text = r["response"].get<std::string>();
    const JsonKind kind = format.is_object() ? JsonKind::kArray : JsonKind::kAny;
    if (r["done_reason"] == "stop") {
      EXPECT_TRUE(json::accept(text)) << text;
    } else {
      const bool cut_utf8 = text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
      EXPECT_TRUE(JsonRecognizer(kind).accepts(text) || cut_utf8) << text;
    }
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (format.is_object() && first != std::string::npos) {
      EXPECT_EQ(text[first], '[') << text;
    }
  }
  // chat, streamed: the concatenated pieces are a JSON object (or its prefix)
  const json req = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                    {"format", {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}}}, {"options", opts}};
  auto streamed = c.Post("/api/chat", req.dump(), "application/json");
  ASSERT_TRUE(streamed);
  ASSERT_EQ(streamed->status, 200) << streamed->body;
  std::string text;
  std::string reason;
  for (const json& line : testing::ndjson_lines(streamed->body)) {
    text += line["message"]["content"].get<std::string>();
    if (line["done"] == true) reason = line["done_reason"].get<std::string>();
  }
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text[text.find_first_not_of(" \t\r\n")], '{') << text;
  if (reason == "stop") {
    EXPECT_TRUE(json::parse(text).is_object()) << text;
  }
  int status = 0;
  testing::post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"format", "yaml"}, {"stream", false}}, &status);
  EXPECT_EQ(status, 400);
}

}  // namespace
}  // namespace smolvlm
