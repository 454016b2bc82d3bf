// .npy (NEP 1): magic "\x93NUMPY", major/minor version, header length (u16 for 1.x, u32 for 2.x
// and 3.x), then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), }
// padded with spaces and a newline, then the raw data.
#include "cli/npy.h"

#include <cctype>
#include <cstring>
#include <limits>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file_util.h"

namespace smolvlm::cli {
namespace {

size_t element_size(const std::string& descr) {
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) return 0;
  const char kind = descr[1];
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') return 0;
  const std::string digits = descr.substr(2);
  if (digits != "1" && digits != "2" && digits != "4" && digits != "8") return 0;
  return static_cast<size_t>(std::stoi(digits));
}

// The text after `'key':` in the header dict (leading spaces skipped).
size_t value_at(const std::string& header, const std::string& key, const std::string& path) {
  const size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) fail(path, ": .npy header has no '", key, "' entry: ", header);
  size_t i = header.find(':', at);
  if (i == std::string::npos) fail(path, ": malformed .npy header: ", header);
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  return i;
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    fail(path, ": not a NumPy .npy file (offset 0: no \\x93NUMPY magic)");
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (size_t(static_cast<uint8_t>(bytes[9])) << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, ": offset 8: truncated .npy header length");
    for (int i = 0; i < 4; ++i) header_len |= size_t(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    header_at = 12;
  } else {
    fail(path, ": offset 6: unsupported .npy format version ", major);
  }
  if (header_len > bytes.size() - header_at)
    fail(path, ": offset ", header_at, ": .npy header of ", header_len, " bytes runs past the end of the file");
  const std::string header = bytes.substr(header_at, header_len);

  NpyArray a;
  size_t i = value_at(header, "descr", path);
  if (i >= header.size() || header[i] != '\'') fail(path, ": malformed 'descr' in .npy header: ", header);
  const size_t end = header.find('\'', i + 1);
  if (end == std::string::npos) fail(path, ": malformed 'descr' in .npy header: ", header);
  a.descr = header.substr(i + 1, end - i - 1);
  const size_t elt = element_size(a.descr);
  if (elt == 0) fail(path, ": .npy dtype '", a.descr, "' is not supported (a plain little-endian number type)");
  if (elt > 1 && a.descr[0] == '|') fail(path, ": .npy dtype '", a.descr, "' has no byte order");

  i = value_at(header, "fortran_order", path);
  if (header.compare(i, 5, "False") != 0) fail(path, ": .npy array is in Fortran order; C order is required");

  i = value_at(header, "shape", path);
  if (i >= header.size() || header[i] != '(') fail(path, ": malformed 'shape' in .npy header: ", header);
  const size_t close = header.find(')', i);
  if (close == std::string::npos) fail(path, ": malformed 'shape' in .npy header: ", header);
  for (size_t j = i + 1; j < close;) {
    if (std::isdigit(static_cast<unsigned char>(header[j]))) {
      int64_t d = 0;
      while (j < close && std::isdigit(static_cast<unsigned char>(header[j]))) {
        if (d > std::numeric_limits<int64_t>::max() / 16) fail(path, ": .npy shape dimension too large: ", header);
        d = d * 10 + (header[j++] - '0');
      }
      a.shape.push_back(d);
    } else if (header[j] == ',' || header[j] == ' ') {
      ++j;
    } else {
      fail(path, ": malformed 'shape' in .npy header: ", header);
    }
  }
  size_t count = 1;
  for (int64_t d : a.shape) {
    if (d != 0 && count > std::numeric_limits<size_t>::max() / elt / static_cast<size_t>(d))
      fail(path, ": .npy shape is too large: ", header);
    count *= static_cast<size_t>(d);
  }
  const size_t data_at = header_at + header_len, want = count * elt;
  if (bytes.size() - data_at != want)
    fail(path, ": offset ", data_at, ": .npy data has ", bytes.size() - data_at, " bytes, the header (", a.descr,
         ", shape ", header.substr(i, close - i + 1), ") needs ", want);
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_at), bytes.end());
  return a;
}

std::vector<float> npy_floats(const NpyArray& a, const std::string& path) {
  std::vector<float> out(static_cast<size_t>(a.size()));
  if (a.descr == "<f4") {
    std::memcpy(out.data(), a.data.data(), out.size() * sizeof(float));
  } else if (a.descr == "<f8") {
    for (size_t i = 0; i < out.size(); ++i) {
      double d;
      std::memcpy(&d, a.data.data() + i * 8, 8);
      out[i] = static_cast<float>(d);
    }
  } else {
    fail(path, ": .npy dtype is '", a.descr, "', expected float32 ('<f4')");
  }
  return out;
}

void write_npy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
               const void* data, size_t bytes) {
  std::string dims;  // "a, b" or "a," (a one-element tuple)
  size_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += cat(i ? ", " : "", shape[i]);
    count *= static_cast<size_t>(shape[i]);
  }
  if (shape.size() == 1) dims += ",";
  if (element_size(descr) == 0 || count * element_size(descr) != bytes)
    fail("write_npy: ", bytes, " bytes do not match dtype ", descr, " and ", shape.size(), "-d shape");
  std::string header = cat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", dims, "), }");
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const auto len = static_cast<uint16_t>(header.size());
  AtomicFile f(path, /*overwrite=*/true);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint8_t len_le[2] = {static_cast<uint8_t>(len & 0xff), static_cast<uint8_t>(len >> 8)};
  f.write(len_le, 2);
  f.write(header.data(), header.size());
  f.write(data, bytes);
  f.commit();
}

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& data) {
  write_npy(path, "<f4", shape, data.data(), data.size() * sizeof(float));
}

}  // namespace smolvlm::cli
