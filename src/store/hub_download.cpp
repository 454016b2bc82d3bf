#include "store/hub_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "store/blobs.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

// One byte range of the file: [begin, end) (end -1: to the end, size unknown) and the bytes of it
// already in the partial file.
struct Range {
  int64_t begin = 0, end = -1;
  std::atomic<int64_t> done{0};
  int64_t length() const { return end < 0 ? -1 : end - begin; }
  bool complete() const { return end >= 0 && done.load() >= end - begin; }
};

std::string state_path(const std::string& partial) { return partial + "-state"; }

void save_state(const std::string& path, const DownloadRequest& req, const std::vector<std::unique_ptr<Range>>& ranges) {
  nlohmann::json j;
  j["url"] = req.url;
  j["size"] = req.size;
  j["sha256"] = req.sha256;
  j["ranges"] = nlohmann::json::array();
  for (const auto& r : ranges) j["ranges"].push_back({r->begin, r->end, r->done.load()});
  // Written in place (not fsync'd): a state that lags the data only makes a resume refetch bytes,
  // and the final sha256 check catches anything else.
  const std::string tmp = path + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
    const std::string s = j.dump();
    const bool ok = std::fwrite(s.data(), 1, s.size(), f) == s.size();
    if (std::fclose(f) == 0 && ok) std::rename(tmp.c_str(), path.c_str());
  }
}

// The ranges an earlier run recorded for the same file, or a fresh plan.
std::vector<std::unique_ptr<Range>> plan(const HubConfig& cfg, const DownloadRequest& req, const std::string& partial) {
  std::vector<std::unique_ptr<Range>> ranges;
  std::error_code ec;
  if (req.size >= 0 && fs::exists(partial, ec)) {
    try {
      const auto j = nlohmann::json::parse(read_file(state_path(partial)));
      if (j.at("size").get<int64_t>() == req.size && j.at("sha256").get<std::string>() == req.sha256) {
        for (const auto& r : j.at("ranges")) {
          auto x = std::make_unique<Range>();
          x->begin = r.at(0).get<int64_t>();
          x->end = r.at(1).get<int64_t>();
          x->done = std::min(r.at(2).get<int64_t>(), x->end - x->begin);
          if (x->begin < 0 || x->end > req.size || x->begin > x->end || x->done < 0) fail("bad range");
          ranges.push_back(std::move(x));
        }
        if (!ranges.empty()) return ranges;
      }
    } catch (const std::exception&) {
      ranges.clear();  // no usable state: start over
    }
  }
  const int n = req.size >= cfg.parallel_min_size && cfg.parallel > 1 ? cfg.parallel : 1;
  for (int i = 0; i < n; ++i) {
    auto r = std::make_unique<Range>();
    r->begin = req.size < 0 ? 0 : req.size * i / n;
    r->end = req.size < 0 ? -1 : req.size * (i + 1) / n;
    ranges.push_back(std::move(r));
  }
  return ranges;
}

struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<bool> ranges_ignored{false};
  std::mutex mu;
  std::exception_ptr error;
};

void write_all(int fd, const char* data, size_t n, int64_t off, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": cannot write at byte offset ", off, ": ", std::strerror(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
    off += w;
  }
}

// Fetches one range, retrying transient errors (the attempt count starts over after progress).
void fetch_range(const HubConfig& cfg, const DownloadRequest& req, Range& r, bool whole_file, int fd,
                 const std::string& partial, Shared& sh) {
  int attempts = 0;
  while (!sh.stop && !r.complete()) {
    const int64_t before = r.done;
    HttpRequest h;
    h.url = req.url;
    const int64_t from = r.begin + r.done;
    if (!whole_file || from > 0) {
      h.range_begin = from;
      if (!whole_file) h.range_end = r.end - 1;
    }
    h.cancelled = [&] { return sh.stop.load(); };
    h.sink = [&](const char* data, size_t n) {
      if (sh.stop) return false;
      try {  // no exception may cross libcurl's C frames
        if (r.end >= 0 && r.done + static_cast<int64_t>(n) > r.end - r.begin) {
          fail(req.url, ": the server sent more bytes than the file has (", req.size, ")");
        }
        write_all(fd, data, n, r.begin + r.done, partial);
      } catch (...) {
        std::lock_guard lock(sh.mu);
        if (!sh.error) sh.error = std::current_exception();
        sh.stop = true;
        return false;
      }
      r.done += static_cast<int64_t>(n);
      return true;
    };
    try {
      http_request(cfg, h);
      if (r.end < 0) return;  // size unknown: the transfer's end is the file's end
      if (r.complete()) return;
      throw HttpError(cat(req.url, ": the transfer ended after ", r.begin + r.done, " of ", req.size, " bytes"), 0, true);
    } catch (const HttpError& e) {
      if (sh.stop) return;
      if (e.status() == 200 && h.range_begin > 0) {  // the server ignores Range
        if (!whole_file) {
          sh.ranges_ignored = true;
          sh.stop = true;
          return;
        }
        r.done = 0;  // start the whole file over
        continue;
      }
      if (r.done > before) attempts = 0;
      if (!e.transient() || attempts >= cfg.retries) {
        std::lock_guard lock(sh.mu);
        if (!sh.error) sh.error = std::current_exception();
        sh.stop = true;
        return;
      }
      const int delay = std::min(8000, cfg.retry_delay_ms << std::min(attempts, 10));
      ++attempts;
      for (int waited = 0; waited < delay && !sh.stop; waited += 20) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20, delay - waited)));
      }
    } catch (...) {
      std::lock_guard lock(sh.mu);
      if (!sh.error) sh.error = std::current_exception();
      sh.stop = true;
      return;
    }
  }
}

void remove_partial(const std::string& partial) {
  std::error_code ec;
  fs::remove(partial, ec);
  fs::remove(state_path(partial), ec);
}

}  // namespace

std::string download_partial(const HubConfig& cfg, const DownloadRequest& req, const DownloadProgress& progress) {
  const std::string partial = req.dest + "-partial";
  if (const fs::path dir = fs::path(req.dest).parent_path(); !dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail(dir.string(), ": cannot create the folder: ", ec.message());
  }
  for (int round = 0; round < 2; ++round) {
    auto ranges = plan(cfg, req, partial);
    if (round == 1) {  // the server ignored Range: one plain transfer of the whole file
      ranges.resize(1);
      ranges[0]->end = req.size;
      ranges[0]->done = 0;
    }
    const bool whole = ranges.size() == 1 && ranges[0]->begin == 0;
    if (ranges[0]->end < 0 || round == 1) remove_partial(partial);
    const int fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail(partial, ": cannot open for writing: ", std::strerror(errno));
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // two pulls of one file would mix their bytes
      fail(partial, ": another download of this file is in progress (", std::strerror(errno), ")");
    }
    if (req.size >= 0 && ::ftruncate(fd, req.size) != 0) fail(partial, ": cannot size to ", req.size, " bytes: ", std::strerror(errno));

    Shared sh;
    std::vector<std::thread> threads;
    std::atomic<int> running{0};
    std::condition_variable finished;
    for (auto& r : ranges) {
      if (r->complete()) continue;
      ++running;
      threads.emplace_back([&, rp = r.get()] {
        fetch_range(cfg, req, *rp, whole, fd, partial, sh);
        std::lock_guard lock(sh.mu);
        --running;
        finished.notify_all();
      });
    }
    // The calling thread reports progress and saves the resume state while the ranges run.
    auto completed = [&] {
      int64_t n = 0;
      for (const auto& r : ranges) n += r->done;
      return n;
    };
    // A progress callback that throws cancels the download (e.g. an /api/pull client went away):
    // the ranges stop, the state is saved for a later resume, and the exception goes on.
    std::exception_ptr cancelled;
    auto last_save = std::chrono::steady_clock::now();
    while (running > 0) {
      {
        std::unique_lock lock(sh.mu);
        finished.wait_for(lock, std::chrono::milliseconds(200), [&] { return running == 0; });
      }
      try {
        if (progress && !cancelled) progress(completed(), req.size);
      } catch (...) {
        cancelled = std::current_exception();
        sh.stop = true;
      }
      if (req.size >= 0 && std::chrono::steady_clock::now() - last_save > std::chrono::seconds(1)) {
        save_state(state_path(partial), req, ranges);
        last_save = std::chrono::steady_clock::now();
      }
    }
    for (auto& t : threads) t.join();
    if (req.size >= 0) save_state(state_path(partial), req, ranges);
    if (cancelled) std::rethrow_exception(cancelled);
    if (progress) progress(completed(), req.size);
    if (sh.ranges_ignored && round == 0) continue;
    if (sh.error) std::rethrow_exception(sh.error);
    if (::fsync(fd) != 0) fail(partial, ": fsync failed: ", std::strerror(errno));
    return partial;
  }
  fail(req.url, ": the download did not complete");
}

std::string commit_download(const DownloadRequest& req) {
  const std::string partial = req.dest + "-partial";
  std::error_code ec;
  const auto size = static_cast<int64_t>(fs::file_size(partial, ec));
  if (ec) fail(partial, ": the downloaded file is missing: ", ec.message());
  if (req.size >= 0 && size != req.size) {
    remove_partial(partial);
    fail(req.url, ": size mismatch: expected ", req.size, " bytes, got ", size, "; the partial download was removed");
  }
  const std::string digest = BlobStore::file_digest(partial);  // "sha256:<hex>"
  const std::string hex = digest.substr(7);
  if (!req.sha256.empty() && hex != req.sha256) {
    remove_partial(partial);
    fail("sha256 mismatch for ", req.url, ": expected ", req.sha256, ", got ", hex,
         "; the download was removed, try again");
  }
  if (std::rename(partial.c_str(), req.dest.c_str()) != 0) {
    fail("cannot rename ", partial, " to ", req.dest, ": ", std::strerror(errno));
  }
  const std::string dir = fs::path(req.dest).parent_path().string();
  if (int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  fs::remove(state_path(partial), ec);
  return hex;
}

std::string download_file(const HubConfig& cfg, const DownloadRequest& req, const DownloadProgress& progress) {
  download_partial(cfg, req, progress);
  return commit_download(req);
}

}  // namespace smolvlm
