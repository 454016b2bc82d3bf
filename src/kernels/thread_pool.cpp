#include "kernels/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/isa.h"

namespace smolvlm::kernels {

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake;
  // Job state, published by bumping `generation`.
  const std::function<void(int64_t, int)>* fn = nullptr;
  int64_t n_tasks = 0;
  std::atomic<int64_t> next_task{0};
  std::atomic<int> busy{0};  // workers still inside the current job
  std::atomic<uint64_t> generation{0};
  bool stop = false;
  std::exception_ptr error;
  std::mutex error_mu;

  void work(int thread) {
    for (;;) {
      const int64_t t = next_task.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_tasks) return;
      try {
        (*fn)(t, thread);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
        next_task.store(n_tasks, std::memory_order_relaxed);
      }
    }
  }

  void worker_main(int thread) {
    uint64_t seen = 0;
    for (;;) {
      // Spin a little for the next job (decode issues many small jobs back to back), then sleep.
      // Yielding after a short pure spin keeps an oversubscribed machine (more threads than free
      // cores) from burning whole time slices while the thread that has work waits for a core.
      uint64_t g = generation.load(std::memory_order_acquire);
      for (int spin = 0; g == seen && spin < 20000; ++spin) {
        if (spin < 2000) {
          __builtin_ia32_pause();
        } else {
          std::this_thread::yield();
        }
        g = generation.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock lock(mu);
        wake.wait(lock, [&] { return stop || generation.load(std::memory_order_acquire) != seen; });
        if (stop) return;
        g = generation.load(std::memory_order_acquire);
      }
      seen = g;
      work(thread);
      busy.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(std::make_unique<Impl>()) {
  impl_->n_threads = n_threads > 0 ? n_threads : default_threads();
  for (int t = 1; t < impl_->n_threads; ++t) impl_->workers.emplace_back([this, t] { impl_->worker_main(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  for (auto& w : impl_->workers) w.join();
}

int ThreadPool::size() const { return impl_->n_threads; }

void ThreadPool::run(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
  Impl& p = *impl_;
  if (n_tasks <= 0) return;
  if (p.workers.empty() || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  p.fn = &fn;
  p.n_tasks = n_tasks;
  p.error = nullptr;
  p.next_task.store(0, std::memory_order_relaxed);
  p.busy.store(static_cast<int>(p.workers.size()), std::memory_order_relaxed);
  {
    std::lock_guard lock(p.mu);
    p.generation.fetch_add(1, std::memory_order_acq_rel);
  }
  p.wake.notify_all();
  p.work(0);
  for (int spin = 0; p.busy.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < 2000) {
      __builtin_ia32_pause();
    } else {
      std::this_thread::yield();
    }
  }
  p.fn = nullptr;
  if (p.error) std::rethrow_exception(p.error);
}

}  // namespace smolvlm::kernels
