#include "apps/crowdiff/store_command.hpp"

#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "persistence/job_table.hpp"
#include "persistence/quarantine_table.hpp"
#include "persistence/store.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using crowdiff::app::command_line;

namespace {

// A store with two quarantined records: a job that did not decode (id 1) and a user (id 2).
struct quarantined_store {
  quarantined_store() {
    auto s = open();
    auto w = s->kv().begin_write();
    persistence::bad_record job{
        persistence::table::jobs, std::string(16, '\x01'), "\x01garbage", "corruption: x", {}};
    persistence::bad_record user{
        persistence::table::users, std::string("\0\0\0\0\0\0\0\x07", 8), "\x01?", "corruption: y", {}};
    BOOST_REQUIRE((*w)->put(job.source, job.key, job.bytes).is_ok());
    BOOST_REQUIRE((*w)->put(user.source, user.key, user.bytes).is_ok());
    auto ids = persistence::quarantine_table::move_aside(**w, {job, user}, 86'400'123);
    BOOST_REQUIRE(ids.has_value());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }

  std::unique_ptr<persistence::store> open() {
    auto s = persistence::store::open(persistence::store_options{
        dir.path(), true, 1 << 20, 16, persistence::commit_queue::mode::inline_commit});
    BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
    return std::move(*s);
  }

  // Runs `crowdiff store WORDS...` (with --all when asked) on this store.
  int run(std::vector<std::string> words, bool all = false) {
    command_line cli;
    cli.command = "store";
    cli.words = std::move(words);
    if (all)
      cli.flags["all"] = "";
    out.str("");
    err.str("");
    return app::run_store_command(cli, dir.path(), out, err);
  }

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);)
      result.push_back(line);
    return result;
  }

  crowdiff::testing::temp_dir dir;
  std::ostringstream out;
  std::ostringstream err;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_command_suite)

BOOST_AUTO_TEST_CASE(list_prints_one_line_per_record) {
  quarantined_store s;
  BOOST_TEST(s.run({"quarantine", "list"}) == 0);
  auto lines = s.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0] ==
             "1\tjobs\t01010101010101010101010101010101\t8\t1970-01-02T00:00:00.123Z\tcorruption: x");
  BOOST_TEST(lines[1] == "2\tusers\t0000000000000007\t2\t1970-01-02T00:00:00.123Z\tcorruption: y");
}

BOOST_AUTO_TEST_CASE(drop_removes_named_records_all_or_none_or_everything) {
  quarantined_store s;
  BOOST_TEST(s.run({"quarantine", "drop", "1", "99"}) == 1);
  BOOST_TEST(s.err.str().find("no quarantine entry 99") != std::string::npos);
  BOOST_TEST(s.run({"quarantine", "list"}) == 0);
  BOOST_TEST(s.lines().size() == 2u);  // nothing dropped

  BOOST_TEST(s.run({"quarantine", "drop", "1"}) == 0);
  BOOST_TEST(s.out.str() == "dropped 1 entry\n");
  BOOST_TEST(s.run({"quarantine", "list"}) == 0);
  BOOST_REQUIRE_EQUAL(s.lines().size(), 1u);
  BOOST_TEST(s.lines()[0].rfind("2\tusers", 0) == 0);

  BOOST_TEST(s.run({"quarantine", "drop"}, true) == 0);
  BOOST_TEST(s.out.str() == "dropped 1 entry\n");
  BOOST_TEST(s.run({"quarantine", "list"}) == 0);
  BOOST_TEST(s.out.str().empty());
}

BOOST_AUTO_TEST_CASE(a_store_in_use_is_refused_with_a_clear_error) {
  quarantined_store s;
  auto held = s.open();
  BOOST_TEST(s.run({"quarantine", "list"}) == 1);
  BOOST_TEST(s.err.str().find("is in use by process") != std::string::npos);
  BOOST_TEST(s.err.str().find("stop the core") != std::string::npos);
  BOOST_TEST(s.out.str().empty());
}

BOOST_AUTO_TEST_CASE(no_store_and_bad_usage_are_errors_that_create_nothing) {
  crowdiff::testing::temp_dir empty;
  command_line cli;
  cli.command = "store";
  cli.words = {"quarantine", "list"};
  std::ostringstream out, err;
  BOOST_TEST(app::run_store_command(cli, empty.path(), out, err) == 1);
  BOOST_TEST(err.str().find("no store in") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(empty.path() / "data.mdb"));

  quarantined_store s;
  BOOST_TEST(s.run({"quarantine"}) == 2);
  BOOST_TEST(s.run({"quarantine", "show"}) == 2);
  BOOST_TEST(s.run({"quarantine", "drop"}) == 2);             // neither keys nor --all
  BOOST_TEST(s.run({"quarantine", "drop", "1"}, true) == 2);  // both
  BOOST_TEST(s.run({"quarantine", "drop", "one"}) == 2);
  BOOST_TEST(s.run({"quarantine", "list", "1"}) == 2);
}

BOOST_AUTO_TEST_SUITE_END()
