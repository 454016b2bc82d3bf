// `smolvlm run NAME` against a running `smolvlm serve`, as `ollama run` talks to its server: each
// turn is a streamed POST /api/chat with the conversation so far (images and videos as base64), the
// options set on the command line or with /set parameter, and format "json" when asked. The model
// stays loaded in the server between runs; the server applies the model's own parameters.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/chat_backend.h"
#include "cli/server_client.h"

namespace smolvlm::cli {

class RemoteChat : public ChatBackend {
 public:
  RemoteChat(ServerClient client, std::string model, RunSettings settings);

  RunSettings& settings() override { return settings_; }
  // Ctrl-C (LineReader::interrupted) drops the connection, which cancels the reply on the server.
  DoneReason turn(const std::string& user_text, const std::vector<std::string>& media_paths, bool interactive) override;
  void clear() override { history_ = nlohmann::json::array(); }
  std::string info() const override;

  // The request's "options": only what differs from Ollama's defaults (so the model's own
  // PARAMETERs apply otherwise).
  static nlohmann::json options(const RunSettings& s);

 private:
  ServerClient client_;
  std::string model_;
  RunSettings settings_;
  nlohmann::json history_ = nlohmann::json::array();  // user / assistant messages so far
};

}  // namespace smolvlm::cli
