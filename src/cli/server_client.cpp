#include "cli/server_client.h"

#include <httplib.h>

#include <cstdlib>

#include "server/http_server.h"

namespace smolvlm::cli {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

httplib::Client make_client(const std::string& url, int read_timeout_s) {
  httplib::Client c(url);
  c.set_connection_timeout(3, 0);
  c.set_read_timeout(read_timeout_s, 0);
  return c;
}

}  // namespace

ServerClient::ServerClient() {
  const char* v = env("SMOLVLM_HOST");
  if (v == nullptr) v = env("OLLAMA_HOST");
  const server::HostAddress a = server::parse_host(v ? v : "");
  std::string host = a.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";  // a server bound to every interface
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  url_ = cat(a.scheme, "://", host, ":", a.port);
}

nlohmann::json ServerClient::answer(const std::string& path, int status, const std::string& body, bool ok) const {
  if (!ok) fail("could not connect to the smolvlm server at ", url_, ", is it running? (start it with `smolvlm serve`)");
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status >= 400) {
    std::string msg = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                      : cat("HTTP ", status, " ", body);
    throw ServerError(status, msg);
  }
  if (j.is_discarded()) fail("the server's answer to ", path, " is not JSON: ", body.substr(0, 200));
  return j;
}

nlohmann::json ServerClient::get(const std::string& path) const {
  httplib::Client c = make_client(url_, 30);
  const auto res = c.Get(path.c_str());
  return res ? answer(path, res->status, res->body, true) : answer(path, 0, "", false);
}

nlohmann::json ServerClient::post(const std::string& path, const nlohmann::json& body) const {
  httplib::Client c = make_client(url_, 600);
  const auto res = c.Post(path.c_str(), body.dump(), "application/json");
  return res ? answer(path, res->status, res->body, true) : answer(path, 0, "", false);
}

}  // namespace smolvlm::cli
