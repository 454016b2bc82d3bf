// TokenStreamDecoder: decode() one token at a time. A UTF-8 sequence cut at the end of what has
// arrived is held back; everything before it is final (an invalid subpart that is followed by more
// bytes cannot become valid), so the pieces concatenate to decode(all ids).
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace smolvlm {

std::string TokenStreamDecoder::push(int32_t id) {
  pending_ += tok_->token_bytes(id, skip_);
  std::string out;
  const size_t used = tok::append_utf8_complete(out, pending_);
  pending_.erase(0, used);
  return out;
}

std::string TokenStreamDecoder::flush() {
  std::string out;
  tok::append_utf8_lossy(out, pending_);
  pending_.clear();
  return out;
}

}  // namespace smolvlm
