// Continuous batching for the Sessions of one model (OLLAMA_NUM_PARALLEL > 1 in the server): their
// decode steps run together as one TextModel::decode_batch pass, so the weights are read once per
// step for all of them instead of once per sequence; their prefill chunks and image encodings take
// the shared thread pool between passes.
//
//   DecodeBatcher batcher(model, pool, /*max_batch=*/4);
//   // in each session's thread:
//   DecodeBatcher::Member m(batcher);          // while this session decodes
//   batcher.decode(state, id, logits);         // queues the step, returns once a pass ran it
//
// A pass starts as soon as every member has queued a step (or max_batch are queued), or max_wait
// after a step was queued (or the last pass ended, whichever is later) when a member is slow to
// come back (sampling, a slow client). It runs on the thread of one of the waiting sessions; the
// others sleep until it is done.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/thread_pool.h"
#include "runtime/loaded_model.h"

namespace smolvlm {

class DecodeBatcher {
 public:
  DecodeBatcher(std::shared_ptr<const LoadedModel> model, kernels::ThreadPool& pool, int max_batch,
                std::chrono::microseconds max_wait = std::chrono::microseconds(2000));
  DecodeBatcher(const DecodeBatcher&) = delete;
  DecodeBatcher& operator=(const DecodeBatcher&) = delete;

  kernels::ThreadPool& pool() { return pool_; }
  int max_batch() const { return max_batch_; }

  // Runs fn with the pool to itself: no pass runs meanwhile (a prefill chunk, an image encoding).
  void exclusive(const std::function<void()>& fn);

  // Counts a session among those decoding, for its lifetime.
  class Member {
   public:
    explicit Member(DecodeBatcher& b);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

   private:
    DecodeBatcher& b_;
  };

  // One decode step of `state` (a member's): id at state.n_past(), logits [n_vocab] into `logits`.
  // Blocks until a pass has run it; rethrows what decode_batch threw for that pass.
  void decode(TextState& state, int32_t id, float* logits);

  uint64_t passes() const;  // passes run so far
  uint64_t steps() const;   // decode steps they ran (steps / passes = the mean batch)

 private:
  struct Request {
    TextState* state = nullptr;
    int32_t id = 0;
    float* logits = nullptr;
    bool done = false;
    std::exception_ptr error;
  };
  void run_pass(std::unique_lock<std::mutex>& lock, Request* mine);  // called with lock held, returns with it held

  std::shared_ptr<const LoadedModel> model_;
  kernels::ThreadPool& pool_;
  const int max_batch_;
  const std::chrono::microseconds max_wait_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request*> queue_;
  int members_ = 0;
  bool running_ = false;  // a pass is in progress
  std::chrono::steady_clock::time_point last_pass_end_{};
  uint64_t passes_ = 0, steps_ = 0;

  // The pool's turns, first come first served (a std::mutex would let a session's back-to-back
  // decode passes starve another session's prefill): held by a pass or an exclusive() call.
  class FifoLock {
   public:
    void lock();
    void unlock();

   private:
    std::mutex m_;
    std::condition_variable cv_;
    uint64_t next_ = 0, serving_ = 0;
  };
  FifoLock pool_turn_;
  TextActivations act_;
  std::vector<float> logits_;  // [max_batch, n_vocab]
  std::vector<Request*> pass_batch_;   // the running pass's requests
  std::vector<int32_t> pass_ids_;      // and their tokens
  std::vector<TextState*> pass_states_;
};

}  // namespace smolvlm
