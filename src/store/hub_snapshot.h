// Downloads a repository snapshot into the Hugging Face cache, in huggingface_hub's own layout, so
// each side reuses what the other fetched: <cache>/models--ORG--REPO/blobs/<sha256 or git id>,
// snapshots/<commit>/<path> → ../../blobs/<id> (symlinks) and refs/<rev> = <commit>. Files already
// there with the right hash are kept; the others are downloaded resumably (hub_download.h) and
// checked: LFS files by sha256, small git files by their git blob id (sha1 of "blob <size>\0…").
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "store/hub_client.h"

namespace smolvlm {

// file: the repository path; done / total bytes of that file (total -1 when unknown).
using SnapshotProgress = std::function<void(const HubFile& file, int64_t done, int64_t total)>;

// Returns the snapshot folder. `want` picks the files (all when empty). Throws Error when the cache
// folder is unknown (no HF_HOME / HOME), on hub errors and on verification failures.
std::string hub_download_snapshot(const HubConfig& cfg, const std::string& repo, const std::string& rev,
                                  const std::function<bool(const HubFile&)>& want = {},
                                  const SnapshotProgress& progress = {});

// git's blob id of a file's bytes: sha1("blob <size>\0" + bytes), hex.
std::string git_blob_id(const std::string& path);

}  // namespace smolvlm
