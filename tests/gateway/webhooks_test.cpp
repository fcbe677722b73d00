// The webhook sender on its own: URL rules, delivery, retries with backoff, timeouts, the bounded queue, the
// last try at stop, and https with certificate verification, against webhook_receiver on loopback.
#include "gateway/webhooks.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>

#include <boost/test/unit_test.hpp>

#include "common/log.hpp"
#include "temp_dir.hpp"
#include "test_certificate.hpp"
#include "webhook_receiver.hpp"

namespace {

using crowdiff::gateway::parse_webhook_url;
using crowdiff::gateway::webhook_options;
using crowdiff::gateway::webhook_sender;
using crowdiff::gateway::webhook_url;
using crowdiff::testing::webhook_receiver;
using namespace std::chrono_literals;

webhook_url url_of(const std::string& text) {
  auto u = parse_webhook_url(text);
  BOOST_REQUIRE_MESSAGE(u.has_value(), text + ": " + u.to_status().to_string());
  return *u;
}

std::unique_ptr<webhook_sender> sender_with(webhook_options o) {
  auto s = webhook_sender::start(o);
  BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
  return std::move(*s);
}

/// Waits (bounded) until `pred(stats)` holds.
template <class Pred>
bool stats_until(const webhook_sender& s, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(s.stats()))
      return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

/// Captures the log lines written while it lives.
struct log_capture {
  log_capture() {
    crowdiff::log::set_sink([this](crowdiff::log::level, const std::string& line) {
      std::lock_guard lock{mutex};
      lines.push_back(line);
    });
  }
  ~log_capture() { crowdiff::log::reset_sink(); }
  size_t count(const std::string& text) {
    std::lock_guard lock{mutex};
    return static_cast<size_t>(std::count_if(
        lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; }));
  }
  std::mutex mutex;
  std::vector<std::string> lines;
};

/// Retries are logged at info; the suite keeps to warnings, as the core fixture does.
struct quiet_logs {
  quiet_logs() { crowdiff::log::set_level(crowdiff::log::level::warning); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(webhooks, quiet_logs)

BOOST_AUTO_TEST_CASE(urls_are_https_or_loopback_http) {
  auto a = url_of("https://Example.COM/hooks/crowdiff?token=abc#part");
  BOOST_TEST(a.tls);
  BOOST_TEST(a.host == "example.com");
  BOOST_TEST(a.port == "443");
  BOOST_TEST(a.target == "/hooks/crowdiff?token=abc");
  BOOST_TEST(a.origin() == "https://example.com:443");
  auto b = url_of("HTTP://127.0.0.1:8080");
  BOOST_TEST(!b.tls);
  BOOST_TEST(b.port == "8080");
  BOOST_TEST(b.target == "/");
  BOOST_TEST(url_of("http://localhost/x").host == "localhost");
  BOOST_TEST(url_of("http://127.3.2.1:1/x").host == "127.3.2.1");
  auto v6 = url_of("http://[::1]:9000/h?x=1");
  BOOST_TEST(v6.host == "::1");
  BOOST_TEST(v6.origin() == "http://[::1]:9000");
  BOOST_TEST(url_of("https://10.0.0.1:8443/hook").port == "8443");
  BOOST_TEST(url_of("https://hooks.example.com?x=1").target == "/?x=1");

  struct refused {
    std::string url;
    std::string says;
  };
  const refused cases[] = {{"", "https://"},
                           {"hooks.example.com/x", "https://"},
                           {"ftp://example.com/x", "https://"},
                           {"javascript:alert(1)", "https://"},
                           {"http://example.com/hook", "plain http:// only"},
                           {"http://10.0.0.1/hook", "plain http:// only"},
                           {"http://127.0.0.1.example.com/hook", "plain http:// only"},
                           {"http://[::2]/hook", "plain http:// only"},
                           {"http://localhost@example.com/", "user name"},
                           {"https://user:secret@example.com/", "user name"},
                           {"https://", "no host"},
                           {"https:///path", "no host"},
                           {"https://exa mple.com/", "spaces"},
                           {"https://example.com/\x01", "control"},
                           {"https://exa_mple.com/", "invalid host"},
                           {"https://example..com/", "invalid host"},
                           {"https://example.com:0/", "invalid port"},
                           {"https://example.com:65536/", "invalid port"},
                           {"https://example.com:8o/", "invalid port"},
                           {"https://example.com:/", "empty port"},
                           {"https://[::1/", "unclosed"},
                           {"https://[nope]/", "IPv6"},
                           {"https://example.com/" + std::string(1100, 'a'), "at most 1024"}};
  for (const auto& c : cases) {
    auto u = parse_webhook_url(c.url);
    BOOST_TEST_CONTEXT(c.url) {
      BOOST_REQUIRE(!u.has_value());
      BOOST_TEST(u.error().code() == crowdiff::errc::invalid_argument);
      BOOST_TEST(u.error().message().find(c.says) != std::string::npos, u.error().message());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_2xx_is_a_delivery) {
  webhook_receiver receiver;
  auto sender = sender_with({});
  BOOST_TEST(sender->send(url_of(receiver.url("/hook?k=1")), R"({"event":"done"})"));
  BOOST_REQUIRE(receiver.wait_for(1));
  BOOST_REQUIRE(stats_until(*sender, [](const auto& s) { return s.delivered == 1 && s.pending == 0; }));
  auto got = receiver.requests().at(0);
  BOOST_TEST(got.method == "POST");
  BOOST_TEST(got.target == "/hook?k=1");
  BOOST_TEST(got.content_type == "application/json");
  BOOST_TEST(got.body == R"({"event":"done"})");
  BOOST_TEST(sender->stats().retried == 0u);
}

BOOST_AUTO_TEST_CASE(failed_tries_are_retried_with_growing_backoff) {
  webhook_receiver receiver(webhook_receiver::failing_first(2));
  webhook_options o;
  o.attempts = 5;
  o.backoff = 100ms;
  auto sender = sender_with(o);
  sender->send(url_of(receiver.url()), "the same body");
  BOOST_REQUIRE(stats_until(*sender, [](const auto& s) { return s.delivered == 1; }));
  auto got = receiver.requests();
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  for (const auto& r : got)
    BOOST_TEST(r.body == "the same body");
  BOOST_TEST(got[0].answered == 500u);
  BOOST_TEST(got[1].answered == 500u);
  BOOST_TEST(got[2].answered == 200u);
  // A timer never fires early, so these lower bounds hold on any machine: 100 ms, then 200 ms.
  BOOST_TEST((got[1].at - got[0].at >= 100ms));
  BOOST_TEST((got[2].at - got[1].at >= 200ms));
  auto s = sender->stats();
  BOOST_TEST(s.retried == 2u);
  BOOST_TEST(s.abandoned == 0u);
}

BOOST_AUTO_TEST_CASE(a_delivery_is_abandoned_after_its_attempts) {
  webhook_receiver receiver(webhook_receiver::failing_first(1000));
  log_capture logs;
  webhook_options o;
  o.attempts = 3;
  o.backoff = 1ms;
  auto sender = sender_with(o);
  sender->send(url_of(receiver.url()), "{}");
  BOOST_REQUIRE(stats_until(*sender, [](const auto& s) { return s.abandoned == 1 && s.pending == 0; }));
  BOOST_TEST(receiver.requests().size() == 3u);
  BOOST_TEST(logs.count("event=webhook_abandoned") == 1u);
}

BOOST_AUTO_TEST_CASE(a_receiver_that_never_answers_times_out_and_holds_up_no_other) {
  webhook_receiver hanging(webhook_receiver::never_answering());
  webhook_receiver healthy;
  webhook_options o;
  o.attempts = 2;
  o.backoff = 1ms;
  o.timeout = 300ms;
  auto sender = sender_with(o);
  // More than one receiver's share of connections, all stuck.
  for (int i = 0; i < 6; ++i)
    sender->send(url_of(hanging.url()), "stuck " + std::to_string(i));
  sender->send(url_of(healthy.url()), "fine");
  BOOST_REQUIRE(healthy.wait_for(1));
  BOOST_TEST(healthy.requests().at(0).body == "fine");
  // Each stuck delivery: two tries, each cut off by the timeout, then abandoned.
  BOOST_REQUIRE(stats_until(*sender, [](const auto& s) { return s.abandoned == 6 && s.pending == 0; }));
  BOOST_TEST(hanging.requests().size() <= 12u);
  BOOST_TEST(sender->stats().delivered == 1u);
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_and_logs_without_blocking) {
  webhook_receiver hanging(webhook_receiver::never_answering());
  log_capture logs;
  webhook_options o;
  o.max_pending = 3;
  o.timeout = 60s;  // nothing finishes while the test fills the queue
  auto sender = sender_with(o);
  auto url = url_of(hanging.url());
  int accepted = 0;
  for (int i = 0; i < 1000; ++i)
    accepted += sender->send(url, "{}") ? 1 : 0;
  BOOST_TEST(accepted == 3);
  auto s = sender->stats();
  BOOST_TEST(s.pending == 3u);
  BOOST_TEST(s.dropped == 997u);
  // Logged at once, then at most once a second (with the count), not once per drop.
  BOOST_TEST(logs.count("event=webhook_dropped") >= 1u);
  BOOST_TEST(logs.count("event=webhook_dropped") < 10u);
  // Closing the hanging connections ends the tries; stop then gives up quickly.
  hanging.stop();
  sender->stop();
  BOOST_TEST(sender->stats().pending == 0u);
  BOOST_TEST(!sender->send(url, "{}"));
}

BOOST_AUTO_TEST_CASE(stop_makes_a_last_try_at_once) {
  webhook_receiver receiver(webhook_receiver::failing_first(1));
  webhook_options o;
  o.attempts = 5;
  o.backoff = 600'000ms;  // a retry that would come far too late
  auto sender = sender_with(o);
  sender->send(url_of(receiver.url()), "last words");
  BOOST_REQUIRE(stats_until(*sender, [](const auto& s) { return s.retried == 1; }));
  sender->stop();
  auto got = receiver.requests();
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST(got[1].body == "last words");
  BOOST_TEST(got[1].answered == 200u);
  BOOST_TEST(sender->stats().delivered == 1u);
}

BOOST_AUTO_TEST_CASE(the_final_callback_marks_deliveries_that_ended_for_good) {
  webhook_receiver fine;
  webhook_receiver refusing(webhook_receiver::failing_first(1000));
  webhook_options o;
  o.attempts = 2;
  o.backoff = 1ms;
  auto sender = sender_with(o);
  std::atomic<int> delivered{0}, given_up{0};
  BOOST_TEST(sender->send(url_of(fine.url()), "{}", [&] { ++delivered; }));
  BOOST_TEST(sender->send(url_of(refusing.url()), "{}", [&] { ++given_up; }));
  BOOST_REQUIRE(stats_until(*sender, [](const auto& s) { return s.pending == 0; }));
  BOOST_TEST(delivered.load() == 1);
  BOOST_TEST(given_up.load() == 1);  // after both of its tries
  BOOST_TEST(refusing.requests().size() == 2u);
  sender->stop();

  // Cut short by stop() with tries left: not final (a later process may still deliver it).
  webhook_options patient;
  patient.attempts = 5;
  patient.backoff = 600'000ms;
  patient.timeout = 200ms;
  auto stopping = sender_with(patient);
  std::atomic<int> finals{0};
  stopping->send(url_of(refusing.url()), "{}", [&] { ++finals; });
  BOOST_REQUIRE(stats_until(*stopping, [](const auto& s) { return s.retried == 1; }));
  stopping->stop();  // its last try is refused too
  BOOST_TEST(stopping->stats().abandoned == 1u);
  BOOST_TEST(finals.load() == 0);
  // Refused by a stopped sender: not final either.
  BOOST_TEST(!stopping->send(url_of(fine.url()), "{}", [&] { ++finals; }));
  BOOST_TEST(finals.load() == 0);
}

BOOST_AUTO_TEST_CASE(https_verifies_the_receivers_certificate) {
  auto cert = crowdiff::testing::make_test_certificate();
  BOOST_REQUIRE(!cert.cert_pem.empty());
  auto tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  tls->use_certificate_chain(boost::asio::buffer(cert.cert_pem));
  tls->use_private_key(boost::asio::buffer(cert.key_pem), boost::asio::ssl::context::pem);
  webhook_receiver receiver(webhook_receiver::over_tls(tls));
  crowdiff::testing::temp_dir dir;
  auto ca_file = (dir.path() / "ca.pem").string();
  std::ofstream(ca_file) << cert.cert_pem;

  webhook_options trusting;
  trusting.ca_file = ca_file;
  trusting.attempts = 1;
  trusting.private_receivers = true;  // the receiver is on loopback
  auto good = sender_with(trusting);
  good->send(url_of(receiver.url("/hook", "localhost")), "over tls");
  BOOST_REQUIRE(stats_until(*good, [](const auto& s) { return s.delivered == 1; }));
  BOOST_TEST(receiver.requests().at(0).body == "over tls");

  // The system's authorities do not know the certificate: refused before a byte of the body is sent.
  webhook_options system_cas;
  system_cas.attempts = 1;
  system_cas.private_receivers = true;
  auto strict = sender_with(system_cas);
  strict->send(url_of(receiver.url()), "must not arrive");
  BOOST_REQUIRE(stats_until(*strict, [](const auto& s) { return s.abandoned == 1; }));
  BOOST_TEST(receiver.requests().size() == 1u);

  // Trusted, but made out to another name: refused as well.
  auto elsewhere = crowdiff::testing::make_test_certificate("DNS:elsewhere.test");
  auto other_tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  other_tls->use_certificate_chain(boost::asio::buffer(elsewhere.cert_pem));
  other_tls->use_private_key(boost::asio::buffer(elsewhere.key_pem), boost::asio::ssl::context::pem);
  webhook_receiver impostor(webhook_receiver::over_tls(other_tls));
  auto other_ca = (dir.path() / "elsewhere.pem").string();
  std::ofstream(other_ca) << elsewhere.cert_pem;
  webhook_options trusting_elsewhere;
  trusting_elsewhere.ca_file = other_ca;
  trusting_elsewhere.attempts = 1;
  trusting_elsewhere.private_receivers = true;
  auto mismatched = sender_with(trusting_elsewhere);
  mismatched->send(url_of(impostor.url()), "must not arrive either");
  BOOST_REQUIRE(stats_until(*mismatched, [](const auto& s) { return s.abandoned == 1; }));
  BOOST_TEST(impostor.requests().empty());
  BOOST_TEST(impostor.wait_for_failed_handshakes(1));
}

BOOST_AUTO_TEST_CASE(https_to_a_private_address_is_refused_before_connecting) {
  auto cert = crowdiff::testing::make_test_certificate();
  auto tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  tls->use_certificate_chain(boost::asio::buffer(cert.cert_pem));
  tls->use_private_key(boost::asio::buffer(cert.key_pem), boost::asio::ssl::context::pem);
  webhook_receiver receiver(webhook_receiver::over_tls(tls));
  crowdiff::testing::temp_dir dir;
  auto ca_file = (dir.path() / "ca.pem").string();
  std::ofstream(ca_file) << cert.cert_pem;
  webhook_options o;  // private_receivers off, as on a public horde
  o.ca_file = ca_file;
  o.attempts = 1;
  log_capture logs;
  auto s = sender_with(o);
  s->send(url_of(receiver.url("/hook", "localhost")), "must not arrive");
  BOOST_REQUIRE(stats_until(*s, [](const auto& st) { return st.abandoned == 1; }));
  BOOST_TEST(receiver.requests().empty());
  BOOST_TEST(logs.count("private") >= 1u);
}

BOOST_AUTO_TEST_CASE(only_public_addresses_are_public) {
  using crowdiff::gateway::public_address;
  for (const char* inside :
       {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2001:db8::1", "not an address"})
    BOOST_TEST(!public_address(inside), inside);
  for (const char* outside :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"})
    BOOST_TEST(public_address(outside), outside);
}

BOOST_AUTO_TEST_CASE(an_unreadable_ca_file_is_refused_at_start) {
  webhook_options o;
  o.ca_file = "/nonexistent/ca.pem";
  auto s = webhook_sender::start(o);
  BOOST_REQUIRE(!s.has_value());
  BOOST_TEST(s.error().code() == crowdiff::errc::invalid_argument);
  BOOST_TEST(s.error().message().find("/nonexistent/ca.pem") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
