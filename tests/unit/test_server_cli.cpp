// `smolvlm serve` as a process: it prints its listen address, answers on the port SMOLVLM_HOST
// names (over OLLAMA_HOST), and exits 0 on Ctrl-C (SIGINT).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/testing.h"

extern char** environ;

namespace smolvlm {
namespace {

int free_port() {
  httplib::Server s;
  const int p = s.bind_to_any_port("127.0.0.1");
  return p;  // released when `s` goes away
}

TEST(ServeCommand, ListensAndStopsOnSigint) {
  testing::TempDir dir;
  const int port = free_port();
  ASSERT_GT(port, 0);
  const std::string out = (dir / "out.txt").string();
  std::vector<std::string> env_strings = {"OLLAMA_MODELS=" + dir.path().string(),
                                          "OLLAMA_HOST=127.0.0.1:1",  // SMOLVLM_HOST wins
                                          "SMOLVLM_HOST=127.0.0.1:" + std::to_string(port)};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    if (v.rfind("OLLAMA_", 0) != 0 && v.rfind("SMOLVLM_HOST", 0) != 0) env_strings.push_back(v);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string bin = SMOLVLM_BIN, serve = "serve";
  char* argv[] = {bin.data(), serve.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, SMOLVLM_BIN, &fa, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);

  struct Reaper {  // never leaves the server behind, whatever fails below
    pid_t pid;
    bool reaped = false;
    ~Reaper() {
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  httplib::Client c("127.0.0.1", port);
  bool up = false;
  for (int i = 0; i < 800 && !up; ++i) {  // up to 20 s on a busy machine
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    auto r = c.Get("/api/version");
    up = r && r->status == 200;
  }
  EXPECT_TRUE(up);
  c.stop();

  kill(pid, SIGINT);
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 1200 && !exited; ++i) {  // up to 30 s (idle keep-alive connections wind down)
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  reaper.reaped = exited;
  EXPECT_TRUE(exited);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("listening on 127.0.0.1:" + std::to_string(port)), std::string::npos) << ss.str();
}

}  // namespace
}  // namespace smolvlm
