// Request parsing for the Ollama and OpenAI APIs (reference/ollama-contract.md §0, §1.5, §1.6):
// Ollama's error statuses and messages, typed field access with Go's decoder messages, `options`
// -> GenerateOptions (unknown keys ignored, a known key of the wrong type -> HTTP 500, integers
// accept any number), keep_alive, base64, timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/session.h"

namespace smolvlm::server {

using nlohmann::json;

// An error answered as {"error": message} with an HTTP status.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The request body as a JSON object: 400 "missing request body" when empty, 400 with a decoder-like
// message when malformed or not an object.
json parse_body(const std::string& body);

// Typed optional fields, as Go's decoder checks them: a present field of the wrong JSON type gives
// 400 "json: cannot unmarshal <kind> into Go struct field <Struct>.<field> of type <type>".
// null counts as absent.
struct Fields {
  const json& j;
  std::string go_struct;  // "GenerateRequest", "ChatRequest", ...
  std::optional<std::string> str(const char* key) const;
  std::optional<bool> boolean(const char* key) const;
  std::optional<int64_t> integer(const char* key) const;
  const json* array(const char* key) const;   // nullptr when absent
  const json* object(const char* key) const;  // nullptr when absent
  [[noreturn]] void type_error(const char* key, const char* go_type) const;
};

// Settings a request may change beyond sampling.
struct RequestSettings {
  GenerateOptions generate;
  int64_t num_ctx = 0;    // 0: the default
  int num_thread = 0;     // 0: the default
  int64_t num_gpu = -1;   // decoder layers on the GPU: -1 the default (as many as fit), 0 none
  int max_tiles = 0;      // our extension: images at most this many tiles (0: full resolution)
};

// Applies an Ollama options object (the model's params layer, then the request's options) to
// `s`. Unknown keys are ignored; a known key of the wrong type throws ApiError 500
// `option "stop" must be of type array` (Ollama's message).
void apply_options(const json& options, RequestSettings& s);

// keep_alive (§1.6): a number of seconds or a Go duration string; negative -> forever (nullopt).
// Throws ApiError 400 for a malformed value. `fallback` when absent.
using Seconds = std::chrono::duration<double>;
std::optional<Seconds> parse_keep_alive(const json* value, std::optional<Seconds> fallback);
// A Go duration string ("5m", "1h30m", "300ms", "-1m"; "0"); nullopt for malformed.
std::optional<double> parse_go_duration(const std::string& s);

// Standard base64 (padded), as Go's encoding/json decodes []byte; throws ApiError 400
// "illegal base64 data at input byte N".
std::vector<uint8_t> decode_base64(const std::string& s);

// RFC 3339 with nanoseconds, UTC: "2026-07-03T12:00:01.123456789Z".
std::string rfc3339(std::chrono::system_clock::time_point t);
int64_t to_ns(double seconds);

}  // namespace smolvlm::server
