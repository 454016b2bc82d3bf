// What `smolvlm serve` writes to stderr, as Ollama does: one line per request in Gin's format
//   [GIN] 2026/12/07 - 01:24:42 | 400 |   12.345ms |       127.0.0.1 | POST     "/api/generate"
// followed by " | error: <message>" when the request answered an error (also one sent mid-stream,
// whose status stays 200), and the server's events (model loads and unloads) as
//   time=2026-12-07T01:24:42.123Z level=INFO msg="loaded smolvlm2:256m ..."
// Prompts and images never appear; paths only as the request line names them.
#pragma once

#include <chrono>
#include <string>

namespace smolvlm::server {

// The error this thread's request answered (the last one given wins); cleared at each request.
void note_request_error(const std::string& message);

// Called when routing starts and when the response is written (the same thread, httplib's model).
void request_started();
// Seconds since this thread's request arrived (-1 when unknown: a request the HTTP layer refused).
double seconds_since_request_start();
// The same, and forgets the start: the request is answered (-1: it was never started here).
double take_request_seconds();
void log_request(const std::string& method, const std::string& path, const std::string& client, int status,
                 double seconds);  // seconds < 0: unknown

// level: "INFO", "WARN", "ERROR".
void log_event(const char* level, const std::string& message);

}  // namespace smolvlm::server
