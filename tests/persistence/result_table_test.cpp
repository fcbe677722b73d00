#include "persistence/result_table.hpp"

#include <boost/test/unit_test.hpp>

#include "persistence/memory_store.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

BOOST_AUTO_TEST_SUITE(result_table_suite)

BOOST_AUTO_TEST_CASE(stores_results_and_drops_expired_ones) {
  auto kv = make_memory_store();
  auto job = uuid::random();
  {
    auto w = kv->begin_write();
    for (uint32_t i = 0; i < 3; ++i) {
      v1::GenerationResult r;
      r.set_job_id(job.to_bytes());
      r.set_image_index(i);
      r.set_image(std::string(100, static_cast<char>('a' + i)));
      r.set_expires_ms(1000 * (i + 1));
      BOOST_TEST(result_table::put(**w, r).is_ok());
    }
    BOOST_TEST((*w)->commit().is_ok());
  }
  {
    auto w = kv->begin_write();
    auto n = result_table::erase_expired(**w, 2000, 100);
    BOOST_REQUIRE(n.has_value());
    BOOST_TEST(*n == 2u);
    BOOST_TEST((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  BOOST_TEST(!result_table::get(**r, job, 0)->has_value());
  BOOST_TEST(!result_table::get(**r, job, 1)->has_value());
  auto kept = result_table::get(**r, job, 2);
  BOOST_REQUIRE(kept->has_value());
  BOOST_TEST((*kept)->image() == std::string(100, 'c'));
}

BOOST_AUTO_TEST_CASE(rewriting_moves_the_expiry) {
  auto kv = make_memory_store();
  auto job = uuid::random();
  auto w = kv->begin_write();
  v1::GenerationResult r;
  r.set_job_id(job.to_bytes());
  r.set_expires_ms(10);
  BOOST_TEST(result_table::put(**w, r).is_ok());
  r.set_expires_ms(5000);
  BOOST_TEST(result_table::put(**w, r).is_ok());
  auto n = result_table::erase_expired(**w, 100, 10);
  BOOST_TEST(*n == 0u);
  BOOST_TEST(result_table::get(**w, job, 0)->has_value());
  BOOST_TEST(result_table::erase(**w, job, 0).is_ok());
  BOOST_TEST(!result_table::get(**w, job, 0)->has_value());
}

BOOST_AUTO_TEST_SUITE_END()
