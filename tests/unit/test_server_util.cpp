#include "test_server_util.h"

#include <filesystem>
#include <fstream>

#include "server/template_renderer.h"

namespace smolvlm::testing {
namespace {

// Copies `src` into blobs/ and returns its "sha256:<hex>" and size.
std::pair<std::string, int64_t> add_blob(const std::filesystem::path& root, const std::vector<uint8_t>& bytes) {
  const std::string hex = sha256_hex(bytes);
  write_file(root / "blobs" / ("sha256-" + hex), bytes.data(), bytes.size());
  return {"sha256:" + hex, static_cast<int64_t>(bytes.size())};
}

}  // namespace

httplib::Client ServerEnv::client() const {
  httplib::Client c("127.0.0.1", port());
  c.set_read_timeout(120, 0);
  return c;
}

ServerEnv& server_env() {
  static std::unique_ptr<ServerEnv> env = [] {
    auto e = std::make_unique<ServerEnv>();
    const auto root = e->dir.path();
    std::filesystem::create_directories(root / "blobs");
    const auto text = add_blob(root, read_file(shared_path("golden/tiny512/gguf/text-F32.gguf")));
    const auto mmproj = add_blob(root, read_file(shared_path("golden/tiny512/gguf/mmproj-F32.gguf")));
    const std::string config_json =
        R"({"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"1.5M","file_type":"F32","architecture":"amd64","os":"linux"})";
    const auto config = add_blob(root, std::vector<uint8_t>(config_json.begin(), config_json.end()));
    const nlohmann::json manifest = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
        {"config", {{"mediaType", "application/vnd.docker.container.image.v1+json"}, {"digest", config.first}, {"size", config.second}}},
        {"layers",
         {{{"mediaType", "application/vnd.ollama.image.model"}, {"digest", text.first}, {"size", text.second}},
          {{"mediaType", "application/vnd.ollama.image.projector"}, {"digest", mmproj.first}, {"size", mmproj.second}}}}};
    const std::string bytes = manifest.dump() + "\n";
    const auto dir = root / "manifests" / "registry.ollama.ai" / "library" / "tiny";
    std::filesystem::create_directories(dir);
    write_file(dir / "latest", bytes.data(), bytes.size());
    e->manifest_digest = sha256_hex(std::vector<uint8_t>(bytes.begin(), bytes.end()));

    server::ServerOptions o;
    o.port = 0;
    o.max_body_bytes = kServerMaxBody;
    o.manager.threads = 2;
    o.http_threads = 16;
    o.renderer = server::ollama_template_renderer();
    e->server = std::make_unique<server::HttpServer>(o, server::store_source(root.string()));
    e->server->start();
    return e;
  }();
  return *env;
}

std::string base64(const std::vector<uint8_t>& b) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    for (int s : {18, 12, 6, 0}) out += k[(v >> s) & 63];
  }
  if (i + 1 == b.size()) {
    const uint32_t v = b[i] << 16;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == b.size()) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8);
    for (int s : {18, 12, 6}) out += k[(v >> s) & 63];
    out += "=";
  }
  return out;
}

nlohmann::json post_json(httplib::Client& c, const std::string& path, const nlohmann::json& body, int* status) {
  auto res = c.Post(path.c_str(), body.dump(), "application/json");
  EXPECT_TRUE(res) << path << ": no response";
  if (!res) return {};
  if (status != nullptr) *status = res->status;
  return nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
}

std::vector<nlohmann::json> ndjson_lines(const std::string& body) {
  std::vector<nlohmann::json> out;
  size_t start = 0;
  while (start < body.size()) {
    const size_t nl = body.find('\n', start);
    EXPECT_NE(nl, std::string::npos) << "a line without its newline";
    const std::string line = body.substr(start, nl - start);
    EXPECT_FALSE(line.empty()) << "blank NDJSON line";
    out.push_back(nlohmann::json::parse(line));
    start = nl + 1;
  }
  return out;
}

}  // namespace smolvlm::testing
