#include "io/safetensors_writer.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/parallel.h"
#include "base/progress.h"

namespace smolvlm {

int64_t SafetensorsEntry::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"U16", 2}, {"I16", 2},
      {"F16", 2},  {"BF16", 2}, {"U32", 4}, {"I32", 4}, {"F32", 4}, {"U64", 8}, {"I64", 8}, {"F64", 8}};
  const auto it = sizes.find(dtype);
  if (it == sizes.end()) fail("safetensors: unknown dtype \"", dtype, "\"");
  return it->second;
}

namespace {

// Byte size of one entry, with the checks the header needs.
uint64_t entry_bytes(const SafetensorsEntry& e) {
  uint64_t n = safetensors_dtype_size(e.dtype);
  for (int64_t d : e.shape) {
    if (d < 0) fail("safetensors: tensor ", e.name, " has a negative dimension ", d);
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      fail("safetensors: tensor ", e.name, " is too large");
    }
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

}  // namespace

std::string safetensors_header(const std::vector<SafetensorsEntry>& entries, const SafetensorsMetadata& metadata) {
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata) meta[k] = v;  // replaces "format" in place, appends others

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = std::move(meta);
  std::set<std::string> seen;
  uint64_t off = 0;
  for (const auto& e : entries) {
    if (e.name.empty() || e.name == "__metadata__") fail("safetensors: invalid tensor name \"", e.name, "\"");
    if (!seen.insert(e.name).second) fail("safetensors: tensor ", e.name, " is listed twice");
    const uint64_t nb = entry_bytes(e);
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    t["dtype"] = e.dtype;
    t["shape"] = e.shape;
    t["data_offsets"] = {off, off + nb};
    header[e.name] = std::move(t);
    off += nb;
  }
  std::string s;
  try {
    s = header.dump(-1, ' ', /*ensure_ascii=*/true);  // "," and ":" without spaces, like Python
  } catch (const nlohmann::json::exception& ex) {
    fail("safetensors: cannot encode the header (tensor names must be UTF-8): ", ex.what());
  }
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

SafetensorsWriter::SafetensorsWriter(const std::string& path, std::vector<SafetensorsEntry> entries,
                                     const SafetensorsMetadata& metadata, bool overwrite)
    : path_(path), entries_(std::move(entries)) {
  const std::string header = safetensors_header(entries_, metadata);
  for (const auto& e : entries_) {
    total_ += entry_bytes(e);
    ends_.push_back(total_);
  }
  file_ = std::make_unique<AtomicFile>(path, overwrite);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  file_->write(len, 8);
  file_->write(header.data(), header.size());
  header_ = 8 + header.size();
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::write(const void* data, size_t n) {
  if (!file_) fail(path_, ": write after commit");
  if (n > total_ - written_) {
    fail(path_, ": ", n, " bytes written at data offset ", written_, " run past the end of the last tensor (",
         total_, " bytes of tensor data)");
  }
  file_->write(data, n);
  written_ += n;
}

void SafetensorsWriter::commit() {
  if (!file_) fail(path_, ": committed twice");
  if (written_ != total_) {
    const size_t i = std::upper_bound(ends_.begin(), ends_.end(), written_) - ends_.begin();
    fail(path_, ": incomplete: tensor ", entries_[i].name, " is missing data from data offset ", written_,
         " (", total_ - written_, " bytes left)");
  }
  file_->commit();
  file_.reset();
}

uint64_t write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                           const SafetensorsMetadata& metadata, const SafetensorsProducer& produce,
                           const SafetensorsWriteOptions& options) {
  if (options.chunk_bytes == 0 || options.chunk_bytes % 8 != 0) {
    fail("write_safetensors: chunk_bytes (", options.chunk_bytes, ") must be a positive multiple of 8");
  }
  SafetensorsWriter writer(path, entries, metadata, options.overwrite);

  // The pieces, in file order.
  struct Piece {
    size_t index;
    uint64_t offset, size;
  };
  std::vector<Piece> pieces;
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint64_t nb = entry_bytes(entries[i]);
    for (uint64_t off = 0; off < nb; off += options.chunk_bytes) {
      pieces.push_back({i, off, std::min(options.chunk_bytes, nb - off)});
    }
  }

  // Batches of 2 pieces per thread: produced in parallel, then written in order.
  const int threads = options.threads <= 0 ? default_threads() : options.threads;
  const size_t batch = std::max<size_t>(1, 2 * static_cast<size_t>(threads));
  std::vector<std::vector<uint8_t>> bufs(std::min(batch, pieces.size()));
  for (size_t first = 0; first < pieces.size(); first += batch) {
    const size_t n = std::min(batch, pieces.size() - first);
    parallel_for(static_cast<int64_t>(n), threads, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        const Piece& p = pieces[first + k];
        auto& buf = bufs[k];
        buf.resize(p.size);
        produce(p.index, p.offset, std::span<uint8_t>(buf.data(), buf.size()));
      }
    });
    for (size_t k = 0; k < n; ++k) {
      writer.write(bufs[k].data(), bufs[k].size());
      if (options.progress) options.progress->advance(bufs[k].size(), entries[pieces[first + k].index].name);
    }
  }
  writer.commit();
  if (options.progress) options.progress->finish();
  return writer.header_bytes() + writer.data_bytes();
}

}  // namespace smolvlm
