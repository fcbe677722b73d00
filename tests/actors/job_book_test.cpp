// The Broker's functional core on its own: the job book's effects and the record transitions.

#include "actors/broker/job_book.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/broker/job_transitions.hpp"

namespace crowdiff {
namespace {

v1::JobRecord queued_job(uint64_t owner, uint32_t images, int64_t price_mk = 1'000) {
  v1::JobRequest request;
  request.set_prompt("a lighthouse");
  request.set_steps(10);
  request.set_width(64);
  request.set_height(64);
  request.set_n(images);
  request.set_seed(100);
  v1::KudosQuote quote;
  quote.set_price_per_image_mk(price_mk);
  quote.set_total_mk(price_mk * images);
  broker::acceptance a;
  a.id = uuid::random();
  a.owner = owner;
  a.sequence = 1;
  a.now_ms = 1'000;
  a.default_expiry_s = 60;
  return broker::accepted_record(request, quote, a);
}

uuid id_of(const v1::JobRecord& r) {
  return *uuid::from_bytes(r.id());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(job_book_suite)

BOOST_AUTO_TEST_CASE(an_accepted_record_has_a_slot_per_image_with_spaced_seeds_and_an_expiry) {
  auto r = queued_job(7, 3);
  BOOST_TEST(r.state() == v1::QUEUED);
  BOOST_REQUIRE(r.images_size() == 3);
  BOOST_TEST(r.images(2).seed() == 102u);
  BOOST_TEST(r.expires_ms() == 61'000);
  BOOST_TEST(r.request().sampler() != v1::SAMPLER_UNSPECIFIED);
  v1::JobRequest keyed;
  keyed.set_n(1);
  keyed.set_idempotency_key("mine");
  broker::acceptance stranger;
  stranger.anonymous = true;
  stranger.random_seed = 42;
  auto anon = broker::accepted_record(keyed, {}, stranger);
  BOOST_TEST(anon.request().idempotency_key().empty());
  BOOST_TEST(anon.request().seed() == 42u);
}

BOOST_AUTO_TEST_CASE(only_watched_jobs_produce_notices_and_the_first_start_is_a_state_change) {
  broker::job_book book;
  auto r = queued_job(7, 2);
  auto id = id_of(r);
  book.add(r);
  auto quiet = book.start(id, 0, 11, "w");
  BOOST_TEST(quiet.notices.empty());
  BOOST_REQUIRE(quiet.changed.has_value());
  BOOST_TEST(quiet.changed->from == v1::QUEUED);
  BOOST_TEST(quiet.changed->to == v1::RUNNING);
  BOOST_REQUIRE(book.watch(id).has_value());
  auto second = book.start(id, 1, 12, "v");
  BOOST_TEST(!second.changed.has_value());  // already running
  BOOST_REQUIRE(second.notices.size() == 1u);
  BOOST_TEST(second.notices[0].event.kind() == v1::JobEvent::PROGRESS);
  BOOST_TEST(second.notices[0].event.status().images_running() == 2u);
  auto stale = book.start(id, 5, 12, "v");  // no such image
  BOOST_TEST((stale.notices.empty() && !stale.changed));
  BOOST_TEST(!book.watch(uuid::random()).has_value());
}

BOOST_AUTO_TEST_CASE(a_committed_delivery_notifies_with_the_image_and_the_last_one_ends_the_job) {
  broker::job_book book;
  auto r = queued_job(7, 2);
  auto id = id_of(r);
  book.add(r);
  book.watch(id);
  BOOST_TEST(book.load_of(7).images == 2u);
  BOOST_TEST(book.load_of(7).reserved_mk == 2'000);
  for (uint32_t i = 0; i < 2; ++i) {
    BOOST_REQUIRE(book.close_image(id, i));
    auto record = book.find(id)->record;
    BOOST_REQUIRE(broker::check_open(record, i));
    broker::record_delivery(record, i, 11, persistence::settlement{1'000, 0, 900, false}, 2'000 + i);
    auto fx = book.adopt(id, record, i);
    BOOST_REQUIRE(!fx.notices.empty());
    BOOST_TEST(fx.notices[0].event.kind() == v1::JobEvent::IMAGE);
    BOOST_TEST(fx.notices[0].with_image);
    BOOST_TEST(fx.ended == (i == 1));
    if (i == 0) {  // the load follows the committed record: one image still reserved, both counted
      BOOST_TEST(book.load_of(7).reserved_mk == 1'000);
      BOOST_TEST(book.load_of(7).images == 2u);
      BOOST_TEST(book.load_of(7).jobs == 1u);
    }
  }
  BOOST_TEST(book.find(id) == nullptr);
  BOOST_TEST(book.load_of(7).images == 0u);
  BOOST_TEST(!book.close_image(id, 0));  // a late result for an ended job changes nothing
}

BOOST_AUTO_TEST_CASE(transitions_refuse_what_the_stored_record_no_longer_allows) {
  auto r = queued_job(7, 2);
  BOOST_TEST((broker::check_open(r, 2).code() == errc::invalid_argument));
  BOOST_REQUIRE(broker::record_failure(r, 0, errc::internal, "boom", 5));
  BOOST_TEST((broker::record_failure(r, 0, errc::internal, "again", 6).code() == errc::already_exists));
  BOOST_TEST(r.state() == v1::QUEUED);  // image 1 has no outcome yet
  BOOST_REQUIRE(broker::cancel(r, 7));
  BOOST_TEST(r.state() == v1::CANCELLED);
  BOOST_TEST(r.images(1).state() == v1::IMAGE_CANCELLED);
  BOOST_TEST(r.images(0).state() == v1::IMAGE_FAILED);
  BOOST_TEST((broker::check_open(r, 1).code() == errc::failed_precondition));
  BOOST_REQUIRE(broker::cancel(r, 8));  // cancelling an ended job changes nothing
  BOOST_TEST(r.finished_ms() == 7);
  auto failing = queued_job(7, 1);
  BOOST_REQUIRE(broker::record_failure(failing, 0, errc::unavailable, "no worker", 9));
  BOOST_TEST(failing.state() == v1::FAILED);
  BOOST_TEST(failing.failure_reason() == "no worker");
}

BOOST_AUTO_TEST_CASE(a_restored_job_counts_as_started_once_an_image_has_an_outcome) {
  broker::job_book book;
  auto fresh = queued_job(7, 2);
  auto half = queued_job(8, 2);
  BOOST_REQUIRE(broker::record_failure(half, 0, errc::internal, "x", 3));
  book.restore(id_of(fresh), fresh);
  book.restore(id_of(half), half);
  BOOST_TEST(broker::logical_state(*book.find(id_of(fresh))) == v1::QUEUED);
  BOOST_TEST(broker::logical_state(*book.find(id_of(half))) == v1::RUNNING);
  BOOST_TEST(book.size() == 2u);
  BOOST_TEST(book.remove(id_of(fresh)));
  BOOST_TEST(!book.remove(id_of(fresh)));
  BOOST_TEST(book.load_of(7).jobs == 0u);
  BOOST_TEST(book.load_of(8).jobs == 1u);
}

BOOST_AUTO_TEST_CASE(a_requeued_image_counts_as_restarted) {
  broker::job_book book;
  auto r = queued_job(7, 1);
  auto id = id_of(r);
  book.add(r);
  book.start(id, 0, 11, "w");
  book.requeue(id, 0);
  auto s = book.status(*book.find(id), nullptr);
  BOOST_TEST(s.images_restarted() == 1u);
  BOOST_TEST(s.images_running() == 0u);
  BOOST_TEST(s.state() == v1::RUNNING);  // it started once: it stays running for its requester
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
