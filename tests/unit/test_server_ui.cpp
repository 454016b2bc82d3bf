// The chat page's server side: /ui and its files from the binary (content types, the strict CSP,
// revalidation by ETag) and POST /api/media/plan, which must price an attachment exactly as the
// encoder will tile it. The page itself is tested in Chromium by tests/cli/web_ui.sh.
#include <gtest/gtest.h>

#include "test_server_util.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::post_json;
using testing::server_env;

#define REQUIRE_TINY() SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf")

TEST(ServerUi, ThePageAndItsFilesComeFromTheBinary) {
  REQUIRE_TINY();
  auto c = server_env().client();
  const auto page = c.Get("/ui");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("data-testid=\"model-select\""), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  for (const auto& [path, type] : {std::pair{"/ui/app.js", "text/javascript; charset=utf-8"},
                                   {"/ui/app.css", "text/css; charset=utf-8"},
                                   {"/ui/icon.svg", "image/svg+xml"}}) {
    const auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), type) << path;
    // Revalidation: the same ETag answers 304 with no body.
    const auto again = c.Get(path, {{"If-None-Match", r->get_header_value("ETag")}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304) << path;
    EXPECT_TRUE(again->body.empty());
  }
  const auto root = c.Get("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->body, "Ollama is running");  // API clients still see Ollama
  const auto missing = c.Get("/ui/nope.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(ServerUi, MediaPlanPricesImagesAndVideosAsTheEncoderTilesThem) {
  REQUIRE_TINY();
  auto c = server_env().client();
  int status = 0;
  // 300 x 200 (golden/tiny512/inputs/image.png's size): 3 x 4 tiles + the global view, 64 tokens each
  // (the processor's own plan, `smolvlm dev preprocess`); a square one 4 x 4 + 1; a 12.5 s video: 12
  // frames at 1 fps (round half to even).
  json r = post_json(c, "/api/media/plan",
                     {{"model", "tiny"},
                      {"images", {{{"width", 300}, {"height", 200}}, {{"width", 64}, {"height", 64}}}},
                      {"videos", {{{"duration", 12.5}}}}},
                     &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["tokens_per_frame"], 64);
  EXPECT_EQ(r["images"][0], json({{"rows", 3}, {"cols", 4}, {"frames", 13}, {"tokens", 832}}));
  EXPECT_EQ(r["images"][1], json({{"rows", 4}, {"cols", 4}, {"frames", 17}, {"tokens", 1088}}));
  EXPECT_EQ(r["videos"][0], json({{"frames", 12}, {"tokens", 768}}));
  // max_tiles lowers the grid: at most 4 tiles -> 2 x 2 + 1; 1 -> one frame.
  r = post_json(c, "/api/media/plan",
                {{"model", "tiny"}, {"images", {{{"width", 300}, {"height", 200}}}}, {"options", {{"max_tiles", 4}}}},
                &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["images"][0]["frames"], 5);
  EXPECT_EQ(r["max_tiles"], 4);
  r = post_json(c, "/api/media/plan",
                {{"model", "tiny"}, {"images", {{{"width", 300}, {"height", 200}}}}, {"options", {{"max_tiles", 1}}}},
                &status);
  EXPECT_EQ(r["images"][0], json({{"rows", 0}, {"cols", 0}, {"frames", 1}, {"tokens", 64}}));

  // Bad requests: named, 4xx.
  r = post_json(c, "/api/media/plan", {{"images", json::array()}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["error"], "model is required");
  r = post_json(c, "/api/media/plan", {{"model", "nope"}}, &status);
  EXPECT_EQ(status, 404) << r.dump();
  r = post_json(c, "/api/media/plan", {{"model", "tiny"}, {"images", {{{"width", 0}, {"height", 5}}}}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(r["error"].get<std::string>().find("images.width"), std::string::npos) << r.dump();
  r = post_json(c, "/api/media/plan", {{"model", "tiny"}, {"videos", {"x"}}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(r["error"].get<std::string>().find("duration"), std::string::npos) << r.dump();
}

}  // namespace
}  // namespace smolvlm
