// Bounded, thread-safe cache of BPE results per pre-token word (raw bytes -> ids). When full it is
// emptied and refilled, which keeps the memory bounded and the common words hot.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace smolvlm::tok {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 128;  // longer words are merged every time

  explicit WordCache(size_t capacity = size_t{1} << 16) : capacity_(capacity) {}

  // Appends the cached ids of `word` to out; false when not cached.
  bool get(std::string_view word, std::vector<int32_t>& out) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = map_.find(word);
    if (it == map_.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }

  void put(std::string_view word, std::span<const int32_t> ids) {
    if (word.size() > kMaxWordBytes || capacity_ == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= capacity_) map_.clear();
    map_.try_emplace(std::string(word), ids.begin(), ids.end());
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map_;
};

}  // namespace smolvlm::tok
