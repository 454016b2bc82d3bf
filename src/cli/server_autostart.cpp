#include "cli/server_autostart.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/error.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace fs = std::filesystem;

std::optional<ServerClient> running_server() {
  ServerClient client;
  if (client.reachable()) return client;
  // an address the user set that does not answer: say so before working on the local store
  for (const char* var : {"SMOLVLM_HOST", "OLLAMA_HOST"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') continue;
    std::fprintf(stderr, "smolvlm: no server answers at %s (%s); using the store in this process (%s)\n",
                 client.url().c_str(), var, ModelStore::default_root().c_str());
    break;
  }
  return std::nullopt;
}

bool autostart_disabled() {
  const char* v = std::getenv("SMOLVLM_NO_AUTOSTART");
  if (v == nullptr) return false;
  const std::string s = v;
  return !(s.empty() || s == "0" || s == "false" || s == "FALSE" || s == "False");
}

std::string server_log_path() {
  const fs::path root = fs::absolute(ModelStore::default_root()).lexically_normal();
  fs::path base = root.has_filename() ? root.parent_path() : root.parent_path().parent_path();
  return (base / "logs" / "server.log").string();
}

namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Creates the missing folders of `dir`, each 0700 (a server log may show prompts).
void make_private_dirs(const fs::path& dir) {
  if (dir.empty() || fs::exists(dir)) return;
  make_private_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create ", dir.string(), ": ", std::strerror(errno));
}

void note(const std::string& s) { std::fprintf(stderr, "smolvlm: %s\n", s.c_str()); }

}  // namespace

bool start_background_server(const ServerClient& client, int wait_ms) {
  if (autostart_disabled()) return false;
  if (client.scheme() != "http" || !is_loopback(client.host())) {
    note(cat("no server answers at ", client.url(), " (not this machine: not starting one); running in this process"));
    return false;
  }
  // Everything the child needs is prepared before fork().
  const std::string log = server_log_path();
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    note("cannot find this program to start a server; running in this process");
    return false;
  }
  exe[n] = '\0';
  const std::string host = client.host().find(':') != std::string::npos ? cat("[", client.host(), "]") : client.host();
  const std::string address = cat(host == "localhost" ? "127.0.0.1" : host, ":", client.port());
  int log_fd = -1, null_fd = -1;
  try {
    make_private_dirs(fs::path(log).parent_path());
  } catch (const Error& e) {
    note(cat(e.what(), "; running in this process"));
    return false;
  }
  log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    note(cat("cannot open ", log, " for a server's output; running in this process"));
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return false;
  }
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string arg_host = address;
  std::vector<char*> argv = {exe, const_cast<char*>("serve"), const_cast<char*>("--host"), arg_host.data(), nullptr};
  std::fflush(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {  // the server: its own session (no terminal signals), default signal mask
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (::close_range(3, ~0U, 0) != 0)  // nothing else of ours (a caller's pipe) stays open in the daemon
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    char line[256];
    const int len = std::snprintf(line, sizeof line, "%s smolvlm: server started in the background by the CLI: pid %d, %s\n",
                                  stamp, static_cast<int>(::getpid()), address.c_str());
    if (len > 0) (void)!::write(STDOUT_FILENO, line, static_cast<size_t>(len));
    ::execv(exe, argv.data());
    (void)!::write(STDERR_FILENO, "smolvlm: cannot exec the server\n", 32);
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) {
    note("cannot start a server (fork failed); running in this process");
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    // Reachable first: when another CLI started a server at the same moment, ours exits (the port
    // is taken) and theirs answers.
    if (client.reachable(250)) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return true;  // theirs
      note(cat("started a server in the background at ", client.url(), " (pid ", pid, ", log ", log, ")"));
      return true;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      note(cat("a background server could not start (see ", log, "); running in this process"));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid, SIGTERM);
  note(cat("a background server did not answer within ", wait_ms / 1000, " s (see ", log,
           "); running in this process"));
  return false;
}

}  // namespace smolvlm::cli
