// The CLI's side of `smolvlm serve`: JSON requests to a running server at SMOLVLM_HOST, else
// OLLAMA_HOST (server::parse_host's forms; a wildcard bind address is reached on 127.0.0.1), as the
// `ollama` client does. No server answering -> Error "could not connect to the smolvlm server ...".
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"

namespace smolvlm::cli {

// An error answer from the server: its HTTP status and {"error": message}.
class ServerError : public Error {
 public:
  ServerError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

class ServerClient {
 public:
  ServerClient();  // the address from the environment (throws Error for a malformed one)
  explicit ServerClient(const std::string& address);  // OLLAMA_HOST's forms
  const std::string& url() const { return url_; }  // "http://127.0.0.1:11434"
  const std::string& scheme() const { return scheme_; }
  const std::string& host() const { return host_; }  // as connected to ("127.0.0.1", "::1", "example.org")
  int port() const { return port_; }

  // Throws Error when no server answers, ServerError for a status >= 400.
  nlohmann::json get(const std::string& path) const;
  nlohmann::json post(const std::string& path, const nlohmann::json& body) const;
  nlohmann::json del(const std::string& path, const nlohmann::json& body) const;  // DELETE with a JSON body
  // An empty answer body (/api/copy, /api/delete) comes back as null.

  // HEAD: the status (404 for a missing blob); throws Error when no server answers.
  int head(const std::string& path) const;
  // POST of a file's bytes, streamed (POST /api/blobs/sha256:<hex>); returns the status (200 / 201).
  int post_file(const std::string& path, const std::string& file) const;
  // POST answered with NDJSON (a streamed generate / chat / pull): on_line gets each object as it
  // arrives and returns false to stop (the connection is then dropped, which cancels the work on
  // the server). Returns false when stopped that way. Errors as post(); an {"error": ...} line
  // throws ServerError.
  bool post_stream(const std::string& path, const nlohmann::json& body,
                   const std::function<bool(const nlohmann::json&)>& on_line) const;
  // A server answers GET /api/version within timeout_ms.
  bool reachable(int timeout_ms = 1000) const;

 private:
  nlohmann::json answer(const std::string& path, int status, const std::string& body, bool ok) const;
  std::string url_, scheme_, host_;
  int port_ = 0;
};

}  // namespace smolvlm::cli
