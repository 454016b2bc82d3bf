#include "cli/server_client.h"

#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <vector>

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

ServerClient::ServerClient() : ServerClient([] {
  const char* v = env("SMOLVLM_HOST");
  if (v == nullptr) v = env("OLLAMA_HOST");
  return std::string(v ? v : "");
}()) {}

ServerClient::ServerClient(const std::string& address) {
  const server::HostAddress a = server::parse_host(address);
  std::string host = a.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";  // a server bound to every interface
  if (host == "::") host = "::1";
  scheme_ = a.scheme;
  host_ = host;
  port_ = a.port;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  url_ = cat(a.scheme, "://", host, ":", a.port);
}

nlohmann::json ServerClient::answer(const std::string& path, int status, const std::string& body, bool ok) const {
  if (!ok) fail("could not connect to the smolvlm server at ", url_, ", is it running? (start it with `smolvlm serve`)");
  if (status < 400 && body.find_first_not_of(" \r\n\t") == std::string::npos) return nullptr;  // empty: fine
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

nlohmann::json ServerClient::del(const std::string& path, const nlohmann::json& body) const {
  httplib::Client c = make_client(url_, 600);
  const auto res = c.Delete(path.c_str(), body.dump(), "application/json");
  return res ? answer(path, res->status, res->body, true) : answer(path, 0, "", false);
}

int ServerClient::head(const std::string& path) const {
  httplib::Client c = make_client(url_, 30);
  const auto res = c.Head(path.c_str());
  if (!res) answer(path, 0, "", false);
  return res->status;
}

int ServerClient::post_file(const std::string& path, const std::string& file) const {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot read ", file);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  httplib::Client c = make_client(url_, 600);
  c.set_write_timeout(600, 0);
  bool read_error = false;
  const auto res = c.Post(
      path.c_str(), size,
      [&](size_t offset, size_t length, httplib::DataSink& sink) {
        std::vector<char> buf(std::min<size_t>(length, size_t{1} << 20));
        in.seekg(static_cast<std::streamoff>(offset));
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto got = static_cast<size_t>(in.gcount());
        if (got == 0) return !(read_error = true);
        return sink.write(buf.data(), got);
      },
      "application/octet-stream");
  if (read_error) fail("cannot read ", file, " while uploading it");
  if (!res) answer(path, 0, "", false);
  answer(path, res->status, res->body, true);  // throws ServerError for >= 400
  return res->status;
}

bool ServerClient::post_stream(const std::string& path, const nlohmann::json& body,
                               const std::function<bool(const nlohmann::json&)>& on_line) const {
  httplib::Client c = make_client(url_, 600);
  std::string pending, error_body, line_error;  // line_error: an {"error"} line or a bad line
  bool stopped = false;
  int status = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status >= 400) {  // an error answer: one JSON object, collected whole
      error_body.append(data, n);
      return true;
    }
    pending.append(data, n);
    for (size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
      const std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) line_error = cat("the server's answer to ", path, " is not NDJSON: ", line.substr(0, 200));
      else if (j.is_object() && j.contains("error"))
        line_error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
      if (!line_error.empty()) return false;  // exceptions stay out of httplib's loop
      if (!on_line(j)) {
        stopped = true;
        return false;
      }
    }
    return true;
  };
  const auto res = c.send(req);
  if (!line_error.empty()) throw ServerError(200, line_error);
  if (stopped) return false;
  if (!res) answer(path, 0, "", false);
  if (res->status >= 400) answer(path, res->status, error_body, true);
  return true;
}

bool ServerClient::reachable(int timeout_ms) const {
  httplib::Client c(url_);
  c.set_connection_timeout(0, timeout_ms * 1000);
  c.set_read_timeout(0, timeout_ms * 1000);
  const auto res = c.Get("/api/version");
  return res && res->status == 200;
}

}  // namespace smolvlm::cli
