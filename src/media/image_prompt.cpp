#include "media/image_prompt.h"

#include "base/error.h"

namespace smolvlm {
namespace {

void append_images(std::string& s, int seq) {
  for (int i = 0; i < seq; ++i) s += kImageToken;
}

void check(int rows, int cols, int seq) {
  if (seq < 1) fail("image prompt: image_seq_len must be positive (", seq, ")");
  if (rows < 0 || cols < 0 || (rows == 0) != (cols == 0))
    fail("image prompt: invalid tile grid ", rows, "x", cols, " (both zero for an unsplit image, else both positive)");
}

}  // namespace

std::string single_image_prompt_text(int seq) {
  check(0, 0, seq);
  std::string s;
  s.reserve(kFakeImageToken.size() * 2 + kGlobalImageToken.size() + kImageToken.size() * static_cast<size_t>(seq));
  s += kFakeImageToken;
  s += kGlobalImageToken;
  append_images(s, seq);
  s += kFakeImageToken;
  return s;
}

std::string image_prompt_text(int rows, int cols, int seq) {
  check(rows, cols, seq);
  if (rows == 0) return single_image_prompt_text(seq);
  std::string s;
  for (int r = 1; r <= rows; ++r) {
    for (int c = 1; c <= cols; ++c) {
      s += kFakeImageToken;
      s += cat("<row_", r, "_col_", c, ">");
      append_images(s, seq);
    }
    s += '\n';
  }
  s += '\n';
  s += single_image_prompt_text(seq);
  return s;
}

int64_t image_prompt_num_tokens(int rows, int cols, int seq) {
  check(rows, cols, seq);
  const int64_t single = static_cast<int64_t>(seq) + 3;
  if (rows == 0) return single;
  return static_cast<int64_t>(rows) * cols * (seq + 2) + rows + single;
}

std::string expand_image_placeholders(std::string_view text, const std::vector<std::pair<int, int>>& grids, int seq) {
  std::string out;
  size_t pos = 0, used = 0;
  for (size_t hit; (hit = text.find(kImageToken, pos)) != std::string_view::npos; pos = hit + kImageToken.size()) {
    if (used == grids.size())
      fail("image prompt: the text has more ", kImageToken, " placeholders than the ", grids.size(), " image(s) given");
    out.append(text.substr(pos, hit - pos));
    out += image_prompt_text(grids[used].first, grids[used].second, seq);
    ++used;
  }
  if (used != grids.size())
    fail("image prompt: the text has ", used, " ", kImageToken, " placeholder(s) but ", grids.size(),
         " image(s) were given");
  out.append(text.substr(pos));
  return out;
}

}  // namespace smolvlm
