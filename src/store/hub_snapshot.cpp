#include "store/hub_snapshot.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "base/file_util.h"
#include "base/hex.h"
#include "store/blobs.h"
#include "store/hub_download.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

// Relative paths only: no absolute path, no "..", no empty part (the path comes from the hub).
bool safe_relative(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos) return false;
  for (const auto& part : fs::path(p)) {
    if (part == ".." || part == "." || part.empty()) return false;
  }
  return true;
}

bool has_hash(const std::string& path, const HubFile& f) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || static_cast<int64_t>(fs::file_size(path, ec)) != f.size) return false;
  try {
    if (!f.sha256.empty()) return BlobStore::file_digest(path) == "sha256:" + f.sha256;
    return f.oid.empty() || git_blob_id(path) == f.oid;
  } catch (const Error&) {
    return false;
  }
}

void write_text(const fs::path& p, const std::string& s) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"), std::fclose);
    if (!f || std::fwrite(s.data(), 1, s.size(), f.get()) != s.size()) fail(tmp.string(), ": cannot write");
  }
  fs::rename(tmp, p);
}

}  // namespace

std::string git_blob_id(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) fail(path, ": cannot open");
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr);
  const std::string header = cat("blob ", size, std::string(1, '\0'));
  EVP_DigestUpdate(ctx.get(), header.data(), header.size());
  std::vector<char> buf(1 << 20);
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0;) EVP_DigestUpdate(ctx.get(), buf.data(), n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return hex_lower(md, len);
}

std::string hub_download_snapshot(const HubConfig& cfg, const std::string& repo, const std::string& rev,
                                  const std::function<bool(const HubFile&)>& want, const SnapshotProgress& progress) {
  check_repo_id(repo);
  if (cfg.cache_dir.empty()) fail("no Hugging Face cache folder: set HF_HOME (or HOME)");
  const std::string commit = hub_revision_sha(cfg, repo, rev);
  const auto slash = repo.find('/');
  const fs::path root = fs::path(cfg.cache_dir) / ("models--" + repo.substr(0, slash) + "--" + repo.substr(slash + 1));
  const fs::path snap = root / "snapshots" / commit;
  fs::create_directories(root / "blobs");
  fs::create_directories(root / "refs");
  fs::create_directories(snap);
  for (const HubFile& f : hub_list_files(cfg, repo, commit)) {
    if (want && !want(f)) continue;
    if (!safe_relative(f.path)) fail(repo, ": unsafe file path in the listing: '", f.path, "'");
    const std::string id = !f.sha256.empty() ? f.sha256 : f.oid;
    if (id.empty()) fail(repo, "/", f.path, ": the listing gives no hash for the file");
    const fs::path blob = root / "blobs" / id;
    if (!has_hash(blob.string(), f)) {
      DownloadRequest req;
      req.url = hub_file_url(cfg, repo, commit, f.path);
      req.dest = blob.string();
      req.sha256 = f.sha256;
      req.size = f.size;
      download_partial(cfg, req, [&](int64_t done, int64_t total) {
        if (progress) progress(f, done, total);
      });
      commit_download(req);
      if (f.sha256.empty() && !f.oid.empty() && git_blob_id(blob.string()) != f.oid) {
        fs::remove(blob);
        fail("git blob id mismatch for ", repo, "/", f.path, ": expected ", f.oid, "; the download was removed");
      }
    } else if (progress) {
      progress(f, f.size, f.size);
    }
    // snapshots/<commit>/<path> -> ../../blobs/<id> (relative, as huggingface_hub links it)
    const fs::path link = snap / f.path;
    fs::create_directories(link.parent_path());
    fs::path target = fs::path("..") / "..";
    for (char ch : f.path) {
      if (ch == '/') target /= "..";  // one more level per sub-folder
    }
    target /= fs::path("blobs") / id;
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_symlink(target, link, ec);
    if (ec) fs::copy_file(blob, link, fs::copy_options::overwrite_existing);  // no symlinks here
  }
  if (rev != commit && rev.find('/') == std::string::npos && rev != "..") write_text(root / "refs" / rev, commit);
  return snap.string();
}

}  // namespace smolvlm
