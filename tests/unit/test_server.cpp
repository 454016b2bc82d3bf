// The Ollama-compatible server end to end over HTTP (ollama-contract §0-§2): version / root, tags,
// show, ps; generate and chat streamed (NDJSON) and not, with an image; a greedy reply equal to a
// Session's for the same prompt; the OpenAI chat route streamed (SSE) and not; env parsing helpers.
#include <gtest/gtest.h>

#include <regex>

#include "base/error.h"
#include "kernels/thread_pool.h"
#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"
#include "runtime/session.h"
#include "test_server_util.h"
#include "tokenizer/chat_template.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::post_json;
using testing::server_env;
using testing::shared_path;

#define REQUIRE_TINY() SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf")

// What a Session generates greedily for one user message (leading whitespace removed, as served).
std::string session_reply(const std::string& user, int64_t n) {
  auto model = LoadedModel::load(shared_path("golden/tiny512/gguf/text-F32.gguf").string());
  kernels::ThreadPool pool(2);
  Session s(model, {}, pool);
  const std::string text = render_chat({ChatMessage::text("user", user)});
  const Prompt p = build_prompt(model->tokenizer(), text, {});
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.num_predict = n;
  std::string out = s.generate(p, o, [](std::string_view) { return true; }).text;
  out.erase(0, out.find_first_not_of(" \n\t\r"));
  return out;
}

TEST(Server, RootVersionAndHead) {
  REQUIRE_TINY();
  auto c = server_env().client();
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Ollama is running");
  auto h = c.Head("/");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto v = c.Get("/api/version");
  ASSERT_TRUE(v);
  const std::string ver = json::parse(v->body).at("version");
  EXPECT_TRUE(std::regex_match(ver, std::regex(R"(\d+\.\d+\.\d+)"))) << ver;
  auto nf = c.Get("/api/nope");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->body, "404 page not found");
  auto na = c.Get("/api/generate");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405);
}

TEST(Server, TagsShowPs) {
  REQUIRE_TINY();
  auto& env = server_env();
  auto c = env.client();
  auto t = c.Get("/api/tags");
  ASSERT_TRUE(t);
  const json tags = json::parse(t->body);
  ASSERT_EQ(tags["models"].size(), 1u) << t->body;
  EXPECT_EQ(tags["models"][0]["name"], "tiny:latest");
  EXPECT_EQ(tags["models"][0]["model"], "tiny:latest");
  EXPECT_EQ(tags["models"][0]["digest"], env.manifest_digest);

  int status = 0;
  const json show = post_json(c, "/api/show", {{"model", "tiny"}}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(show["model_info"]["general.architecture"], "llama");
  EXPECT_TRUE(show["model_info"].contains("llama.context_length"));
  EXPECT_TRUE(show.contains("projector_info"));
  EXPECT_NE(std::find(show["capabilities"].begin(), show["capabilities"].end(), "vision"), show["capabilities"].end());
  EXPECT_EQ(show["details"]["format"], "gguf");

  // Loaded by a request, the model shows in /api/ps.
  post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", {{"num_predict", 2}}}});
  auto p = c.Get("/api/ps");
  ASSERT_TRUE(p);
  const json ps = json::parse(p->body);
  ASSERT_EQ(ps["models"].size(), 1u) << p->body;
  EXPECT_EQ(ps["models"][0]["name"], "tiny:latest");
  EXPECT_GT(ps["models"][0]["context_length"].get<int64_t>(), 0);
}

TEST(Server, GenerateGreedyEqualsSessionStreamedAndNot) {
  REQUIRE_TINY();
  auto c = server_env().client();
  const json req = {{"model", "tiny"}, {"prompt", "Hello there"}, {"stream", false},
                    {"options", {{"temperature", 0}, {"num_predict", 12.7}, {"mirostat", 1}}}};
  int status = 0;
  const json r = post_json(c, "/api/generate", req, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["model"], "tiny");
  EXPECT_EQ(r["done"], true);
  EXPECT_FALSE(r["response"].get<std::string>().empty());
  EXPECT_EQ(r["response"], session_reply("Hello there", 12));
  EXPECT_TRUE(r["done_reason"] == "stop" || r["done_reason"] == "length");
  EXPECT_GT(r["eval_count"].get<int64_t>(), 0);
  EXPECT_LE(r["eval_count"].get<int64_t>(), 12);  // 12.7 -> 12: the fraction is dropped
  EXPECT_GT(r["total_duration"].get<int64_t>(), r["eval_duration"].get<int64_t>());
  EXPECT_TRUE(r.contains("prompt_eval_duration"));
  EXPECT_FALSE(r["context"].empty());
  EXPECT_TRUE(std::regex_match(r["created_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")));

  // Streamed (the default): NDJSON pieces that add up to the same text, then one done:true line.
  json sreq = req;
  sreq.erase("stream");
  auto s = c.Post("/api/generate", sreq.dump(), "application/json");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200);
  EXPECT_NE(s->get_header_value("Content-Type").find("application/x-ndjson"), std::string::npos);
  const auto lines = testing::ndjson_lines(s->body);
  ASSERT_GE(lines.size(), 2u);
  std::string text;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["done"], false);
    text += lines[i]["response"].get<std::string>();
  }
  EXPECT_EQ(text, r["response"]);
  EXPECT_EQ(lines.back()["done"], true);
  EXPECT_EQ(lines.back()["response"], "");
  EXPECT_EQ(lines.back()["eval_count"], r["eval_count"]);
}

// A request `template` (a Go template) replaces the chat template: "{{ .Prompt }}" gives the same
// prompt as raw mode; a model-less system goes to .System.
TEST(Server, GenerateTemplateOverrideAndRaw) {
  REQUIRE_TINY();
  auto c = server_env().client();
  const json opts = {{"temperature", 0}, {"num_predict", 8}};
  const json raw = post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "Hello there"}, {"raw", true}, {"stream", false}, {"options", opts}});
  const json tmpl = post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "Hello there"}, {"template", "{{ .Prompt }}"}, {"stream", false}, {"options", opts}});
  const json sys = post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "there"}, {"system", "Hello"}, {"template", "{{ .System }} {{ .Prompt }}"}, {"stream", false}, {"options", opts}});
  const json native = post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "Hello there"}, {"stream", false}, {"options", opts}});
  EXPECT_FALSE(raw.contains("context"));
  EXPECT_FALSE(raw["response"].get<std::string>().empty());
  EXPECT_EQ(raw["response"], tmpl["response"]);
  EXPECT_EQ(tmpl["context"], sys["context"]);  // the same prompt ids, the same reply
  // The chat template adds tokens around the prompt.
  EXPECT_GT(native["context"].size(), tmpl["context"].size());
  int status = 0;
  post_json(c, "/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"template", "{{ .Prompt "}}, &status);
  EXPECT_EQ(status, 500);
}

TEST(Server, ChatWithImageStreamedAndNot) {
  REQUIRE_TINY();
  auto c = server_env().client();
  const std::string img = testing::base64(testing::read_file(shared_path("golden/tiny512/inputs/image.png")));
  const json req = {{"model", "tiny"},
                    {"messages", {{{"role", "USER"}, {"content", "What is this?"}, {"images", {img}}}}},
                    {"stream", false},
                    {"options", {{"temperature", 0}, {"num_predict", 6}}}};
  int status = 0;
  const json r = post_json(c, "/api/chat", req, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["message"]["role"], "assistant");
  EXPECT_EQ(r["done"], true);
  EXPECT_FALSE(r.contains("context"));
  // The image's tiles are in the prompt: many more tokens than the text alone.
  const json text_only = post_json(c, "/api/chat", {{"model", "tiny"}, {"stream", false},
                                                     {"messages", {{{"role", "user"}, {"content", "What is this?"}}}},
                                                     {"options", {{"temperature", 0}, {"num_predict", 1}}}});
  EXPECT_GT(r["prompt_eval_count"].get<int64_t>(), 64);
  EXPECT_LT(text_only["prompt_eval_count"].get<int64_t>(), 32);

  json sreq = req;
  sreq["stream"] = true;
  auto s = c.Post("/api/chat", sreq.dump(), "application/json");
  ASSERT_TRUE(s);
  const auto lines = testing::ndjson_lines(s->body);
  ASSERT_GE(lines.size(), 1u);
  std::string text;
  for (const json& l : lines) text += l["message"]["content"].get<std::string>();
  EXPECT_EQ(text, r["message"]["content"]);
  EXPECT_EQ(lines.back()["done"], true);
  EXPECT_TRUE(lines.back().contains("prompt_eval_count") || lines.back().contains("eval_count"));
}

TEST(Server, LoadAndUnloadWithEmptyPrompt) {
  REQUIRE_TINY();
  auto c = server_env().client();
  const json load = post_json(c, "/api/generate", {{"model", "tiny"}});
  EXPECT_EQ(load["done_reason"], "load");
  const json unload = post_json(c, "/api/chat", {{"model", "tiny"}, {"messages", json::array()}, {"keep_alive", 0}});
  EXPECT_EQ(unload["done_reason"], "unload");
  auto p = c.Get("/api/ps");
  ASSERT_TRUE(p);
  EXPECT_TRUE(json::parse(p->body)["models"].empty()) << p->body;
}

TEST(Server, OpenAIChatCompletions) {
  REQUIRE_TINY();
  auto c = server_env().client();
  const std::string img = testing::base64(testing::read_file(shared_path("golden/tiny512/inputs/image.png")));
  const json req = {{"model", "tiny"},
                    {"temperature", 0},
                    {"max_tokens", 12},
                    {"messages", {{{"role", "user"}, {"content", "Hello there"}}}}};
  int status = 0;
  const json r = post_json(c, "/v1/chat/completions", req, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["content"], session_reply("Hello there", 12));
  EXPECT_GT(r["usage"]["total_tokens"].get<int64_t>(), 0);

  json sreq = req;
  sreq["stream"] = true;
  sreq["stream_options"] = {{"include_usage", true}};
  auto s = c.Post("/v1/chat/completions", sreq.dump(), "application/json");
  ASSERT_TRUE(s);
  EXPECT_NE(s->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  std::vector<std::string> events;
  for (size_t pos = 0; pos < s->body.size();) {
    const size_t end = s->body.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos);
    ASSERT_EQ(s->body.compare(pos, 6, "data: "), 0);
    events.push_back(s->body.substr(pos + 6, end - pos - 6));
    pos = end + 2;
  }
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  const json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"], r["usage"]);
  const json finish = json::parse(events[events.size() - 3]);
  EXPECT_EQ(finish["choices"][0]["delta"], json::object());
  EXPECT_EQ(finish["choices"][0]["finish_reason"], r["choices"][0]["finish_reason"]);
  std::string text;
  for (size_t i = 0; i + 3 < events.size(); ++i) {
    const json e = json::parse(events[i]);
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["created"], finish["created"]);
    EXPECT_EQ(e["choices"][0]["delta"].contains("role"), i == 0);
    text += e["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, r["choices"][0]["message"]["content"]);

  // Text and image_url parts (a data URL).
  const json vreq = {{"model", "tiny"}, {"max_tokens", 3},
                     {"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "What is it?"}},
                                                                  {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + img}}}}}}}}}};
  const json v = post_json(c, "/v1/chat/completions", vreq, &status);
  EXPECT_EQ(status, 200) << v.dump();
  EXPECT_GT(v["usage"]["prompt_tokens"].get<int64_t>(), 64);

  // /v1/completions: the same prompt through the chat template gives the same greedy text.
  const json comp = post_json(c, "/v1/completions", {{"model", "tiny"}, {"prompt", "Hello there"}, {"temperature", 0}, {"max_tokens", 12}}, &status);
  EXPECT_EQ(status, 200) << comp.dump();
  EXPECT_EQ(comp["object"], "text_completion");
  EXPECT_EQ(comp["choices"][0]["text"], r["choices"][0]["message"]["content"]);
  auto cs = c.Post("/v1/completions", json{{"model", "tiny"}, {"prompt", "Hello there"}, {"temperature", 0}, {"max_tokens", 12}, {"stream", true}}.dump(), "application/json");
  ASSERT_TRUE(cs);
  EXPECT_NE(cs->body.find("\"finish_reason\":\""), std::string::npos);
  EXPECT_TRUE(cs->body.ends_with("data: [DONE]\n\n"));

  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  const json models = json::parse(m->body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "tiny:latest");
  EXPECT_EQ(models["data"][0]["owned_by"], "library");
}

TEST(ServerHost, ParsesOllamaHost) {
  auto a = server::parse_host("");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 11434);
  a = server::parse_host(" \"0.0.0.0\" ");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 11434);
  a = server::parse_host("http://example.com");
  EXPECT_EQ(a.port, 80);
  a = server::parse_host("https://example.com/path");
  EXPECT_EQ(a.host, "example.com");
  EXPECT_EQ(a.port, 443);
  a = server::parse_host(":8080");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 8080);
  a = server::parse_host("[::1]:9000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 9000);
  EXPECT_THROW(server::parse_host("host:99999"), Error);
  EXPECT_TRUE(server::host_allowed("localhost:11434"));
  EXPECT_TRUE(server::host_allowed("192.168.1.4"));
  EXPECT_TRUE(server::host_allowed("box.local"));
  EXPECT_FALSE(server::host_allowed("evil.example.com"));
  EXPECT_TRUE(server::origin_allowed("http://localhost:3000", {}));
  EXPECT_FALSE(server::origin_allowed("https://evil.example.com", {}));
  EXPECT_TRUE(server::origin_allowed("https://evil.example.com", {"https://*.example.com"}));
}

TEST(ServerHost, RejectsForeignHostAndOrigin) {
  REQUIRE_TINY();
  auto c = server_env().client();
  auto r = c.Get("/api/version", {{"Host", "evil.example.com"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  r = c.Get("/api/version", {{"Origin", "https://evil.example.com"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  r = c.Get("/api/version", {{"Origin", "http://localhost:5173"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://localhost:5173");
  r = c.Options("/api/chat", {{"Origin", "http://localhost:5173"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
}

}  // namespace
}  // namespace smolvlm
