#include "support/testing.h"

#include "base/hex.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

extern char** environ;

namespace smolvlm::testing {
namespace fs = std::filesystem;

fs::path shared_dir() {
  if (const char* env = std::getenv("SMOLVLM_SHARED"); env && *env) return fs::path(env);
  return fs::path(SMOLVLM_SHARED_DIR);
}

fs::path shared_path(const std::string& rel) { return shared_dir() / rel; }

fs::path test_data(const std::string& rel) { return fs::path(SMOLVLM_TEST_DATA_DIR) / rel; }

int64_t Npy::size() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<float> Npy::f32() const {
  if (descr != "<f4") throw std::runtime_error("npy: expected <f4, got " + descr);
  std::vector<float> v(static_cast<size_t>(size()));
  std::memcpy(v.data(), data.data(), v.size() * 4);
  return v;
}

std::vector<int32_t> Npy::i32() const {
  if (descr != "<i4") throw std::runtime_error("npy: expected <i4, got " + descr);
  std::vector<int32_t> v(static_cast<size_t>(size()));
  std::memcpy(v.data(), data.data(), v.size() * 4);
  return v;
}

Npy load_npy(const fs::path& p) {
  const auto bytes = read_file(p);
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw std::runtime_error(p.string() + ": not a .npy file");
  const int major = bytes[6];
  size_t hlen, hoff;
  if (major == 1) {
    hlen = bytes[8] | (size_t(bytes[9]) << 8);
    hoff = 10;
  } else {
    hlen = bytes[8] | (size_t(bytes[9]) << 8) | (size_t(bytes[10]) << 16) | (size_t(bytes[11]) << 24);
    hoff = 12;
  }
  const std::string h(reinterpret_cast<const char*>(bytes.data() + hoff), hlen);
  Npy out;
  auto field = [&](const std::string& key) {
    const auto k = h.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error(p.string() + ": npy header lacks " + key);
    return h.substr(h.find(':', k) + 1);
  };
  {
    std::string d = field("descr");
    const auto a = d.find('\''), b = d.find('\'', a + 1);
    out.descr = d.substr(a + 1, b - a - 1);
  }
  if (field("fortran_order").find("True") < field("fortran_order").find(','))
    throw std::runtime_error(p.string() + ": fortran order not supported");
  {
    std::string s = field("shape");
    s = s.substr(s.find('(') + 1, s.find(')') - s.find('(') - 1);
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
      if (i >= s.size()) break;
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      out.shape.push_back(std::stoll(s.substr(i, j - i)));
      i = j;
    }
  }
  const size_t item = out.descr == "|u1" || out.descr == "|i1" ? 1 : out.descr.back() == '8' ? 8 : out.descr.back() == '2' ? 2 : 4;
  const size_t n = static_cast<size_t>(out.size()) * item;
  if (hoff + hlen + n > bytes.size()) throw std::runtime_error(p.string() + ": npy data truncated");
  out.data.assign(bytes.begin() + static_cast<long>(hoff + hlen), bytes.begin() + static_cast<long>(hoff + hlen + n));
  return out;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("smolvlm-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path repo_root() { return test_data("x").parent_path().parent_path().parent_path(); }

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, const void* data, size_t n) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::string sha256_hex(const void* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
  return hex_lower(md, len);
}

RunResult run_smolvlm(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);  // `run` reads a piped stdin
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  std::vector<std::string> all{SMOLVLM_BIN};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The CLI talks to a server at SMOLVLM_HOST / OLLAMA_HOST when one answers, and `run` may start
  // one: unless a test names a server, point at none and never start one, so that a server running
  // on this machine cannot change a test's result and no test leaves a daemon behind.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  if (std::getenv("SMOLVLM_HOST") == nullptr && std::getenv("OLLAMA_HOST") == nullptr)
    env_strings.emplace_back("SMOLVLM_HOST=127.0.0.1:1");
  if (std::getenv("SMOLVLM_NO_AUTOSTART") == nullptr) env_strings.emplace_back("SMOLVLM_NO_AUTOSTART=1");
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, SMOLVLM_BIN, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  RunResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace smolvlm::testing
