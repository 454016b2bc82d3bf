// A persistent pool of worker threads for kernels. run() splits n_tasks over the workers and the
// calling thread, and returns when all are done. Workers spin briefly, then sleep, between jobs,
// so a decode step (hundreds of small jobs per token) does not pay a wake-up each time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace smolvlm::kernels {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // total threads including the caller; <= 0 -> default_threads()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  // Calls fn(task, thread) for task in [0, n_tasks); `thread` in [0, size()) identifies the
  // executing thread (for per-thread scratch). Exceptions in fn are rethrown here.
  void run(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smolvlm::kernels
