// Durability before acknowledgement, tested for real: a child process writes jobs through the group-commit
// queue and reports each acknowledged one on a pipe; the parent kills it with SIGKILL mid-stream, reopens
// the store and checks that every acknowledged job is there, whole.
#include <cstdio>
#include <set>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "persistence/job_table.hpp"
#include "persistence/store.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

[[noreturn]] void child_main(const std::filesystem::path& dir, int ack_fd) {
  auto s = store::open(store_options{dir, false, 1 << 20, 256, commit_queue::mode::threaded});
  if (!s)
    _exit(3);
  for (uint64_t seq = 1;; ++seq) {
    v1::JobRecord job;
    auto id = uuid::random();
    job.set_id(id.to_bytes());
    job.set_sequence(seq);
    job.set_state(v1::QUEUED);
    job.mutable_request()->set_prompt(std::string(200, 'p'));
    (*s)->write([job](write_txn& t) { return job_table::put(t, job); },
                [ack_fd, id](const status& st) {
                  if (!st)
                    return;
                  auto bytes = id.to_bytes();
                  if (write(ack_fd, bytes.data(), bytes.size()) != 16)
                    _exit(4);
                });
    if (seq % 64 == 0)
      usleep(200);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash_suite)

BOOST_AUTO_TEST_CASE(acknowledged_jobs_survive_kill_9) {
  crowdiff::testing::temp_dir dir;
  { BOOST_REQUIRE(store::open(store_options{dir.path(), false}).has_value()); }
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child_main(dir.path(), fds[1]);
    }
    close(fds[1]);
    std::set<std::string> acked;
    char buf[16];
    size_t want = 300 + static_cast<size_t>(round) * 250;
    while (acked.size() < want) {
      size_t got = 0;
      while (got < 16) {
        ssize_t n = read(fds[0], buf + got, 16 - got);
        BOOST_REQUIRE(n > 0);
        got += static_cast<size_t>(n);
      }
      acked.emplace(buf, 16);
    }
    kill(pid, SIGKILL);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    // Acknowledgements already in the pipe when the child died count too.
    ssize_t n;
    std::string rest;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
      rest.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    for (size_t i = 0; i + 16 <= rest.size(); i += 16)
      acked.insert(rest.substr(i, 16));

    auto s = store::open(store_options{dir.path(), false});
    BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
    auto r = (*s)->read();
    size_t missing = 0;
    for (const auto& id : acked) {
      auto job = job_table::get(**r, *uuid::from_bytes(id));
      BOOST_REQUIRE(job.has_value());
      if (!job->has_value() || (*job)->request().prompt().size() != 200)
        ++missing;
    }
    BOOST_TEST(missing == 0u);
    // The index and the table agree: no half-written job shows.
    size_t indexed = 0;
    BOOST_TEST(job_table::scan_state(**r, v1::QUEUED, [&](v1::JobRecord&) {
                 ++indexed;
                 return true;
               }).is_ok());
    BOOST_TEST(indexed >= acked.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()
