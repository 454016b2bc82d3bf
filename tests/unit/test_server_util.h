// Shared fixture for the server tests: a store in a TempDir holding "tiny:latest" (the golden
// tiny512 text GGUF + projector, manifest and blobs written per ollama-contract §7) and one
// in-process server on 127.0.0.1 with a free port, started once for the whole test binary.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/http_server.h"
#include "support/testing.h"

namespace smolvlm::testing {

struct ServerEnv {
  TempDir dir;
  std::unique_ptr<server::HttpServer> server;
  std::string manifest_digest;  // hex sha256 of the manifest bytes
  int port() const { return server->port(); }
  httplib::Client client() const;
};

constexpr size_t kServerMaxBody = 4u << 20;  // the test server's body limit (413 above)

// Starts the server the first time (needs ../shared/golden/tiny512).
ServerEnv& server_env();

std::string base64(const std::vector<uint8_t>& bytes);
nlohmann::json post_json(httplib::Client& c, const std::string& path, const nlohmann::json& body, int* status = nullptr);
// NDJSON lines of a body; fails the test on a blank line.
std::vector<nlohmann::json> ndjson_lines(const std::string& body);

}  // namespace smolvlm::testing
