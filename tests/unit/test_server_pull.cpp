// POST /api/pull on an in-process server whose HF_ENDPOINT is a local fake hub (hub_fixture.h):
// the streamed statuses in Ollama's order, the pulled model in /api/tags and generating, an unknown
// repository as an error line (stream) or a 500 (stream:false), safetensors names refused with 400,
// and a client that disconnects mid-transfer cancelling the pull.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "hub_fixture.h"
#include "server/http_server.h"
#include "store/manifest.h"
#include "support/testing.h"
#include "test_server_util.h"

namespace fs = std::filesystem;
using namespace smolvlm;
using namespace smolvlm::testing;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
std::string hex_of(const std::string& bytes) { return sha256_digest(bytes).substr(7); }

const char* const kModel = "hf.co/ggml-org/Tiny-GGUF:Q8_0";

class ServerPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
    text_ = slurp(shared_path("golden/tiny512/gguf/text-Q8_0.gguf"));
    mmproj_ = slurp(shared_path("golden/tiny512/gguf/mmproj-F32.gguf"));
    auto& repo = hub_.repos["ggml-org/Tiny-GGUF"];
    repo["Tiny-Q8_0.gguf"] = {text_, hex_of(text_)};
    repo["mmproj-Tiny-F32.gguf"] = {mmproj_, hex_of(mmproj_)};
    repo["README.md"] = {"# Tiny\n", ""};
    env_ = std::make_unique<ScopedEnv>(std::vector<std::pair<std::string, std::optional<std::string>>>{
        {"HF_ENDPOINT", hub_.endpoint()},
        {"HF_HUB_CACHE", (tmp_.path() / "hf-cache").string()},
        {"HF_TOKEN", std::nullopt},
        {"HUGGING_FACE_HUB_TOKEN", std::nullopt}});
    server::ServerOptions o;
    o.port = 0;
    o.manager.threads = 2;
    server_ = std::make_unique<server::HttpServer>(o, server::store_source(store_dir()));
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::string store_dir() const { return (tmp_.path() / "models").string(); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    return c;
  }
  // Lines of a streamed pull, and the HTTP status.
  std::vector<json> pull_stream(const std::string& name, int* status) {
    auto c = client();
    auto res = c.Post("/api/pull", json{{"model", name}}.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    *status = res->status;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/x-ndjson");
    return ndjson_lines(res->body);
  }
  bool in_tags(const std::string& needle) {
    auto c = client();
    auto res = c.Get("/api/tags");
    EXPECT_TRUE(res);
    if (!res) return false;
    const json tags = json::parse(res->body);
    for (const json& m : tags["models"])
      if (m["name"].get<std::string>().find(needle) != std::string::npos) return true;
    return false;
  }

  FakeHub hub_;
  TempDir tmp_;
  std::unique_ptr<ScopedEnv> env_;
  std::unique_ptr<server::HttpServer> server_;
  std::string text_, mmproj_;
};

// Consecutive distinct statuses.
std::vector<std::string> statuses(const std::vector<json>& lines) {
  std::vector<std::string> out;
  for (const json& l : lines) {
    const std::string s = l.value("status", l.contains("error") ? "error" : "");
    if (out.empty() || out.back() != s) out.push_back(s);
  }
  return out;
}

TEST_F(ServerPullTest, StreamsOllamaStatusesThenModelIsListedAndGenerates) {
  int status = 0;
  const auto lines = pull_stream(kModel, &status);
  EXPECT_EQ(status, 200);
  const std::vector<std::string> expected = {"pulling manifest", "pulling " + hex_of(text_).substr(0, 12),
                                             "pulling " + hex_of(mmproj_).substr(0, 12), "verifying sha256 digest",
                                             "writing manifest", "success"};
  EXPECT_EQ(statuses(lines), expected);
  // Transfer lines carry digest / total / completed; each file's last one is complete.
  for (const auto& [bytes, hex] : {std::pair{&text_, hex_of(text_)}, std::pair{&mmproj_, hex_of(mmproj_)}}) {
    const json* last = nullptr;
    for (const json& l : lines)
      if (l.value("digest", "") == "sha256:" + hex) last = &l;
    ASSERT_NE(last, nullptr) << hex;
    EXPECT_EQ((*last)["total"], bytes->size());
    EXPECT_EQ((*last)["completed"], bytes->size());
  }
  // Status-only lines have no other fields.
  EXPECT_EQ(lines.front(), json({{"status", "pulling manifest"}}));
  EXPECT_EQ(lines.back(), json({{"status", "success"}}));

  EXPECT_TRUE(in_tags("Tiny-GGUF"));
  auto c = client();
  int gen_status = 0;
  const json g = post_json(c, "/api/generate",
                           {{"model", kModel}, {"prompt", "hi"}, {"stream", false}, {"options", {{"num_predict", 2}}}},
                           &gen_status);
  EXPECT_EQ(gen_status, 200) << g.dump();
  EXPECT_EQ(g.value("done", false), true) << g.dump();
  EXPECT_GT(g.value("eval_count", 0), 0) << g.dump();
}

TEST_F(ServerPullTest, UnknownRepositoryEndsStreamWithErrorLine) {
  int status = 0;
  const auto lines = pull_stream("hf.co/ggml-org/Missing-GGUF", &status);
  EXPECT_EQ(status, 200);  // the stream had begun
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), json({{"status", "pulling manifest"}}));
  ASSERT_TRUE(lines.back().contains("error")) << lines.back().dump();
  EXPECT_NE(lines.back()["error"].get<std::string>().find("pull model manifest"), std::string::npos)
      << lines.back().dump();
  EXPECT_FALSE(in_tags("Missing-GGUF"));
}

TEST_F(ServerPullTest, StreamFalseAnswersOneObject) {
  auto c = client();
  int status = 0;
  EXPECT_EQ(post_json(c, "/api/pull", {{"name", kModel}, {"stream", false}}, &status), json({{"status", "success"}}));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(slurp(ModelStore(store_dir()).resolve(kModel).text_path), text_);

  const json err = post_json(c, "/api/pull", {{"model", "hf.co/ggml-org/Missing-GGUF"}, {"stream", false}}, &status);
  EXPECT_EQ(status, 500);
  EXPECT_NE(err.value("error", "").find("pull model manifest"), std::string::npos) << err.dump();
}

TEST_F(ServerPullTest, BadRequestsAre400) {
  auto c = client();
  int status = 0;
  json err = post_json(c, "/api/pull", {{"model", "HuggingFaceTB/SmolVLM2-256M-Video-Instruct"}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(err.value("error", "").find("smolvlm pull"), std::string::npos) << err.dump();
  err = post_json(c, "/api/pull", json::object(), &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(err, json({{"error", "model is required"}}));
  err = post_json(c, "/api/pull", {{"model", kModel}, {"stream", "yes"}}, &status);
  EXPECT_EQ(status, 400);
  err = post_json(c, "/api/pull", {{"model", "../../etc/passwd"}}, &status);
  EXPECT_EQ(status, 400) << err.dump();
  EXPECT_TRUE(hub_.requests().empty());  // nothing reached the hub
}

// A safetensors checkpoint through /api/pull: downloaded, handed to the server's converter
// (ServerOptions::convert_checkpoint; `serve` passes the real one, tested by test_pull's CLI test),
// created under the name as given.
TEST_F(ServerPullTest, SafetensorsCheckpointIsConvertedByTheServersConverter) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf/model.safetensors");
  auto& repo = hub_.repos["HuggingFaceTB/tiny512"];
  for (const auto& e : fs::directory_iterator(shared_path("golden/tiny512/hf"))) {
    const std::string bytes = slurp(e.path());
    repo[e.path().filename().string()] = {bytes, e.path().filename() == "model.safetensors" ? hex_of(bytes) : ""};
  }
  std::string seen_quant;
  server::ServerOptions o;
  o.port = 0;
  o.manager.threads = 1;
  o.convert_checkpoint = [&](const std::string& dir, const std::string& quant, const std::string& work) {
    EXPECT_EQ(slurp(fs::path(dir) / "model.safetensors"), repo["model.safetensors"].bytes);
    seen_quant = quant;
    fs::copy_file(shared_path("golden/tiny512/gguf/text-Q8_0.gguf"), fs::path(work) / "t-Q8_0.gguf");
    fs::copy_file(shared_path("golden/tiny512/gguf/mmproj-F32.gguf"), fs::path(work) / "mmproj-t-F32.gguf");
    return std::vector<std::string>{(fs::path(work) / "t-Q8_0.gguf").string(), (fs::path(work) / "mmproj-t-F32.gguf").string()};
  };
  server::HttpServer srv(o, server::store_source(store_dir()));
  srv.start();
  httplib::Client c("127.0.0.1", srv.port());
  c.set_read_timeout(60, 0);
  auto res = c.Post("/api/pull", json{{"model", "HuggingFaceTB/tiny512:Q8_0"}}.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const auto lines = ndjson_lines(res->body);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), json({{"status", "success"}})) << res->body;
  EXPECT_EQ(seen_quant, "Q8_0");
  EXPECT_EQ(slurp(ModelStore(store_dir()).resolve("HuggingFaceTB/tiny512:Q8_0").text_path), text_);
  int status = 0;
  const json gen = post_json(c, "/api/generate", {{"model", "HuggingFaceTB/tiny512:Q8_0"}, {"prompt", "hi"},
                                                  {"stream", false}, {"options", {{"num_predict", 2}}}}, &status);
  EXPECT_EQ(status, 200) << gen.dump();
  srv.stop();
}

TEST_F(ServerPullTest, ClientDisconnectCancelsThePull) {
  hub_.slow_ms = 20;  // the text file takes ~2 s (98 chunks of 16 KiB)
  {
    auto c = client();
    bool saw_transfer = false;
    std::string buf;
    httplib::Request req;
    req.method = "POST";
    req.path = "/api/pull";
    req.body = json{{"model", kModel}}.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      buf.append(data, n);
      saw_transfer = buf.find("\"completed\"") != std::string::npos;
      return !saw_transfer;  // stop reading (close) once a transfer is under way
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    c.send(req, res, error);  // fails: the receiver stopped it
    EXPECT_TRUE(saw_transfer) << buf;
  }
  // Were the pull going on, it would finish well within this time.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  EXPECT_FALSE(in_tags("Tiny-GGUF"));
  EXPECT_FALSE(fs::exists(fs::path(store_dir()) / "manifests" / "hf.co" / "ggml-org" / "Tiny-GGUF" / "Q8_0"));
  // The mmproj (fetched after the text model) was never requested from the CDN.
  for (const auto& r : hub_.requests()) EXPECT_EQ(r.find("/cdn/ggml-org/Tiny-GGUF/mmproj"), std::string::npos) << r;
  // The server goes on serving, and a new pull resumes and completes.
  hub_.slow_ms = 0;
  int status = 0;
  EXPECT_EQ(statuses(pull_stream(kModel, &status)).back(), "success");
  EXPECT_TRUE(in_tags("Tiny-GGUF"));
}

}  // namespace
