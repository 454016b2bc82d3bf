// Small whole-file helpers shared by the layers above.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace smolvlm {

// The whole file as bytes. Throws Error "<path>: cannot read the file: <reason>".
std::string read_file(const std::string& path);

// "~" and "~/…" with $HOME in front; other paths as they are.
std::string expand_home(const std::string& path);

// Copies src to dst (created; must not exist): a reflink (FICLONE: the data shared copy-on-write, so
// editing either file never changes the other) where the filesystem can, else copy_file_range, else
// read/write. on_progress(done, total) after each chunk. Returns true for a reflink. Throws Error
// naming the file; a partial dst is removed.
bool copy_file_data(const std::string& src, const std::string& dst,
                    const std::function<void(int64_t, int64_t)>& on_progress = {});

// "1.5 GiB", "120 MiB", "12 KiB": sizes for plans and logs.
std::string human_bytes(uint64_t bytes);

}  // namespace smolvlm
