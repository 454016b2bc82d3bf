// The work list of `smolvlm batch`: PATH arguments (files, folders searched recursively for images
// and videos by extension, glob patterns a shell left unexpanded) and the per-file prompts of a
// --prompts file (CSV with file,prompt columns, or JSONL with {"file","prompt"} objects).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/batch_records.h"

namespace smolvlm::cli {

// One unit of work. `error` is set when the input cannot be run at all (a path that does not
// exist, a pattern that matches nothing); it becomes that input's error record.
struct BatchInput {
  std::string file;    // as given, or as found under a folder / by a pattern
  std::string prompt;
  std::string error;
};

// Image and video extensions a folder search picks up (case-insensitive): jpg jpeg png webp gif
// bmp, mp4 mkv webm mov avi m4v.
bool is_media_name(const std::string& path);

// Expands PATH arguments in order: a folder to its media files (recursive, hidden names skipped,
// sorted), a missing path containing * ? [ to its glob(3) matches (folders among them expanded
// too), anything else as is (a missing file is an input with its error). Duplicates (the same
// normalized path) are kept once, at their first place. Prompts are left empty.
std::vector<BatchInput> expand_inputs(const std::vector<std::string>& paths);

// A --prompts file: .csv (a header naming the columns `file` and `prompt`; RFC 4180 quoting) or
// .jsonl (one {"file": ..., "prompt": ...} object a line; blank lines ignored). A relative file
// that does not exist as given but does next to the prompts file is taken from there. Throws
// Error naming the file and line for anything malformed, or when it lists nothing.
std::vector<BatchInput> read_prompts_file(const std::string& path);

// The key under which inputs are matched (prompts to PATHs, records to inputs): the path made
// lexically normal ("./a//b.png" and "a/b.png" are one file).
std::string path_key(const std::string& path);

// Throws Error with the record's message when an input cannot be run: its own error, a missing or
// unreadable path, a folder, a file named as an image that does not hold one (the one message of
// media/image_decode.h). What the file's decoder will say is left to it.
void check_batch_input(const BatchInput& in);

// One input's record, local or remote: file and prompt, the input checks (check_batch_input and the
// prompt's UTF-8), then `answer` fills in the rest; total_s is the whole. Never throws: a failure is
// the record's error, the file's name taken off its front (the record names it).
BatchRecord answer_input(const BatchInput& in, const std::function<void(BatchRecord&)>& answer);

// --shard I/N: whether `file` falls in share `index` of `count` (a hash of its normalized path, so
// the shares cover every file exactly once whatever the order or the machine).
bool in_shard(const std::string& file, int index, int count);

}  // namespace smolvlm::cli
