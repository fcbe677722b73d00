#include "persistence/lmdb_store.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

BOOST_AUTO_TEST_SUITE(lmdb_store_suite)

BOOST_AUTO_TEST_CASE(missing_directory_is_a_clear_error) {
  crowdiff::testing::temp_dir dir;
  auto kv = open_lmdb_store({dir.path() / "nope", false, 1 << 20});
  BOOST_REQUIRE(!kv.has_value());
  BOOST_TEST(kv.error().code() == errc::not_found);
  BOOST_TEST(kv.error().message().find("does not exist") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(creates_directory_when_asked) {
  crowdiff::testing::temp_dir dir;
  auto kv = open_lmdb_store({dir.path() / "fresh", true, 1 << 20});
  BOOST_TEST(kv.has_value());
}

BOOST_AUTO_TEST_CASE(the_store_is_readable_by_its_owner_only) {
  namespace fs = std::filesystem;
  crowdiff::testing::temp_dir dir;
  auto where = dir.path() / "private";
  {
    auto kv = open_lmdb_store({where, true, 1 << 20});
    BOOST_REQUIRE(kv.has_value());
  }
  auto private_to_owner = [](const fs::path& p) {
    return (fs::status(p).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none;
  };
  BOOST_TEST(private_to_owner(where));
  BOOST_TEST(private_to_owner(where / "data.mdb"));
  BOOST_TEST(private_to_owner(where / "lock.mdb"));
  // A store made world-readable (as older versions did) is tightened when it is opened.
  fs::permissions(where / "data.mdb", fs::perms::others_read | fs::perms::group_read, fs::perm_options::add);
  {
    auto kv = open_lmdb_store({where, false, 1 << 20});
    BOOST_REQUIRE(kv.has_value());
  }
  BOOST_TEST(private_to_owner(where / "data.mdb"));
}

BOOST_AUTO_TEST_CASE(a_file_is_not_a_store_directory) {
  crowdiff::testing::temp_dir dir;
  std::ofstream(dir.path() / "file") << "x";
  auto kv = open_lmdb_store({dir.path() / "file", true, 1 << 20});
  BOOST_REQUIRE(!kv.has_value());
  BOOST_TEST(kv.error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_second_opener_is_refused_while_the_first_holds_it) {
  crowdiff::testing::temp_dir dir;
  auto first = open_lmdb_store({dir.path(), false, 1 << 20});
  BOOST_REQUIRE(first.has_value());
  auto second = open_lmdb_store({dir.path(), false, 1 << 20});
  BOOST_REQUIRE(!second.has_value());
  BOOST_TEST(second.error().code() == errc::store_locked);
  BOOST_TEST(second.error().message().find("in use by process") != std::string::npos);
  first = status{errc::cancelled, "closed"};
  auto third = open_lmdb_store({dir.path(), false, 1 << 20});
  BOOST_TEST(third.has_value());
}

BOOST_AUTO_TEST_CASE(garbage_data_file_is_reported_as_corrupt) {
  crowdiff::testing::temp_dir dir;
  {
    std::ofstream out(dir.path() / "data.mdb", std::ios::binary);
    for (int i = 0; i < 4096 * 4; ++i)
      out.put(static_cast<char>(i * 7 + 3));
  }
  auto kv = open_lmdb_store({dir.path(), false, 1 << 20});
  BOOST_REQUIRE(!kv.has_value());
  BOOST_TEST(kv.error().code() == errc::corruption);
  BOOST_TEST(kv.error().message().find("damaged") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(data_survives_reopening) {
  crowdiff::testing::temp_dir dir;
  {
    auto kv = open_lmdb_store({dir.path(), false, 1 << 20});
    auto w = (*kv)->begin_write();
    BOOST_TEST((*w)->put(table::jobs, "k", "v").is_ok());
    BOOST_TEST((*w)->commit().is_ok());
  }
  auto kv = open_lmdb_store({dir.path(), false, 1 << 20});
  auto r = (*kv)->begin_read();
  auto v = (*r)->get(table::jobs, "k");
  BOOST_REQUIRE(v.has_value() && v->has_value());
  BOOST_TEST(**v == "v");
}

BOOST_AUTO_TEST_CASE(full_map_is_reported_then_grows) {
  crowdiff::testing::temp_dir dir;
  auto kv = open_lmdb_store({dir.path(), false, 256 << 10});
  BOOST_REQUIRE(kv.has_value());
  std::string big(64 << 10, 'x');
  bool saw_full = false;
  for (int round = 0; round < 8 && !saw_full; ++round) {
    auto w = (*kv)->begin_write();
    for (int i = 0; i < 8; ++i) {
      auto s = (*w)->put(table::results, std::to_string(round * 8 + i), big);
      if (!s) {
        BOOST_TEST(s.code() == errc::resource_exhausted);
        BOOST_TEST((*w)->map_full());
        saw_full = true;
        break;
      }
    }
    if (saw_full)
      (*w)->abort();
    else
      BOOST_TEST((*w)->commit().is_ok());
  }
  BOOST_REQUIRE(saw_full);
  for (int i = 0; i < 4; ++i)
    BOOST_TEST((*kv)->grow().is_ok());
  auto w = (*kv)->begin_write();
  for (int i = 0; i < 16; ++i)
    BOOST_TEST((*w)->put(table::results, "after" + std::to_string(i), big).is_ok());
  BOOST_TEST((*w)->commit().is_ok());
}

BOOST_AUTO_TEST_SUITE_END()
