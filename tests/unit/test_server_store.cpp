// Model management through the server (ollama-contract §1.13-§1.15, §1.19), on a fresh store:
// blob upload (201 / 200, HEAD, bad digests, digest mismatch), create from uploaded GGUFs, then
// show / generate with it, copy, delete (blobs pruned), and names with path tricks rejected.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.h"
#include "convert/quantize_model.h"
#include "convert/quantize_policy.h"
#include "test_server_util.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::post_json;
using testing::shared_path;

#define REQUIRE_TINY() SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf")

TEST(ServerStore, BlobsCreateCopyDelete) {
  REQUIRE_TINY();
  testing::TempDir root;
  server::ServerOptions o;
  o.port = 0;
  o.manager.threads = 1;
  o.http_threads = 8;
  server::HttpServer srv(o, server::store_source(root.path().string()));
  srv.start();
  httplib::Client c("127.0.0.1", srv.port());
  c.set_read_timeout(60, 0);

  const auto text = testing::read_file(shared_path("golden/tiny512/gguf/text-F32.gguf"));
  const auto mmproj = testing::read_file(shared_path("golden/tiny512/gguf/mmproj-F32.gguf"));
  const std::string dt = "sha256:" + testing::sha256_hex(text), dm = "sha256:" + testing::sha256_hex(mmproj);
  auto upload = [&](const std::string& digest, const std::vector<uint8_t>& bytes) {
    auto r = c.Post(("/api/blobs/" + digest).c_str(), reinterpret_cast<const char*>(bytes.data()), bytes.size(),
                    "application/octet-stream");
    return r ? r->status : -1;
  };
  auto head = [&](const std::string& digest) {
    auto r = c.Head(("/api/blobs/" + digest).c_str());
    return r ? r->status : -1;
  };
  EXPECT_EQ(head(dt), 404);
  EXPECT_EQ(upload(dt, text), 201);
  EXPECT_EQ(upload(dt, text), 200);  // already there
  EXPECT_EQ(head(dt), 200);
  EXPECT_EQ(head("sha256-" + dt.substr(7)), 200);  // both spellings
  EXPECT_EQ(upload(dm, mmproj), 201);
  EXPECT_EQ(head("sha256:xyz"), 400);
  {
    const std::vector<uint8_t> other = {'n', 'o', 'p', 'e'};
    const std::string wrong = "sha256:" + std::string(64, 'a');
    auto r = c.Post(("/api/blobs/" + wrong).c_str(), "nope", 4, "application/octet-stream");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("digest mismatch"), std::string::npos) << r->body;
    EXPECT_EQ(head(wrong), 404);  // nothing left behind
  }

  // Create from the uploaded files; progress is NDJSON ending with "success".
  const json create = {{"model", "mine"}, {"files", {{"text.gguf", dt}, {"mmproj.gguf", dm}}}, {"system", "Be brief."},
                       {"parameters", {{"temperature", 0}, {"num_predict", 3}}}};
  auto cr = c.Post("/api/create", create.dump(), "application/json");
  ASSERT_TRUE(cr);
  ASSERT_EQ(cr->status, 200) << cr->body;
  const auto lines = testing::ndjson_lines(cr->body);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["status"], "success");
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const json& l) { return l["status"] == "success"; }), 1);

  int status = 0;
  const json show = post_json(c, "/api/show", {{"model", "mine"}}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(show["system"], "Be brief.");
  EXPECT_NE(std::find(show["capabilities"].begin(), show["capabilities"].end(), "vision"), show["capabilities"].end());
  const json gen = post_json(c, "/api/generate", {{"model", "mine"}, {"prompt", "hi"}, {"stream", false}}, &status);
  EXPECT_EQ(status, 200) << gen.dump();
  EXPECT_LE(gen["eval_count"].get<int64_t>(), 3);  // the model's num_predict parameter applies

  // Copy, delete.
  auto cp = c.Post("/api/copy", json{{"source", "mine"}, {"destination", "other:v1"}}.dump(), "application/json");
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->status, 200);
  EXPECT_TRUE(cp->body.empty());
  auto tags = c.Get("/api/tags");
  ASSERT_TRUE(tags);
  EXPECT_EQ(json::parse(tags->body)["models"].size(), 2u);
  auto missing = c.Post("/api/copy", json{{"source", "ghost"}, {"destination", "x"}}.dump(), "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto del = c.Delete("/api/delete", json{{"name", "other:v1"}}.dump(), "application/json");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  del = c.Delete("/api/delete", json{{"model", "other:v1"}}.dump(), "application/json");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 404);
  EXPECT_EQ(head(dt), 200);  // still used by "mine"

  // Names with path tricks.
  post_json(c, "/api/create", {{"model", "../evil"}, {"files", {{"text.gguf", dt}}}}, &status);
  EXPECT_EQ(status, 400);
  post_json(c, "/api/create", {{"model", "ok"}, {"files", {{"../text.gguf", dt}}}}, &status);
  EXPECT_EQ(status, 400);
  post_json(c, "/api/create", {{"model", "ok"}}, &status);
  EXPECT_EQ(status, 400);

  // Deleting the last user of the blobs prunes them.
  del = c.Delete("/api/delete", json{{"model", "mine"}}.dump(), "application/json");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(head(dt), 404);
  EXPECT_EQ(head(dm), 404);
  auto alive = c.Get("/api/version");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
}

// /api/create "quantize": the uploaded F32 model layer is replaced by a Q8_0 one (the source blob,
// referenced by nothing afterwards, is removed); a quantized source, an unknown type and a server
// without a quantizer are answered 400.
TEST(ServerStore, CreateQuantizesTheModelLayer) {
  REQUIRE_TINY();
  testing::TempDir root;
  server::ServerOptions o;
  o.port = 0;
  o.manager.threads = 1;
  o.quantize = [](const std::string& in, const std::string& out, const std::string& type) {
    QuantizeOptions q;
    q.input = in;
    q.output = out;
    q.target = parse_quant_target(type).value_or(QuantTarget::F16);
    if (!parse_quant_target(type)) fail("unknown quantization type '", type, "'");
    q.progress = 0;
    quantize_model(q);
  };
  server::HttpServer srv(o, server::store_source(root.path().string()));
  srv.start();
  httplib::Client c("127.0.0.1", srv.port());
  c.set_read_timeout(60, 0);
  const auto text = testing::read_file(shared_path("golden/tiny512/gguf/text-F32.gguf"));
  const std::string dt = "sha256:" + testing::sha256_hex(text);
  auto r = c.Post(("/api/blobs/" + dt).c_str(), reinterpret_cast<const char*>(text.data()), text.size(),
                  "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201);

  int status = 0;
  const json bad = post_json(c, "/api/create",
                             {{"model", "q"}, {"files", {{"text.gguf", dt}}}, {"quantize", "q4_Z"}, {"stream", false}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(bad.dump().find("unknown quantization type 'q4_Z'"), std::string::npos) << bad.dump();
  // Streamed (the default): the error is the last line; nothing was created.
  auto streamed_bad = c.Post("/api/create", json{{"model", "q"}, {"files", {{"text.gguf", dt}}}, {"quantize", "q4_Z"}}.dump(),
                             "application/json");
  ASSERT_TRUE(streamed_bad);
  EXPECT_EQ(streamed_bad->status, 200);
  const auto bad_lines = testing::ndjson_lines(streamed_bad->body);
  ASSERT_FALSE(bad_lines.empty());
  EXPECT_NE(bad_lines.back().value("error", "").find("unknown quantization type"), std::string::npos) << streamed_bad->body;
  // Streamed quantization: the statuses as they happen, then success.
  auto r2 = c.Post("/api/create", json{{"model", "q"}, {"files", {{"text.gguf", dt}}}, {"quantize", "q8_0"}}.dump(),
                   "application/json");
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->status, 200);
  EXPECT_EQ(r2->get_header_value("Content-Type"), "application/x-ndjson");
  const auto lines = testing::ndjson_lines(r2->body);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), json({{"status", "success"}})) << r2->body;
  EXPECT_NE(r2->body.find("quantizing F32 model to Q8_0"), std::string::npos) << r2->body;
  const json show = post_json(c, "/api/show", {{"model", "q"}}, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(show["details"]["quantization_level"], "Q8_0") << show["details"].dump();
  EXPECT_EQ(c.Head(("/api/blobs/" + dt).c_str())->status, 404);  // the F32 source is gone
  const json gen = post_json(c, "/api/generate", {{"model", "q"}, {"prompt", "hi"}, {"stream", false},
                                                  {"options", {{"num_predict", 2}}}}, &status);
  EXPECT_EQ(status, 200) << gen.dump();

  // A Q8_0 model cannot be quantized again.
  const json again =
      post_json(c, "/api/create", {{"model", "q2"}, {"from", "q"}, {"quantize", "q4_K_M"}, {"stream", false}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(again.dump().find("only supported for F16, BF16 and F32"), std::string::npos) << again.dump();

  // Without a quantizer.
  server::ServerOptions plain = o;
  plain.quantize = nullptr;
  server::HttpServer srv2(plain, server::store_source(root.path().string()));
  srv2.start();
  httplib::Client c2("127.0.0.1", srv2.port());
  const json none =
      post_json(c2, "/api/create", {{"model", "q3"}, {"from", "q"}, {"quantize", "q8_0"}, {"stream", false}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(none.dump().find("quantize is not available"), std::string::npos) << none.dump();
}

}  // namespace
}  // namespace smolvlm
