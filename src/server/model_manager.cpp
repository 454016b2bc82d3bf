#include "server/model_manager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/error.h"
#include "base/file_util.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

using Clock = std::chrono::system_clock;

Clock::time_point expiry(std::optional<Seconds> keep_alive, bool& forever) {
  forever = !keep_alive.has_value();
  if (forever) return Clock::time_point::max();
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(*keep_alive);
}

// /api/ps expires_at: the deadline when idle, now + keep_alive while running, far ahead for forever.
Clock::time_point expires_at(const ModelManager::Entry& e, Clock::time_point far) {
  if (e.forever) return far;
  if (e.active > 0) return Clock::now() + std::chrono::duration_cast<Clock::duration>(e.keep_alive.value_or(Seconds(0)));
  return e.expires;
}

}  // namespace

ModelSource store_source(const std::string& root) {
  auto store = std::make_shared<ModelStore>(root);
  return ModelSource{[store](const std::string& name) { return store->resolve(name); },
                     [store] { return store->list(); }, store};
}

ModelManager::ModelManager(ManagerConfig config, ModelSource source)
    : config_(std::move(config)), source_(std::move(source)) {
  config_.num_parallel = std::max(1, config_.num_parallel);
  if (config_.max_loaded <= 0) config_.max_loaded = 3;
  if (config_.max_queue <= 0) config_.max_queue = 512;
  reaper_ = std::thread([this] { reap_loop(); });
}

ModelManager::~ModelManager() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  reaper_.join();
}

ResolvedModel ModelManager::resolve(const std::string& name) const {
  if (name.empty()) throw ApiError(400, "model is required");
  try {
    return source_.resolve(name);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find("not found") != std::string::npos && msg.find("blob") == std::string::npos)
      throw ApiError(404, cat("model '", name, "' not found"));
    if (msg.find("invalid") != std::string::npos) throw ApiError(400, msg);
    throw ApiError(500, msg);
  }
}

std::vector<ListedModel> ModelManager::list() const {
  try {
    return source_.list();
  } catch (const Error& e) {
    throw ApiError(500, e.what());
  }
}

std::shared_ptr<ModelManager::Entry> ModelManager::get_or_load(const ResolvedModel& model, int64_t num_gpu,
                                                               int64_t num_ctx, double& load_seconds,
                                                               std::unique_lock<std::mutex>& lock) {
  for (;;) {
    cv_.wait(lock, [&] { return !loading_.count(model.name) || cancel_all_; });
    if (cancel_all_) throw ApiError(503, "the server is shutting down; send the request to another replica");
    auto it = entries_.find(model.name);
    if (it != entries_.end()) {
      const Entry& e = *it->second;
      // loaded for another num_gpu, or for a smaller context than this request's on the GPU
      const bool replan = e.num_gpu != num_gpu ||
                          (e.model->offload().gpu_bytes > 0 && num_ctx > 0 && num_ctx > e.plan_ctx);
      if (e.resolved.digest == model.digest && !replan) return it->second;
      if (e.active > 0) {  // the requests using it finish first
        cv_.wait(lock);
        continue;
      }
      log_event("INFO", cat("unloading ", e.resolved.short_name, e.resolved.digest != model.digest
                                                                    ? ": replaced in the store"
                                                                    : ": loading it again for this request's num_gpu / num_ctx"));
      entries_.erase(it);  // replaced in the store, or loaded otherwise
    }
    // Make room: unload the idle model that expires first; wait while every model is busy.
    if (static_cast<int>(entries_.size()) >= config_.max_loaded) {
      std::shared_ptr<Entry> victim;
      for (auto& [n, e] : entries_)
        if (e->active == 0 && (!victim || e->expires < victim->expires)) victim = e;
      if (victim == nullptr) {
        cv_.wait(lock);
        continue;
      }
      log_event("INFO", cat("unloading ", victim->resolved.short_name, " to make room for ", model.short_name,
                            " (OLLAMA_MAX_LOADED_MODELS ", config_.max_loaded, ")"));
      entries_.erase(victim->resolved.name);
    }
    break;
  }
  loading_[model.name] = true;
  lock.unlock();
  auto entry = std::make_shared<Entry>();
  entry->resolved = model;
  try {
    LoadOptions o;
    o.num_gpu = num_gpu;
    o.device = config_.device;
    o.n_ctx = num_ctx;
    o.n_seq = config_.num_parallel;
    entry->model = LoadedModel::load(model.text_path, model.mmproj_path, o);
    entry->num_gpu = num_gpu;
    entry->plan_ctx = text_context_size(entry->model->text().config(), {.n_ctx = num_ctx});
    const backend::OffloadPlan& plan = entry->model->offload();
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", entry->model->load_seconds());
    log_event("INFO", cat("loaded ", model.short_name, " in ", secs, " s on ", entry->model->device_name(), ": ",
                          human_bytes(plan.total_bytes),
                          plan.gpu_bytes > 0 ? cat(" (", human_bytes(plan.gpu_bytes), " on the GPU)") : std::string(),
                          "; ", plan.summary));
    if (entry->model->vision() != nullptr) entry->media = std::make_unique<MediaEncoder>(entry->model);
  } catch (const std::exception& e) {
    lock.lock();
    loading_.erase(model.name);
    cv_.notify_all();
    log_event("ERROR", cat("unable to load ", model.short_name, ": ", e.what()));
    throw ApiError(500, cat("unable to load model: ", e.what()));
  }
  entry->slots.resize(static_cast<size_t>(config_.num_parallel));
  if (config_.num_parallel > 1) {
    entry->pool = std::make_unique<kernels::ThreadPool>(config_.threads);
    entry->batcher = std::make_shared<DecodeBatcher>(entry->model, *entry->pool, config_.num_parallel, config_.batch_wait);
  }
  load_seconds = entry->model->load_seconds();
  lock.lock();
  loading_.erase(model.name);
  entry->expires = expiry(config_.keep_alive, entry->forever);
  entries_[model.name] = entry;
  cv_.notify_all();
  return entry;
}

std::unique_ptr<ModelManager::Lease> ModelManager::acquire(const ResolvedModel& model,
                                                           std::optional<Seconds> keep_alive, int64_t num_ctx,
                                                           int num_thread, int64_t num_gpu) {
  if (num_gpu < 0) num_gpu = config_.num_gpu;
  if (cancel_all_) throw ApiError(503, "the server is shutting down; send the request to another replica");
  if (++waiting_ > config_.max_queue) {
    --waiting_;
    throw ApiError(503, "server busy, please try again.  maximum pending requests exceeded");
  }
  struct Waiting {
    std::atomic<int>& n;
    ~Waiting() { --n; }
  } waiting{waiting_};
  std::unique_lock<std::mutex> lock(mu_);

  double load_seconds = 0;
  std::shared_ptr<Entry> entry = get_or_load(model, num_gpu, num_ctx, load_seconds, lock);
  Slot* slot = nullptr;
  cv_.wait(lock, [&] {
    if (cancel_all_) return true;
    for (Slot& s : entry->slots)
      if (!s.busy) {
        slot = &s;
        return true;
      }
    return false;
  });
  if (slot == nullptr) throw ApiError(503, "the server is shutting down; send the request to another replica");
  slot->busy = true;
  ++entry->active;
  entry->keep_alive = keep_alive;
  entry->forever = entry->pinned || !keep_alive.has_value();
  lock.unlock();

  // Outside the lock: (re)build this slot's pool and session when the settings differ.
  auto lease = std::make_unique<Lease>(this, entry, slot, load_seconds);
  const int threads = num_thread > 0 ? num_thread : config_.threads;
  try {
    if (entry->batcher) {  // slots share the entry's pool and batch their decode steps
      if (slot->session == nullptr || (num_ctx > 0 && slot->session->n_ctx() != num_ctx)) {
        SessionOptions o;
        o.n_ctx = num_ctx;
        o.batcher = entry->batcher;
        slot->session = std::make_unique<Session>(entry->model, o, *entry->pool);
      }
      return lease;
    }
    if (slot->pool == nullptr || slot->threads != threads) {
      slot->session.reset();
      slot->pool = std::make_unique<kernels::ThreadPool>(threads);
      slot->threads = threads;
    }
    if (slot->session == nullptr || (num_ctx > 0 && slot->session->n_ctx() != num_ctx)) {
      SessionOptions o;
      o.n_ctx = num_ctx;
      slot->session = std::make_unique<Session>(entry->model, o, *slot->pool);
    }
  } catch (const std::exception& e) {
    throw ApiError(500, e.what());
  }
  return lease;
}

ModelManager::Lease::~Lease() { manager_->release(*entry_, *slot_); }

std::pair<uint64_t, uint64_t> ModelManager::decode_batches(const std::string& name) const {
  const std::string key = resolve(name).name;
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || !it->second->batcher) return {0, 0};
  return {it->second->batcher->passes(), it->second->batcher->steps()};
}

void ModelManager::Lease::with_pool(const std::function<void(kernels::ThreadPool&)>& fn) {
  if (entry_->batcher) entry_->batcher->exclusive([&] { fn(*entry_->pool); });
  else fn(*slot_->pool);
}

void ModelManager::release(Entry& e, Slot& s) {
  std::lock_guard<std::mutex> lock(mu_);
  s.busy = false;
  s.kv_tokens = s.session ? static_cast<int64_t>(s.session->cached_tokens().size()) : 0;
  s.kv_capacity = s.session ? s.session->n_ctx() : 0;
  --e.active;
  if (e.active == 0) e.expires = expiry(e.pinned ? std::nullopt : e.keep_alive, e.forever);  // then the reaper unloads it
  cv_.notify_all();
}

void ModelManager::unload(const std::string& resolved_name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(resolved_name);
  if (it == entries_.end()) return;
  it->second->keep_alive = Seconds(0);
  it->second->forever = false;
  it->second->pinned = false;
  it->second->expires = Clock::now();
  if (it->second->active == 0) {
    log_event("INFO", cat("unloaded ", it->second->resolved.short_name, " (keep_alive 0 or removed)"));
    entries_.erase(it);
  }
  cv_.notify_all();
}

void ModelManager::reap_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    const auto now = Clock::now();
    for (auto it = entries_.begin(); it != entries_.end();) {
      const Entry& e = *it->second;
      if (e.active == 0 && !e.forever && e.expires <= now) {
        log_event("INFO", cat("unloaded ", e.resolved.short_name, ": idle for its keep_alive"));
        it = entries_.erase(it);
        cv_.notify_all();
      } else {
        ++it;
      }
    }
  }
}

void ModelManager::cancel_all() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_all_ = true;
  }
  cv_.notify_all();
}

void ModelManager::pin(const std::string& resolved_name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(resolved_name); it != entries_.end()) it->second->pinned = it->second->forever = true;
}

ModelGauges ModelManager::gauges() const {
  std::lock_guard<std::mutex> lock(mu_);
  ModelGauges g;
  g.waiting = waiting_.load();
  int64_t held = 0, capacity = 0;
  for (const auto& [n, e] : entries_) {
    ++g.loaded;
    g.running += e->active;
    g.gpu_bytes += e->model->offload().gpu_bytes;
    for (const Slot& s : e->slots) {  // as last released (a busy slot's session is its lease's)
      held += s.kv_tokens;
      capacity += s.kv_capacity;
    }
  }
  g.kv_cache_usage = capacity > 0 ? static_cast<double>(held) / static_cast<double>(capacity) : 0.0;
  return g;
}

nlohmann::json ModelManager::ps() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Entry>> list;
  for (const auto& [n, e] : entries_) list.push_back(e);
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a->expires > b->expires; });
  nlohmann::json models = nlohmann::json::array();
  for (const auto& e : list) {
    const GgufFile& f = e->model->text().file();
    std::string digest = e->resolved.digest;
    if (digest.rfind("sha256:", 0) == 0) digest = digest.substr(7);
    int64_t n_ctx = 0;
    for (const Slot& s : e->slots)
      if (s.session) n_ctx = std::max(n_ctx, s.session->n_ctx());
    const auto far = Clock::now() + std::chrono::hours(24 * 365 * 100);  // "forever"
    // the memory it takes (weights with the projector's, KV caches as planned, the GPU's buffers)
    // and the GPU's share, as Ollama reports them
    const backend::OffloadPlan& plan = e->model->offload();
    const uint64_t size = plan.total_bytes;
    models.push_back({{"name", e->resolved.short_name},
                      {"model", e->resolved.short_name},
                      {"size", size},
                      {"digest", digest},
                      {"details", {{"parent_model", ""}, {"format", "gguf"}, {"family", f.architecture()},
                                   {"families", {f.architecture()}}}},
                      {"expires_at", rfc3339(expires_at(*e, far))},
                      {"size_vram", plan.gpu_bytes},
                      {"context_length", n_ctx}});
  }
  return models;
}

}  // namespace smolvlm::server
