// Stop strings over streamed text: text is fed piece by piece (one detokenized token at a time) and
// a stop string is found even when it spans several pieces. Text that might be the start of a stop
// string is held back until it is known not to be; a stop string and everything after it are
// never emitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smolvlm {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  // Feeds a piece; returns the text now safe to emit. After a stop string was seen, stopped() is
  // true and further pushes return "".
  std::string push(std::string_view piece);
  std::string flush();  // end of generation without a stop: the held-back text
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace smolvlm
