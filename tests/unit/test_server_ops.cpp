// What operators and balancers rely on: /health, /ready (503 while a --preload model loads and from
// the moment a drain begins), /metrics whose counters move as requests are served, a drain that
// lets a stream in flight finish (and cancels one past the shutdown timeout with a clear error),
// Retry-After on 503s, and Ollama's unserved routes answering 501 in its error shape.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <regex>
#include <thread>

#include "test_server_util.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::server_env;
using namespace std::chrono_literals;

#define REQUIRE_TINY() SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf")

std::unique_ptr<server::HttpServer> start_server(server::ModelSource source) {
  server::ServerOptions o;
  o.port = 0;
  o.manager.threads = 1;
  o.http_threads = 8;
  auto s = std::make_unique<server::HttpServer>(o, std::move(source));
  s->start();
  return s;
}
server::ModelSource fixture_store() { return server::store_source(server_env().dir.path().string()); }

httplib::Result get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  return c.Get(path);
}

// One sample of a metric line ("name{labels} value"), -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// A chat with `images` copies of the golden image, streamed: its NDJSON lines.
json chat_with_images(int images) {
  const std::vector<uint8_t> png = testing::read_file(testing::shared_path("golden/tiny512/inputs/image.png"));
  json imgs = json::array();
  for (int i = 0; i < images; ++i) imgs.push_back(testing::base64(png));
  return {{"model", "tiny"},
          {"stream", true},
          {"messages", {{{"role", "user"}, {"content", "Compare these."}, {"images", imgs}}}},
          {"options", {{"num_ctx", 8192}, {"num_predict", 4}, {"temperature", 0}}}};
}

TEST(ServerOps, HealthReadyAndMetricsThatMoveWithRequests) {
  REQUIRE_TINY();
  auto srv = start_server(fixture_store());
  auto h = get(srv->port(), "/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = get(srv->port(), "/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;

  httplib::Client c("127.0.0.1", srv->port());
  auto before = c.Get("/metrics");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  EXPECT_NE(before->get_header_value("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(sample(before->body, "smolvlm_ready"), 1);
  const json body = {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", {{"num_predict", 3}}}};
  for (int i = 0; i < 2; ++i) ASSERT_EQ(c.Post("/api/generate", body.dump(), "application/json")->status, 200);
  // A request is counted (and its slot released) just after its last byte went out: poll briefly.
  std::string m;
  for (int i = 0; i < 200; ++i, std::this_thread::sleep_for(10ms)) {
    m = c.Get("/metrics")->body;
    if (sample(m, R"(smolvlm_http_requests_total{route="/api/generate",status="200"})") == 2 &&
        sample(m, "smolvlm_kv_cache_usage_ratio") > 0)
      break;
  }
  EXPECT_EQ(sample(m, R"(smolvlm_http_requests_total{route="/api/generate",status="200"})"), 2) << m;
  EXPECT_GT(sample(m, R"(smolvlm_prompt_tokens_total{model="tiny:latest"})"), 0) << m;
  EXPECT_GE(sample(m, R"(smolvlm_generated_tokens_total{model="tiny:latest"})"), 2) << m;
  EXPECT_EQ(sample(m, R"(smolvlm_time_to_first_token_seconds_count{model="tiny:latest"})"), 2) << m;
  EXPECT_EQ(sample(m, "smolvlm_models_loaded"), 1) << m;
  EXPECT_GT(sample(m, "process_resident_memory_bytes"), 1e6) << m;
  EXPECT_GT(sample(m, "smolvlm_kv_cache_usage_ratio"), 0) << m;
  // Paths as sent never become labels: a blob digest counts under its route's pattern.
  c.Head("/api/blobs/sha256:" + std::string(64, 'a'));
  for (int i = 0; i < 200 && m.find(R"(route="/api/blobs/:digest")") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    m = c.Get("/metrics")->body;
  }
  EXPECT_NE(m.find(R"(route="/api/blobs/:digest")"), std::string::npos);
  EXPECT_EQ(c.Get("/metrics")->body.find(std::string(64, 'a')), std::string::npos);
}

TEST(ServerOps, UnservedOllamaRoutesAnswer501InTheirErrorShape) {
  REQUIRE_TINY();
  httplib::Client c("127.0.0.1", server_env().port());
  for (const char* path : {"/api/push", "/api/embed", "/api/embeddings"}) {
    auto r = c.Post(path, "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 501) << path;
    EXPECT_NE(json::parse(r->body).value("error", "").find("not implemented"), std::string::npos) << r->body;
  }
  auto v1 = c.Post("/v1/embeddings", "{}", "application/json");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->status, 501);
  EXPECT_TRUE(json::parse(v1->body)["error"].contains("message"));
}

// /ready is 503 while a preload runs (the store's answer held back here), 200 once it is loaded.
TEST(ServerOps, ReadyWaitsForThePreload) {
  REQUIRE_TINY();
  server::ModelSource source = fixture_store();
  auto gate = std::make_shared<std::promise<void>>();
  std::shared_future<void> open = gate->get_future().share();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto resolve = source.resolve;
  source.resolve = [=](const std::string& name) {
    if (++*calls == 2) open.wait();  // the preload thread's lookup waits for the test
    return resolve(name);
  };
  server::ServerOptions o;
  o.port = 0;
  o.manager.threads = 1;
  server::HttpServer srv(o, source);
  srv.preload({"tiny"});
  srv.start();
  auto r = get(srv.port(), "/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("loading the --preload models"), std::string::npos) << r->body;
  EXPECT_EQ(get(srv.port(), "/health")->status, 200);
  gate->set_value();
  int status = 0;
  for (int i = 0; i < 500 && status != 200; ++i, std::this_thread::sleep_for(10ms)) status = get(srv.port(), "/ready")->status;
  EXPECT_EQ(status, 200);
  EXPECT_NE(srv.models().ps().dump().find("tiny"), std::string::npos);  // loaded
  // and it stays, whatever keep_alive a later request gives
  httplib::Client c("127.0.0.1", srv.port());
  const json body = {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"keep_alive", "100ms"},
                     {"options", {{"num_predict", 2}}}};
  ASSERT_EQ(c.Post("/api/generate", body.dump(), "application/json")->status, 200);
  std::this_thread::sleep_for(500ms);
  EXPECT_NE(srv.models().ps().dump().find("tiny"), std::string::npos) << "a preloaded model was unloaded";
}

// A drain: /ready turns 503 at once, the stream in flight finishes (done: true), run() returns.
TEST(ServerOps, DrainLetsTheStreamInFlightFinish) {
  REQUIRE_TINY();
  auto srv = start_server(fixture_store());
  std::string body;
  auto stream = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", srv->port());
    c.set_read_timeout(120, 0);
    auto r = c.Post("/api/chat", chat_with_images(4).dump(), "application/json");
    return r ? r->body : std::string("no answer");
  });
  for (int i = 0; i < 1000 && srv->models().gauges().running == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(srv->models().gauges().running, 1);
  auto drain = std::async(std::launch::async, [&] { srv->drain(300ms, 60s); });
  std::this_thread::sleep_for(50ms);
  auto ready = get(srv->port(), "/ready");  // during the grace the listener still answers
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->get_header_value("Retry-After"), "1");
  drain.get();
  const std::vector<json> lines = testing::ndjson_lines(stream.get());
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines.back().value("done", false)) << lines.back().dump();
  EXPECT_FALSE(lines.back().contains("error"));
}

// Past the shutdown timeout, what still runs ends with a clear error line; new work gets 503.
TEST(ServerOps, DrainTimeoutCancelsWithAClearError) {
  REQUIRE_TINY();
  auto srv = start_server(fixture_store());
  auto stream = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", srv->port());
    c.set_read_timeout(120, 0);
    auto r = c.Post("/api/chat", chat_with_images(6).dump(), "application/json");
    return r ? r->body : std::string("no answer");
  });
  for (int i = 0; i < 1000 && srv->models().gauges().running == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(srv->models().gauges().running, 1);
  srv->drain(0ms, 50ms);  // encoding 6 images takes longer than that
  const std::vector<json> lines = testing::ndjson_lines(stream.get());
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().value("error", "").find("shutting down"), std::string::npos) << lines.back().dump();
  EXPECT_TRUE(srv->models().cancelling());
}

}  // namespace
}  // namespace smolvlm
