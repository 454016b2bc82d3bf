#include "runtime/decode_batcher.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace smolvlm {

DecodeBatcher::DecodeBatcher(std::shared_ptr<const LoadedModel> model, kernels::ThreadPool& pool, int max_batch,
                             std::chrono::microseconds max_wait)
    : model_(std::move(model)), pool_(pool), max_batch_(max_batch), max_wait_(max_wait) {
  if (max_batch_ < 1) fail("decode batch size ", max_batch_, " must be at least 1");
  const TextConfig& c = model_->text().config();
  act_ = model_->text().new_activations(max_batch_);
  pass_batch_.reserve(static_cast<size_t>(max_batch_));
  pass_ids_.reserve(static_cast<size_t>(max_batch_));
  pass_states_.reserve(static_cast<size_t>(max_batch_));
  logits_.resize(static_cast<size_t>(max_batch_ * c.n_vocab));
}

void DecodeBatcher::FifoLock::lock() {
  std::unique_lock<std::mutex> l(m_);
  const uint64_t ticket = next_++;
  cv_.wait(l, [&] { return serving_ == ticket; });
}

void DecodeBatcher::FifoLock::unlock() {
  {
    std::lock_guard<std::mutex> l(m_);
    ++serving_;
  }
  cv_.notify_all();
}

void DecodeBatcher::exclusive(const std::function<void()>& fn) {
  std::lock_guard<FifoLock> turn(pool_turn_);
  fn();
}

DecodeBatcher::Member::Member(DecodeBatcher& b) : b_(b) {
  std::lock_guard<std::mutex> lock(b_.mu_);
  ++b_.members_;
}

DecodeBatcher::Member::~Member() {
  std::lock_guard<std::mutex> lock(b_.mu_);
  --b_.members_;
  b_.cv_.notify_all();  // waiters may now have every remaining member's step
}

uint64_t DecodeBatcher::passes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passes_;
}

uint64_t DecodeBatcher::steps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steps_;
}

void DecodeBatcher::decode(TextState& state, int32_t id, float* logits) {
  Request req;
  req.state = &state;
  req.id = id;
  req.logits = logits;
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&req);
  cv_.notify_all();
  const auto queued = std::chrono::steady_clock::now();
  while (!req.done) {
    // Nobody can queue while a pass runs: the wait for the slow ones counts from its end.
    const auto deadline = std::max(queued, last_pass_end_) + max_wait_;
    const bool full = static_cast<int>(queue_.size()) >= std::min(std::max(members_, 1), max_batch_);
    if (!running_ && (full || std::chrono::steady_clock::now() >= deadline)) {
      run_pass(lock, &req);
    } else if (!running_) {
      cv_.wait_until(lock, deadline);
    } else {
      cv_.wait(lock);  // a pass is running: ours may be in it, else we lead the next
    }
  }
  if (req.error) std::rethrow_exception(req.error);
}

void DecodeBatcher::run_pass(std::unique_lock<std::mutex>& lock, Request* mine) {
  // This pass: ours and the oldest others, up to max_batch. (Only the thread running a pass uses the
  // pass_* buffers, sized once: a decode step allocates nothing here.)
  std::vector<Request*>& batch = pass_batch_;
  batch.assign(1, mine);
  for (Request* r : queue_)
    if (r != mine && static_cast<int>(batch.size()) < max_batch_) batch.push_back(r);
  std::erase_if(queue_, [&](Request* r) { return std::find(batch.begin(), batch.end(), r) != batch.end(); });
  running_ = true;
  lock.unlock();

  {
    std::lock_guard<FifoLock> turn(pool_turn_);
    std::vector<int32_t>& ids = pass_ids_;
    std::vector<TextState*>& states = pass_states_;
    ids.clear();
    states.clear();
    for (Request* r : batch) ids.push_back(r->id), states.push_back(r->state);
    try {
      model_->text().decode_batch(ids, states, act_, logits_.data(), pool_);
      const int64_t V = model_->text().config().n_vocab;
      for (size_t i = 0; i < batch.size(); ++i)
        std::memcpy(batch[i]->logits, logits_.data() + static_cast<int64_t>(i) * V, static_cast<size_t>(V) * sizeof(float));
    } catch (...) {
      // decode_batch checks everything before it changes a state: run each step alone, so that
      // only the faulty one fails.
      for (Request* r : batch) {
        try {
          const int32_t one[1] = {r->id};
          model_->text().forward(TextInput::tokens(one), *r->state, LogitRows::kLast, r->logits, pool_);
        } catch (...) {
          r->error = std::current_exception();
        }
      }
    }
  }

  lock.lock();
  for (Request* r : batch) r->done = true;
  running_ = false;
  last_pass_end_ = std::chrono::steady_clock::now();
  ++passes_;
  steps_ += batch.size();
  cv_.notify_all();
}

}  // namespace smolvlm
