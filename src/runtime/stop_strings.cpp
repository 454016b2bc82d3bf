// StopMatcher: finds stop strings across streamed pieces, holding back possible prefixes.
#include "runtime/stop_strings.h"

#include <algorithm>

namespace smolvlm {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopMatcher::push(std::string_view piece) {
  if (stopped_) return {};
  std::string text = std::move(held_);
  held_.clear();
  text.append(piece);

  // The earliest occurrence of any stop string ends the stream (what precedes it is emitted).
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, text.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    text.resize(first);
    return text;
  }

  // Hold back the longest suffix that is a proper prefix of some stop string: any stop string
  // that completes later must start inside it.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > hold; --len) {
      if (std::string_view(text).substr(text.size() - len) == std::string_view(s).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  held_ = text.substr(text.size() - hold);
  text.resize(text.size() - hold);
  return text;
}

std::string StopMatcher::flush() {
  if (stopped_) return {};
  std::string out = std::move(held_);
  held_.clear();
  return out;
}

}  // namespace smolvlm
