// Whether a request's client is still there while its reply is produced. cpp-httplib 0.11 tells a
// handler nothing when the client hangs up (a streamed reply learns it at its next write; one sent
// whole at the end, stream:false, would compute to the end for nobody), so the request's socket is
// found once among this process's descriptors, by its local and remote address and port, and a
// thread peeks at it every 50 ms: end of file or a reset means the client is gone. gone() is the
// cancel flag run_generation polls (between prefill chunks and decode steps).
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/generation.h"

namespace smolvlm::server {

class ClientWatch {
 public:
  explicit ClientWatch(const httplib::Request& req);  // no socket found: never gone
  ~ClientWatch();  // stops watching
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  const std::atomic<bool>* gone() const { return &gone_; }
  bool watching() const { return fd_ >= 0; }
  void stop();  // before the connection's next use by the server

 private:
  int fd_ = -1;
  std::atomic<bool> gone_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The socket of this process connected from remote_addr:remote_port to local_port (-1: none).
int find_connection_socket(const std::string& remote_addr, int remote_port, int local_port);

// A stream:false reply: the whole generation (its text without the leading whitespace, as streamed),
// cancelled when the request's client hangs up.
struct WholeReply {
  GenerateResult result;
  std::string text;
};
WholeReply generate_whole(ModelManager::Lease& lease, const Prompt& prompt, const GenerateOptions& options,
                          const httplib::Request& req);

}  // namespace smolvlm::server
