#pragma once

// Processes on loopback for the cluster tests: a core (the real `crowdiff core`), fake worker nodes, and the
// C++ client in the test process itself.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include "crowdiff/client.hpp"
#include "temp_dir.hpp"

namespace crowdiff::testing {

/// A child process; SIGKILLed (if still running) when destroyed.
class child_process {
 public:
  child_process(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~child_process() { kill_hard(); }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void kill_hard() { signal_and_reap(SIGKILL); }
  void stop() { signal_and_reap(SIGTERM); }
  pid_t pid() const { return pid_; }

 private:
  void signal_and_reap(int sig) {
    if (pid_ <= 0)
      return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
};

/// A port nothing listens on right now.
/// A process's resident memory in MiB (VmRSS); 0 when it cannot be read.
inline double resident_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

inline uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class cluster {
 public:
  cluster() : port_(free_port()), http_port_(free_port()) {}
  /// A failed test shows the processes' logs (they go with the temporary directory).
  ~cluster() {
    namespace ut = boost::unit_test;
    // The processes end first, so their logs are complete.
    workers_.clear();
    core_.reset();
    try {
      if (!ut::results_collector.results(ut::framework::current_test_case().p_id).passed())
        std::fprintf(stderr, "%s\n", logs().c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "(the logs could not be read: %s)\n", e.what());
    }
  }

  const std::filesystem::path& dir() const { return dir_.path(); }
  uint16_t port() const { return port_; }
  uint16_t http_port() const { return http_port_; }
  std::string core_address() const { return "127.0.0.1:" + std::to_string(port_); }

  void start_core(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {CROWDIFF_BIN,  "core",
                                     "--store",     (dir() / "var").string(),
                                     "--port",      std::to_string(port_),
                                     "--http-port", std::to_string(http_port_),
                                     "--log-level", "warning"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    core_ = std::make_unique<child_process>(argv, (dir() / "core.log").string());
  }
  void kill_core() { core_.reset(); }
  pid_t core_pid() const { return core_ ? core_->pid() : -1; }

  /// The admin key the core wrote on its first start (waits for the file).
  std::string admin_key() {
    auto path = dir() / "var" / "admin.key";
    std::string key;
    for (int i = 0; i < 4000 && key.empty(); ++i) {
      std::ifstream in(path);
      in >> key;
      if (key.empty())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    BOOST_REQUIRE_MESSAGE(!key.empty(), "the core wrote no admin key in 20 s:\n" + logs());
    return key;
  }

  std::unique_ptr<client> connect(const std::string& key,
                                  std::chrono::milliseconds reconnect_for = std::chrono::seconds(20)) {
    client_options o;
    o.port = port_;
    o.api_key = key;
    o.reconnect_for = reconnect_for;
    o.request_timeout = std::chrono::seconds(3);
    if (!ca_file.empty()) {
      o.tls = true;
      o.ca_file = ca_file;
      o.certificate = client_cert;
      o.key = client_key;
    }
    auto c = client::connect(o);
    BOOST_REQUIRE_MESSAGE(c.has_value(), "connect: " + c.to_status().to_string());
    return std::move(*c);
  }

  /// Starts a fake worker node process; returns its index.
  size_t start_worker(const std::string& name, const std::string& key, long step_us = 0,
                      const std::string& model = "stable_diffusion") {
    std::vector<std::string> argv{
        FAKE_WORKER_BIN, "--core",    core_address(),         "--key", key, "--name", name, "--model",
        model,           "--step-us", std::to_string(step_us)};
    if (!ca_file.empty()) {
      for (const auto& a : {std::string("--ca-file"), ca_file, std::string("--cert"), client_cert,
                            std::string("--cert-key"), client_key})
        argv.push_back(a);
    }
    workers_.push_back(std::make_unique<child_process>(argv, (dir() / ("worker-" + name + ".log")).string()));
    return workers_.size() - 1;
  }
  void kill_worker(size_t index) { workers_.at(index)->kill_hard(); }

  /// Waits (bounded) until the core lists `count` workers.
  bool wait_for_workers(client& c, size_t count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto ws = c.workers();
      if (ws && ws->size() >= count)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  /// Makes a CA and two certificates it signs, one for the core and one shared by the clients and workers
  /// started afterwards (which then connect with TLS). Returns {core certificate, core key}.
  std::pair<std::string, std::string> make_certificates() {
    auto d = dir().string();
    std::string script =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=test-ca"
        " && openssl req -newkey rsa:2048 -nodes -keyout core.key -out core.csr -subj /CN=localhost"
        // The core's certificate names it as the tunnel dials it (a public-TLS core's peers check the name).
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > core.ext"
        " && openssl x509 -req -in core.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out core.pem -days 1"
        " -extfile core.ext"
        " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days "
        "1";
    BOOST_REQUIRE_MESSAGE(std::system((script + " >/dev/null 2>&1").c_str()) == 0,
                          "openssl could not make certificates");
    ca_file = d + "/ca.pem";
    client_cert = d + "/client.pem";
    client_key = d + "/client.key";
    return {d + "/core.pem", d + "/core.key"};
  }

  std::string client_cert;
  std::string client_key;
  std::string ca_file;

  std::string logs() const {
    std::string out;
    for (const auto& entry : std::filesystem::directory_iterator(dir())) {
      if (entry.path().extension() != ".log")
        continue;
      std::ifstream in(entry.path());
      std::stringstream buf;
      buf << in.rdbuf();
      std::string text = buf.str();
      out += "== " + entry.path().filename().string() + "\n" +
             text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
    }
    return out;
  }

 private:
  temp_dir dir_;
  uint16_t port_;
  uint16_t http_port_;
  std::unique_ptr<child_process> core_;
  std::vector<std::unique_ptr<child_process>> workers_;
};

}  // namespace crowdiff::testing
