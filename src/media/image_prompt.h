// The text that replaces one `<image>` placeholder in a SmolVLM prompt (smolvlm2-spec §8,
// transformers' processing_smolvlm.py). `seq` = image_seq_len: 64 (256M/500M) or 81 (2.2B).
//
//   split R x C:  for r in 1..R: (for c in 1..C: <fake_token_around_image><row_r_col_c><image>*seq) "\n"
//                 then "\n<fake_token_around_image><global-img>" <image>*seq "<fake_token_around_image>"
//   unsplit (rows = cols = 0) and video frames:
//                 <fake_token_around_image><global-img> <image>*seq <fake_token_around_image>
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smolvlm {

inline constexpr std::string_view kImageToken = "<image>";
inline constexpr std::string_view kFakeImageToken = "<fake_token_around_image>";
inline constexpr std::string_view kGlobalImageToken = "<global-img>";

// Throws smolvlm::Error for negative sizes, a zero in only one of rows/cols, or seq < 1.
std::string image_prompt_text(int rows, int cols, int seq);
// Unsplit image / video frame block.
std::string single_image_prompt_text(int seq);
// Number of tokens image_prompt_text tokenizes to (the "\n" ending the last row and the "\n"
// opening the global block form one "\n\n" token): R*C*(seq+2) + R + seq + 3, or seq + 3.
int64_t image_prompt_num_tokens(int rows, int cols, int seq);

// Replaces the k-th "<image>" in `text` with image_prompt_text of grids[k] = {rows, cols}.
// Throws smolvlm::Error when the numbers of placeholders and grids differ.
std::string expand_image_placeholders(std::string_view text, const std::vector<std::pair<int, int>>& grids, int seq);

}  // namespace smolvlm
