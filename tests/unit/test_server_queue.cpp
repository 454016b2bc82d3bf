// Concurrency in the server: a request waits while every slot of its model is busy, at most
// OLLAMA_MAX_QUEUE wait (the next gets 503 with Ollama's message), OLLAMA_NUM_PARALLEL slots run
// side by side, other routes answer while generations wait, and keep_alive unloads an idle model.
// Also our `videos` extension on chat messages.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "store/create.h"
#include "test_server_util.h"
#include "video_fixture.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::server_env;

#define REQUIRE_TINY() SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf")

// A second server on the fixture's store with its own manager settings.
std::unique_ptr<server::HttpServer> start_server(int num_parallel, int max_queue) {
  server::ServerOptions o;
  o.port = 0;
  o.manager.num_parallel = num_parallel;
  o.manager.max_queue = max_queue;
  o.manager.threads = 1;
  o.http_threads = 8;
  auto s = std::make_unique<server::HttpServer>(o, server::store_source(server_env().dir.path().string()));
  s->start();
  return s;
}

int post_status(int port, const json& body) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  auto r = c.Post("/api/generate", body.dump(), "application/json");
  return r ? r->status : -1;
}

const json kShort = {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", {{"num_predict", 2}}}};

TEST(ServerQueue, FullQueueAnswers503AndWaitersRunWhenTheSlotFrees) {
  REQUIRE_TINY();
  auto srv = start_server(/*num_parallel=*/1, /*max_queue=*/1);
  auto& models = srv->models();
  const ResolvedModel m = models.resolve("tiny");
  auto held = models.acquire(m, server::Seconds(60), 0, 0);  // the only slot, busy

  auto waiter = std::async(std::launch::async, [&] { return post_status(srv->port(), kShort); });
  for (int i = 0; i < 500 && models.waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(models.waiting(), 1);
  {
    httplib::Client c("127.0.0.1", srv->port());
    auto r = c.Post("/api/generate", kShort.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    EXPECT_EQ(json::parse(r->body)["error"], "server busy, please try again.  maximum pending requests exceeded");
  }
  // Other routes are not blocked by the waiting generation.
  httplib::Client c("127.0.0.1", srv->port());
  auto tags = c.Get("/api/tags");
  ASSERT_TRUE(tags);
  EXPECT_EQ(tags->status, 200);
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);  // still waiting
  held.reset();  // the slot frees: the waiter runs
  EXPECT_EQ(waiter.get(), 200);
  EXPECT_EQ(post_status(srv->port(), kShort), 200);
}

TEST(ServerQueue, ParallelSlotsRunTogether) {
  REQUIRE_TINY();
  auto srv = start_server(/*num_parallel=*/2, /*max_queue=*/4);
  auto& models = srv->models();
  const ResolvedModel m = models.resolve("tiny");
  auto a = models.acquire(m, server::Seconds(60), 0, 0);
  // The second slot is free: a request runs while `a` holds the first.
  auto r = std::async(std::launch::async, [&] { return post_status(srv->port(), kShort); });
  ASSERT_EQ(r.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(r.get(), 200);
  a.reset();
}

// OLLAMA_NUM_PARALLEL 4: concurrent greedy generations share one pool and their decode steps run
// in batched passes (fewer passes than steps), each reply exactly the one it gets alone (Q8_0:
// batched decode is bit-identical).
TEST(ServerQueue, ParallelDecodeStepsAreBatched) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  testing::TempDir root;
  {
    ModelStore store(root.path().string());
    CreateRequest c;
    c.model = "tinyq";
    const BlobInfo b = store.blobs().put_file(testing::shared_path("golden/tiny512/gguf/text-Q8_0.gguf").string());
    c.files.push_back({"model.gguf", b.digest});
    create_model(store, c);
  }
  const std::vector<std::string> prompts = {"hi", "Tell me a story about a cat", "1 2 3", "Why is the sky blue?"};
  auto start = [&](int parallel) {
    server::ServerOptions o;
    o.port = 0;
    o.manager.num_parallel = parallel;
    o.manager.threads = 2;
    o.manager.batch_wait = std::chrono::seconds(10);  // deterministic batching on a loaded machine
    auto s = std::make_unique<server::HttpServer>(o, server::store_source(root.path().string()));
    s->start();
    return s;
  };
  auto generate = [](int port, const std::string& prompt) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    // Long enough to overlap on a loaded machine: one JSON string of at least 1500 characters (the end of
    // generation is masked until then), greedy.
    const json body = {{"model", "tinyq"}, {"prompt", prompt}, {"raw", true}, {"stream", false},
                       {"format", {{"type", "string"}, {"minLength", 1500}}},
                       {"options", {{"temperature", 0}, {"num_predict", 2000}, {"num_ctx", 2048}}}};
    auto r = c.Post("/api/generate", body.dump(), "application/json");
    return r && r->status == 200 ? json::parse(r->body)["response"].get<std::string>() : std::string("<failed>");
  };
  std::vector<std::string> alone;
  {
    auto one = start(1);
    for (const auto& p : prompts) alone.push_back(generate(one->port(), p));
  }
  auto four = start(4);
  std::vector<std::future<std::string>> replies;
  for (const auto& p : prompts) replies.push_back(std::async(std::launch::async, [&, p] { return generate(four->port(), p); }));
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(replies[i].get(), alone[i]) << prompts[i];
  const auto [passes, steps] = four->models().decode_batches("tinyq");
  std::printf("  %llu decode steps in %llu passes\n", static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(passes));
  EXPECT_GT(steps, 0u);
  EXPECT_LT(passes, steps);
}

TEST(ServerQueue, KeepAliveUnloadsIdleModel) {
  REQUIRE_TINY();
  auto srv = start_server(1, 4);
  json req = kShort;
  req["keep_alive"] = "200ms";
  EXPECT_EQ(post_status(srv->port(), req), 200);
  httplib::Client c("127.0.0.1", srv->port());
  auto loaded = c.Get("/api/ps");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(json::parse(loaded->body)["models"].size(), 1u);
  bool unloaded = false;
  for (int i = 0; i < 100 && !unloaded; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto ps = c.Get("/api/ps");
    unloaded = ps && json::parse(ps->body)["models"].empty();
  }
  EXPECT_TRUE(unloaded);
  // keep_alive -1: loaded for good.
  req["keep_alive"] = -1;
  EXPECT_EQ(post_status(srv->port(), req), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto ps = c.Get("/api/ps");
  ASSERT_TRUE(ps);
  EXPECT_EQ(json::parse(ps->body)["models"].size(), 1u);
}

}  // namespace
}  // namespace smolvlm

namespace smolvlm {
namespace {

// Our extension: base64 videos on chat messages (frames sampled and encoded like `run --video`).
TEST(ServerVideo, ChatWithBase64Video) {
  REQUIRE_TINY();
  SMOLVLM_REQUIRE_VIDEO();
  testing::TempDir dir;
  const std::string path = (dir / "clip.mp4").string();
  testing::write_test_video(path, testing::TestVideoSpec{});
  const std::string b64 = testing::base64(testing::read_file(path));
  auto c = server_env().client();
  int status = 0;
  const json r = testing::post_json(c, "/api/chat", {{"model", "tiny"}, {"stream", false},
      {"messages", {{{"role", "user"}, {"content", "What happens?"}, {"videos", {b64}}}}},
      {"options", {{"temperature", 0}, {"num_predict", 2}}}}, &status);
  EXPECT_EQ(status, 200) << r.dump();
  EXPECT_GT(r["prompt_eval_count"].get<int64_t>(), 64);  // frames of image tokens
  testing::post_json(c, "/api/chat", {{"model", "tiny"}, {"stream", false},
      {"messages", {{{"role", "user"}, {"content", "x"}, {"videos", {testing::base64({'n', 'o'})}}}}}}, &status);
  EXPECT_EQ(status, 400);
}

}  // namespace
}  // namespace smolvlm
