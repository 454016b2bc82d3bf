// GgufWriter: builds a GGUF v3 file exactly as ggml / gguf-py lay it out: header, key/values in
// insertion order, tensor infos, zero padding to ALIGNMENT, then each tensor's data padded with
// zeros to ALIGNMENT. Tensor data are produced one tensor at a time.
#include <bit>
#include <cstring>
#include <limits>
#include <string_view>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/progress.h"
#include "io/gguf.h"

namespace smolvlm {

namespace {

constexpr uint32_t kDefaultAlignment = 32;
constexpr size_t kMaxTensorName = 64;  // GGML_MAX_NAME including the NUL

uint64_t pad_to(uint64_t x, uint64_t align) { return (x + align - 1) / align * align; }

// Where the bytes go: a file or a memory buffer.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const void* p, size_t n) = 0;
  virtual void zeros(size_t n) = 0;
  virtual uint64_t offset() const = 0;

  template <typename T>
  void put(T v) {
    write(&v, sizeof(T));  // little-endian host
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    write(s.data(), s.size());
  }
};

class FileSink : public Sink {
 public:
  explicit FileSink(AtomicFile& f) : f_(f) {}
  void write(const void* p, size_t n) override { f_.write(p, n); }
  void zeros(size_t n) override { f_.write_zeros(n); }
  uint64_t offset() const override { return f_.offset(); }

 private:
  AtomicFile& f_;
};

class MemorySink : public Sink {
 public:
  void write(const void* p, size_t n) override {
    const auto* c = static_cast<const uint8_t*>(p);
    out.insert(out.end(), c, c + n);
  }
  void zeros(size_t n) override { out.resize(out.size() + n, 0); }
  uint64_t offset() const override { return out.size(); }
  std::vector<uint8_t> out;
};

void write_value(Sink& s, const GgufValue& v) {
  if (v.type() == GgufType::STRING) {
    s.put_string(v.as_str());
    return;
  }
  if (v.is_array()) {
    s.put<uint32_t>(static_cast<uint32_t>(v.elem_type()));
    s.put<uint64_t>(v.array_size());
    if (v.elem_type() == GgufType::STRING) {
      for (const std::string& e : v.as_str_array()) s.put_string(e);
    } else {
      const std::vector<uint8_t>& p = v.packed();
      s.write(p.data(), p.size());
    }
    return;
  }
  const uint64_t bits = v.raw_bits();  // scalars: exact little-endian bits
  s.write(&bits, gguf_scalar_size(v.type()));
}

uint32_t alignment_of(const std::vector<GgufKV>& kv) {
  for (const GgufKV& e : kv) {
    if (e.key != "general.alignment") continue;
    if (e.value.type() != GgufType::UINT32) {
      fail("GGUF writer: key 'general.alignment' has type ", e.value.type_string(), ", expected u32");
    }
    const uint32_t a = e.value.as_u32();
    if (a == 0 || (a & (a - 1)) != 0) fail("GGUF writer: key 'general.alignment' = ", a, " is not a power of two");
    return a;
  }
  return kDefaultAlignment;
}

// Tensor infos with offsets laid out for `align`.
std::vector<GgufTensorInfo> layout(const std::vector<GgufTensorInfo>& in, uint32_t align) {
  std::vector<GgufTensorInfo> out = in;
  uint64_t off = 0;
  for (GgufTensorInfo& t : out) {
    t.offset = off;
    off = pad_to(off + t.nbytes, align);
  }
  return out;
}

void write_all(Sink& s, const std::vector<GgufKV>& kv, const std::vector<GgufTensorInfo>& infos0,
               const GgufWriter::Producer& produce, Progress* progress) {
  const uint32_t align = alignment_of(kv);
  const std::vector<GgufTensorInfo> infos = layout(infos0, align);
  s.write("GGUF", 4);
  s.put<uint32_t>(3);
  s.put<uint64_t>(infos.size());
  s.put<uint64_t>(kv.size());
  for (const GgufKV& e : kv) {
    s.put_string(e.key);
    s.put<uint32_t>(static_cast<uint32_t>(e.value.type()));
    write_value(s, e.value);
  }
  for (const GgufTensorInfo& t : infos) {
    s.put_string(t.name);
    s.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) s.put<uint64_t>(static_cast<uint64_t>(d));
    s.put<uint32_t>(static_cast<uint32_t>(t.type));
    s.put<uint64_t>(t.offset);
  }
  s.zeros(pad_to(s.offset(), align) - s.offset());
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < infos.size(); ++i) {
    const GgufTensorInfo& t = infos[i];
    buf.clear();
    produce(i, t, buf);
    if (buf.size() != t.nbytes) {
      fail("GGUF writer: tensor '", t.name, "': producer gave ", buf.size(), " bytes, expected ", t.nbytes);
    }
    s.write(buf.data(), buf.size());
    s.zeros(pad_to(t.nbytes, align) - t.nbytes);
    if (progress != nullptr) progress->advance(t.nbytes, t.name);
  }
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue v) {
  if (key.empty()) fail("GGUF writer: empty metadata key");
  if (v.is_array() && v.elem_type() == GgufType::ARRAY) fail("GGUF writer: key '", key, "': nested arrays");
  for (GgufKV& e : kv_) {
    if (e.key == key) {
      e.value = std::move(v);
      return;
    }
  }
  kv_.push_back({key, std::move(v)});
}

void GgufWriter::set_last(const std::string& key, GgufValue v) {
  remove(key);
  set(key, std::move(v));
}

void GgufWriter::remove(std::string_view key) {
  std::erase_if(kv_, [&](const GgufKV& e) { return e.key == key; });
}

const GgufValue* GgufWriter::find(std::string_view key) const {
  for (const GgufKV& e : kv_) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne) {
  const std::string what = cat("GGUF writer: tensor '", name, "'");
  if (name.empty()) fail("GGUF writer: empty tensor name");
  if (name.size() >= kMaxTensorName) fail(what, ": name is ", name.size(), " bytes (limit ", kMaxTensorName - 1, ")");
  for (const GgufTensorInfo& t : tensors_) {
    if (t.name == name) fail(what, ": duplicate tensor name");
  }
  if (ne.empty() || ne.size() > 4) fail(what, ": ", ne.size(), " dimensions (need 1..4)");
  int64_t n = 1;
  for (int64_t d : ne) {
    if (d <= 0) fail(what, ": dimension ", d, " must be > 0");
    if (__builtin_mul_overflow(n, d, &n)) fail(what, ": element count overflows int64");
  }
  const GgmlTypeInfo& ti = ggml_type_info(type);
  if (ne[0] % ti.block_size != 0) {
    fail(what, ": ne[0] = ", ne[0], " is not a multiple of the ", ti.name, " block size ", ti.block_size);
  }
  GgufTensorInfo t;
  t.name = name;
  t.type = type;
  t.ne = std::move(ne);
  unsigned __int128 nbytes = static_cast<unsigned __int128>(n / ti.block_size) * ti.type_size;
  if (nbytes > std::numeric_limits<int64_t>::max()) fail(what, ": byte size overflows");
  t.nbytes = static_cast<uint64_t>(nbytes);
  const uint32_t align = find("general.alignment") != nullptr ? alignment_of(kv_) : kDefaultAlignment;
  t.offset = tensors_.empty() ? 0 : pad_to(tensors_.back().offset + tensors_.back().nbytes, align);
  tensors_.push_back(std::move(t));
}

void GgufWriter::write_file(const std::string& path, bool overwrite, const Producer& produce,
                            Progress* progress) const {
  alignment_of(kv_);  // fail before creating anything
  AtomicFile f(path, overwrite);
  FileSink s(f);
  try {
    write_all(s, kv_, tensors_, produce, progress);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  f.commit();
}

std::vector<uint8_t> GgufWriter::write_memory(const Producer& produce) const {
  MemorySink s;
  write_all(s, kv_, tensors_, produce, nullptr);
  return std::move(s.out);
}

}  // namespace smolvlm
