// `smolvlm batch ... --host URL[,URL...]`: the files answered by running `smolvlm serve` (or
// Ollama) replicas instead of a model loaded here. Each file goes to the replica with the fewest of
// this batch's requests in flight; a replica that cannot be reached or answers 502/503/504 is set aside for
// a while and the file is sent to another, so a replica lost mid-batch costs no record. The request
// is what `run` sends (POST /api/chat, the file as images / videos), so the answers equal a local
// batch's for greedy or seeded sampling.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/batch_inputs.h"
#include "cli/batch_records.h"
#include "cli/run_settings.h"
#include "cli/server_client.h"

namespace smolvlm::cli {

class RemoteBatch {
 public:
  // hosts: OLLAMA_HOST's forms, at least one. Throws Error for a malformed one.
  RemoteBatch(const std::vector<std::string>& hosts, std::string model, const RunSettings& settings);

  // One input, on some replica; never throws (a failure is the record's error).
  BatchRecord run(const BatchInput& in);
  size_t hosts() const { return hosts_.size(); }

 private:
  struct Host {
    explicit Host(const std::string& address) : client(address) {}
    ServerClient client;
    int in_flight = 0;
    std::chrono::steady_clock::time_point down_until{};
  };
  Host* pick();                      // the least loaded of those not set aside (waits when all are)
  void done(Host* h, bool failed);   // failed: set aside for a few seconds

  std::vector<std::unique_ptr<Host>> hosts_;
  std::string model_;
  const RunSettings& settings_;
  std::mutex mu_;
};

}  // namespace smolvlm::cli
