// Models loaded on demand for the server (reference/ollama-contract.md §1.6, §6): each loaded model
// has OLLAMA_NUM_PARALLEL slots (a Session each); a request leases one slot for its generation and
// waits while all are busy. One slot has its own kernel thread pool; several share one, and their
// decode steps run batched in single passes (runtime/decode_batcher.h). At most OLLAMA_MAX_QUEUE requests may
// wait (more get 503 "server busy"); at most OLLAMA_MAX_LOADED_MODELS models stay loaded (idle ones
// are unloaded to make room), and an idle model is unloaded when its keep_alive expires.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kernels/thread_pool.h"
#include "runtime/decode_batcher.h"
#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"
#include "runtime/session.h"
#include "server/api_types.h"
#include "store/model_store.h"
#include "server/metrics.h"

namespace smolvlm::server {

// Where models come from: the store in `smolvlm serve`; tests may substitute their own.
struct ModelSource {
  std::function<ResolvedModel(const std::string& name)> resolve;  // throws Error "model 'x' not found"
  std::function<std::vector<ListedModel>()> list;
  std::shared_ptr<ModelStore> store;  // for copy / delete / create / blobs (null: those answer 501)
};
// A ModelSource over ModelStore(root).
ModelSource store_source(const std::string& root);

struct ManagerConfig {
  int num_parallel = 1;       // OLLAMA_NUM_PARALLEL
  int max_queue = 512;        // OLLAMA_MAX_QUEUE
  int max_loaded = 3;         // OLLAMA_MAX_LOADED_MODELS (0 -> 3)
  std::optional<Seconds> keep_alive = Seconds(300);  // OLLAMA_KEEP_ALIVE; nullopt: forever
  int threads = 0;            // kernel threads (0: the physical performance cores)
  int64_t num_gpu = -1;       // decoder layers on the GPU unless a request or Modelfile says (-1: as many as fit)
  std::string device;         // --device / SMOLVLM_DEVICE: "" the default GPU, "cpu", an index or a name
  // With num_parallel > 1: how long a batched decode pass waits for a session slow to queue its step.
  std::chrono::microseconds batch_wait{2000};
};

class ModelManager {
 public:
  struct Slot {
    std::unique_ptr<kernels::ThreadPool> pool;
    std::unique_ptr<Session> session;
    int threads = 0;
    bool busy = false;
    int64_t kv_tokens = 0, kv_capacity = 0;  // its cache's tokens and size when last released (metrics)
  };
  struct Entry {
    ResolvedModel resolved;
    std::shared_ptr<const LoadedModel> model;
    std::unique_ptr<MediaEncoder> media;  // null without a projector
    // OLLAMA_NUM_PARALLEL > 1: one pool (ManagerConfig::threads, else the physical performance cores) for all
    // slots, whose decode steps the batcher runs together (declared before the slots, whose
    // sessions use them, so that it outlives them).
    std::unique_ptr<kernels::ThreadPool> pool;
    std::shared_ptr<DecodeBatcher> batcher;
    std::vector<Slot> slots;
    int active = 0;
    std::optional<Seconds> keep_alive;
    std::chrono::system_clock::time_point expires;  // when idle
    bool forever = false;
    bool pinned = false;    // --preload: forever, whatever the requests' keep_alive
    int64_t num_gpu = -1;   // as requested when loaded (a different request reloads it)
    int64_t plan_ctx = 0;   // the context its GPU memory was planned for
  };

  // One leased slot; returning it (destruction) starts the keep_alive timer when the model is idle.
  class Lease {
   public:
    Lease(ModelManager* m, std::shared_ptr<Entry> e, Slot* s, double load_seconds)
        : manager_(m), entry_(std::move(e)), slot_(s), load_seconds_(load_seconds) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const ResolvedModel& resolved() const { return entry_->resolved; }
    const LoadedModel& model() const { return *entry_->model; }
    MediaEncoder* media() const { return entry_->media.get(); }
    Session& session() { return *slot_->session; }
    // Runs fn on this request's thread pool (with the pool to itself when slots share one).
    void with_pool(const std::function<void(kernels::ThreadPool&)>& fn);
    double load_seconds() const { return load_seconds_; }  // > 0 when this request loaded the model
    ModelManager& manager() const { return *manager_; }

   private:
    ModelManager* manager_;
    std::shared_ptr<Entry> entry_;
    Slot* slot_;
    double load_seconds_;
  };

  ModelManager(ManagerConfig config, ModelSource source);
  ~ModelManager();

  // The store's answer for `name`: ApiError 404 "model 'name' not found", 400 for an invalid name.
  ResolvedModel resolve(const std::string& name) const;
  std::vector<ListedModel> list() const;
  // Decode passes and the steps they ran for a loaded model with batched slots ({0, 0} otherwise).
  std::pair<uint64_t, uint64_t> decode_batches(const std::string& name) const;

  // Loads the model when needed and waits for a free slot (503 when OLLAMA_MAX_QUEUE requests are
  // already waiting). keep_alive: the idle time after this request (nullopt: forever). num_ctx and
  // num_thread > 0 rebuild the slot's session / pool when they differ (num_thread: only with one
  // slot; shared pools keep their size). A num_gpu other than the one the model was loaded with
  // (-1: the config's) reloads it once it is idle, as does a num_ctx larger than its GPU memory was
  // planned for.
  std::unique_ptr<Lease> acquire(const ResolvedModel& model, std::optional<Seconds> keep_alive, int64_t num_ctx,
                                 int num_thread, int64_t num_gpu = -1);
  // Unloads the model now if idle, else as soon as its running requests end.
  void unload(const std::string& resolved_name);
  nlohmann::json ps() const;  // /api/ps "models"
  const ManagerConfig& config() const { return config_; }
  ModelStore* store() const { return source_.store.get(); }
  int waiting() const { return waiting_.load(); }  // requests in acquire() now
  // Generations that ended because the client went away or asked to stop (tests, logs).
  std::atomic<int64_t> cancelled_generations{0};
  // The end of a drain (HttpServer::drain): generations still running stop, requests still waiting
  // and new ones get 503 "the server is shutting down".
  void cancel_all();
  bool cancelling() const { return cancel_all_.load(); }
  ModelGauges gauges() const;  // for /metrics
  // A --preload model: stays loaded whatever keep_alive later requests give (until unloaded).
  void pin(const std::string& resolved_name);
  Metrics metrics;

 private:
  void release(Entry& e, Slot& s);
  void reap_loop();
  std::shared_ptr<Entry> get_or_load(const ResolvedModel& model, int64_t num_gpu, int64_t num_ctx,
                                     double& load_seconds, std::unique_lock<std::mutex>& lock);

  ManagerConfig config_;
  ModelSource source_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // by resolved name
  std::map<std::string, bool> loading_;
  std::atomic<bool> cancel_all_{false};
  std::atomic<int> waiting_{0};  // requests in acquire()
  bool stop_ = false;
  std::thread reaper_;
};

}  // namespace smolvlm::server
