#include "server/client_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>

namespace smolvlm::server {
namespace {

// Address and port of a socket address ("" for other families).
std::pair<std::string, int> endpoint(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
    return {buf, ntohs(in.sin_port)};
  }
  if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
    return {buf, ntohs(in6.sin6_port)};
  }
  return {"", -1};
}

// Peer closed (end of file) or reset; pending bytes (a pipelined request) or nothing yet: there.
bool peer_gone(int fd) {
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace

int find_connection_socket(const std::string& remote_addr, int remote_port, int local_port) {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int found = -1;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == ::dirfd(d)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t ln = sizeof local, pn = sizeof peer;
    if (::getsockname(int(fd), reinterpret_cast<sockaddr*>(&local), &ln) != 0) continue;  // not a socket
    if (endpoint(local).second != local_port) continue;
    if (::getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &pn) != 0) continue;  // the listener
    const auto [addr, port] = endpoint(peer);
    // IPv4 clients of a dual-stack listener show as ::ffff:a.b.c.d.
    if (port == remote_port && (addr == remote_addr || addr == "::ffff:" + remote_addr)) {
      found = int(fd);
      break;
    }
  }
  ::closedir(d);
  return found;
}

ClientWatch::ClientWatch(const httplib::Request& req)
    : fd_(find_connection_socket(req.remote_addr, req.remote_port, req.local_port)) {
  if (fd_ < 0) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (peer_gone(fd_)) {
        gone_.store(true);
        return;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  });
}

void ClientWatch::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ClientWatch::~ClientWatch() { stop(); }

WholeReply generate_whole(ModelManager::Lease& lease, const Prompt& prompt, const GenerateOptions& options,
                          const httplib::Request& req) {
  WholeReply out;
  ClientWatch client(req);  // nothing is written before the end: watch the connection instead
  out.result = run_generation(lease, prompt, options, [&](std::string_view piece) {
    out.text += piece;
    return true;
  }, client.gone());
  return out;
}

}  // namespace smolvlm::server
