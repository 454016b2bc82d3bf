// Bad input against the live server (ollama-contract §0, §1.5): each gets Ollama's status and
// error shape, and the server keeps answering afterwards. A client that disconnects mid-stream
// cancels its generation and frees the slot.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/api_types.h"
#include "test_server_util.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::server_env;

#define REQUIRE_TINY() SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf")

struct Reply {
  int status = 0;
  std::string body;
  json error() const { return json::parse(body, nullptr, false); }
};

Reply post(const std::string& path, const std::string& body) {
  auto c = server_env().client();
  auto r = c.Post(path.c_str(), body, "application/json");
  EXPECT_TRUE(r) << path;
  return r ? Reply{r->status, r->body} : Reply{};
}

// The server still answers after a bad request.
void expect_alive() {
  auto c = server_env().client();
  auto r = c.Get("/api/version");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

void expect_error(const Reply& r, int status, const std::string& message_part) {
  EXPECT_EQ(r.status, status) << r.body;
  const json e = r.error();
  ASSERT_TRUE(e.is_object() && e.contains("error") && e["error"].is_string()) << r.body;
  EXPECT_NE(e["error"].get<std::string>().find(message_part), std::string::npos) << r.body;
  expect_alive();
}

TEST(ServerErrors, MalformedAndMissingBodies) {
  REQUIRE_TINY();
  expect_error(post("/api/generate", ""), 400, "missing request body");
  expect_error(post("/api/generate", "{\"model\": \"tiny\", "), 400, "");
  expect_error(post("/api/chat", "[1,2]"), 400, "cannot unmarshal array");
  expect_error(post("/api/show", "not json"), 400, "");
}

TEST(ServerErrors, WrongFieldTypes) {
  REQUIRE_TINY();
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":5})"), 400,
               "cannot unmarshal number into Go struct field GenerateRequest.prompt of type string");
  expect_error(post("/api/chat", R"({"model":"tiny","messages":"hi"})"), 400, "ChatRequest.messages");
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","stream":"yes"})"), 400, "of type bool");
  // Options: a known key of the wrong type is the client's error: 400 (Ollama answers 500) with
  // Ollama's message; unknown keys are ignored.
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","options":{"temperature":"hot"}})"), 400,
               "option \"temperature\" must be of type float32");
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","options":{"stop":"\n"}})"), 400,
               "option \"stop\" must be of type array");
  expect_error(post("/api/chat", R"({"model":"tiny","messages":[{"role":"user","content":"x"}],"options":{"num_predict":"3"}})"),
               400, "option \"num_predict\" must be of type integer");
  const Reply ok = post("/api/generate",
                        R"({"model":"tiny","prompt":"x","stream":false,"options":{"num_predict":1,"tfs_z":1,"penalize_newline":true}})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","keep_alive":"300"})"), 400, "missing unit");
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","format":"xml"})"), 400, "invalid format");
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","raw":true,"system":"s"})"), 400,
               "raw mode does not support template, system, or context");
}

TEST(ServerErrors, UnknownModel) {
  REQUIRE_TINY();
  expect_error(post("/api/generate", R"({"model":"nope","prompt":"x"})"), 404, "model 'nope' not found");
  expect_error(post("/api/chat", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})"), 404,
               "model 'nope' not found");
  expect_error(post("/api/show", R"({"name":"nope"})"), 404, "model 'nope' not found");
  const Reply o = post("/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(o.status, 404);
  EXPECT_EQ(o.error()["error"]["type"], "not_found_error") << o.body;
  const Reply bad = post("/api/generate", R"({"model":"../../etc/passwd","prompt":"x"})");
  EXPECT_TRUE(bad.status == 400 || bad.status == 404) << bad.body;
  expect_alive();
}

TEST(ServerErrors, BodyOverTheLimit) {
  REQUIRE_TINY();
  const std::string big = R"({"model":"tiny","prompt":")" + std::string(testing::kServerMaxBody + 10, 'a') + "\"}";
  auto c = server_env().client();
  auto r = c.Post("/api/generate", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  expect_alive();
}

TEST(ServerErrors, InvalidImages) {
  REQUIRE_TINY();
  expect_error(post("/api/generate", R"({"model":"tiny","prompt":"x","images":["data:image/png;base64,AAAA"]})"), 400,
               "illegal base64 data at input byte 4");
  expect_error(post("/api/chat", R"({"model":"tiny","messages":[{"role":"user","content":"x","images":["abc"]}]})"), 400,
               "illegal base64 data");
  // Valid base64 of bytes that are not an image.
  const std::string not_image = testing::base64(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  expect_error(post("/api/chat", json{{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "x"}, {"images", {not_image}}}}}}.dump()),
               400, "image");
  const Reply o = post("/v1/chat/completions",
                       R"({"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})");
  EXPECT_EQ(o.status, 400);
  EXPECT_NE(o.body.find("image URLs are not currently supported"), std::string::npos) << o.body;
  const Reply empty = post("/v1/chat/completions", R"({"model":"tiny","messages":[]})");
  EXPECT_EQ(empty.status, 400);
  EXPECT_NE(empty.body.find("[] is too short - 'messages'"), std::string::npos) << empty.body;
  expect_alive();
}

TEST(ServerErrors, ClientDisconnectCancelsGeneration) {
  REQUIRE_TINY();
  auto& env = server_env();
  const int64_t before = env.server->models().cancelled_generations.load();
  {
    auto c = env.client();
    int chunks = 0;
    // A long generation (no end-of-generation id can stop it early: raw text, num_ctx big enough).
    const std::string body = json{{"model", "tiny"}, {"prompt", "Hello"}, {"raw", true},
                                  {"options", {{"num_predict", 4000}, {"num_ctx", 4096}, {"temperature", 1.0}, {"seed", 1}}}}.dump();
    httplib::Request req;
    req.method = "POST";
    req.path = "/api/generate";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };  // then hangs up
    auto r = c.send(req);
    EXPECT_GE(chunks, 1);
  }
  // The generation notices at its next write and stops; the slot is free for the next request.
  for (int i = 0; i < 200 && env.server->models().cancelled_generations.load() == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT(env.server->models().cancelled_generations.load(), before);
  const Reply ok = post("/api/generate", R"({"model":"tiny","prompt":"x","stream":false,"options":{"num_predict":1}})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// stream:false writes nothing until the end: the server watches the connection itself (ClientWatch)
// and stops the generation when the client hangs up, for Ollama's and OpenAI's routes alike.
TEST(ServerErrors, ClientDisconnectCancelsANonStreamedGeneration) {
  REQUIRE_TINY();
  auto& env = server_env();
  // A reply that cannot end early: one JSON string of at least 6000 characters (end of generation
  // is masked until then).
  const json long_string = {{"type", "string"}, {"minLength", 6000}};
  const json options = {{"num_ctx", 8192}, {"temperature", 1.0}, {"seed", 1}};
  const std::pair<const char*, json> requests[] = {
      {"/api/generate",
       {{"model", "tiny"}, {"prompt", "Hello"}, {"stream", false}, {"format", long_string}, {"options", options}}},
      {"/v1/chat/completions",
       {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "Hello"}}}}, {"seed", 1},
        {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", long_string}}}}}}}};
  for (const auto& [path, body] : requests) {
    SCOPED_TRACE(path);
    const int64_t before = env.server->models().cancelled_generations.load();
    {
      auto c = env.client();
      c.set_read_timeout(0, 150 * 1000);  // gives up (and closes the connection) long before the end
      auto r = c.Post(path, body.dump(), "application/json");
      EXPECT_FALSE(r);
    }
    for (int i = 0; i < 200 && env.server->models().cancelled_generations.load() == before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GT(env.server->models().cancelled_generations.load(), before);
  }
  const Reply ok = post("/api/generate", R"({"model":"tiny","prompt":"x","stream":false,"options":{"num_predict":1}})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(ServerApiTypes, Base64KeepAliveOptions) {
  EXPECT_EQ(server::decode_base64("aGVsbG8="), (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_THROW(server::decode_base64("aGVsbG8"), server::ApiError);  // unpadded
  EXPECT_THROW(server::decode_base64("a$=="), server::ApiError);
  EXPECT_EQ(server::parse_go_duration("1h30m").value(), 5400.0);
  EXPECT_EQ(server::parse_go_duration("300ms").value(), 0.3);
  EXPECT_FALSE(server::parse_go_duration("300").has_value());
  const json neg = -1;
  EXPECT_FALSE(server::parse_keep_alive(&neg, server::Seconds(5)).has_value());  // forever
  const json five = "5m";
  EXPECT_EQ(server::parse_keep_alive(&five, std::nullopt)->count(), 300.0);
  server::RequestSettings s;
  server::apply_options(json{{"temperature", 0.5}, {"top_k", 7.9}, {"stop", {"a", "b"}}, {"num_ctx", 1024}, {"unknown", "x"}}, s);
  EXPECT_FLOAT_EQ(s.generate.sampling.temperature, 0.5f);
  EXPECT_EQ(s.generate.sampling.top_k, 7);
  EXPECT_EQ(s.generate.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.num_ctx, 1024);
}

}  // namespace
}  // namespace smolvlm
