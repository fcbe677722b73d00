// The client commands: submit, status, cancel, users, kudos, workers.
#include <cmath>
#include <cstdio>
#include <fstream>

#include "apps/crowdiff/client_connection.hpp"
#include "apps/crowdiff/commands.hpp"
#include "common/clock.hpp"
#include "common/version.hpp"
#include "models/sampling/sampler_table.hpp"

namespace crowdiff::app {
namespace {

bool parse_uint(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 19)
    return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

bool parse_kudos(const std::string& text, int64_t& mk) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v))
    return false;
  mk = static_cast<int64_t>(std::llround(v * 1000));
  return true;
}

std::string kudos(int64_t mk) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(mk) / 1000.0);
  return buf;
}

const char* state_name(v1::JobState s) {
  switch (s) {
    case v1::QUEUED:
      return "queued";
    case v1::RUNNING:
      return "running";
    case v1::DONE:
      return "done";
    case v1::FAILED:
      return "failed";
    case v1::CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

void print_status(const v1::JobStatus& st) {
  std::printf("job       %s\n", uuid::from_bytes(st.job_id())->to_string().c_str());
  std::printf("state     %s\n", state_name(st.state()));
  std::printf("images    %u done, %u running, %u waiting, %u failed of %u\n", st.images_done(),
              st.images_running(), st.images_waiting(), st.images_failed(), st.images_total());
  if (st.queue_position() > 0)
    std::printf("position  %u\n", st.queue_position());
  if (st.state() == v1::QUEUED || st.state() == v1::RUNNING) {
    auto now = wall_ms();
    if (st.estimated_finish_ms() > 0)
      std::printf("eta       %.1f s\n",
                  std::max<double>(0, static_cast<double>(st.estimated_finish_ms() - now) / 1000));
    if (!st.possible())
      std::printf("warning   %s\n", st.failure_reason().c_str());
  }
  if (st.total_steps() > 0 && st.state() == v1::RUNNING)
    std::printf("step      %u of %u\n", st.current_step(), st.total_steps());
  std::printf("price     %s kudos (charged %s)\n", kudos(st.quote().total_mk()).c_str(),
              kudos(st.charged_mk()).c_str());
  if (!st.failure_reason().empty() && st.state() == v1::FAILED)
    std::printf("reason    %s\n", st.failure_reason().c_str());
}

result<uuid> job_arg(const command_line& cli, const char* command) {
  if (cli.words.size() != 1)
    return status{errc::invalid_argument, std::string("usage: crowdiff ") + command + " JOB"};
  auto id = uuid::parse(cli.words[0]);
  if (!id)
    return status{errc::invalid_argument, "'" + cli.words[0] + "' is not a job id"};
  return *id;
}

// Builds the request from the flags; invalid_argument naming the flag.
result<v1::JobRequest> request_from(const command_line& cli) {
  v1::JobRequest r;
  if (cli.words.empty())
    return status{errc::invalid_argument, "usage: crowdiff submit \"PROMPT\" [options] -o OUT"};
  std::string prompt = cli.words[0];
  for (size_t i = 1; i < cli.words.size(); ++i)
    prompt += " " + cli.words[i];
  // The AI Horde convention: "positive ### negative".
  if (auto split = prompt.find("###"); split != std::string::npos) {
    r.set_negative_prompt(prompt.substr(split + 3));
    prompt = prompt.substr(0, split);
  }
  r.set_prompt(prompt);
  if (auto neg = cli.get("negative"))
    r.set_negative_prompt(*neg);
  struct number_flag {
    const char* name;
    uint64_t fallback;
    void (v1::JobRequest::*set)(uint32_t);
  };
  for (auto [name, fallback, set] :
       {number_flag{"steps", 20, &v1::JobRequest::set_steps},
        number_flag{"W", 512, &v1::JobRequest::set_width}, number_flag{"H", 512, &v1::JobRequest::set_height},
        number_flag{"n", 1, &v1::JobRequest::set_n},
        number_flag{"clip-skip", 0, &v1::JobRequest::set_clip_skip}}) {
    uint64_t v = fallback;
    if (auto text = cli.get(name)) {
      if (!parse_uint(*text, v) || v > 100000)
        return status{errc::invalid_argument, std::string("--") + name + " takes a whole number"};
    }
    (r.*set)(static_cast<uint32_t>(v));
  }
  if (auto w = cli.get("width"))
    r.set_width(static_cast<uint32_t>(std::strtoul(w->c_str(), nullptr, 10)));
  if (auto h = cli.get("height"))
    r.set_height(static_cast<uint32_t>(std::strtoul(h->c_str(), nullptr, 10)));
  r.set_cfg_scale(7.0f);
  if (auto cfg = cli.get("cfg")) {
    char* end = nullptr;
    double v = std::strtod(cfg->c_str(), &end);
    if (end == cfg->c_str() || *end != '\0')
      return status{errc::invalid_argument, "--cfg takes a number"};
    r.set_cfg_scale(static_cast<float>(v));
  }
  if (auto seed = cli.get("seed")) {
    uint64_t v = 0;
    if (!parse_uint(*seed, v))
      return status{errc::invalid_argument, "--seed takes a whole number"};
    r.set_seed(v);
  }
  if (auto sampler = cli.get("sampler")) {
    const auto* known = models::find_sampler(*sampler);
    if (known == nullptr)
      return status{errc::invalid_argument,
                    "unknown sampler '" + *sampler + "' (the AI Horde's names: k_euler_a, ...)"};
    r.set_sampler(static_cast<v1::Sampler>(known->wire));
  }
  r.set_karras(cli.has("karras"));
  r.set_nsfw(cli.has("nsfw"));
  if (auto model = cli.get("model"))
    r.add_models(*model);
  r.set_client_agent("crowdiff-cli:" + std::string(version()));
  return r;
}

std::string output_path(const std::string& out, size_t index, size_t count, const std::string& format) {
  std::string path = out;
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  std::string stem = has_ext ? path.substr(0, dot) : path;
  std::string ext = has_ext ? path.substr(dot) : "." + format;
  if (count > 1)
    stem += "-" + std::to_string(index + 1);
  return stem + ext;
}

}  // namespace

int cmd_submit(const command_line& cli) {
  auto request = request_from(cli);
  if (!request) {
    std::fprintf(stderr, "crowdiff submit: %s\n", request.error().message().c_str());
    return 2;
  }
  auto out = cli.get("o").value_or(cli.get("output").value_or("out.webp"));
  auto c = connect_client(cli, "submit");
  if (!c)
    return 1;
  auto reply = c->submit(*request);
  if (!reply) {
    std::fprintf(stderr, "crowdiff submit: %s\n", reply.error().to_string().c_str());
    return 1;
  }
  auto job = *uuid::from_bytes(reply->job_id());
  std::fprintf(stderr, "job %s: %s kudos, position %u%s\n", job.to_string().c_str(),
               kudos(reply->quote().total_mk()).c_str(), reply->queue_position(),
               reply->possible() ? "" : " (no online worker can run it now)");
  int64_t eta_ms = reply->estimated_finish_ms();
  uint32_t done = 0;
  uint32_t total_images = request->n();
  auto draw = [&](uint32_t image, uint32_t step, uint32_t steps) {
    constexpr int width = 30;
    double frac = steps == 0 ? 0 : static_cast<double>(step) / steps;
    int filled = static_cast<int>(frac * width);
    double eta = std::max<double>(0, static_cast<double>(eta_ms - wall_ms()) / 1000.0);
    std::fprintf(stderr, "\r[%.*s%*s] image %u/%u step %u/%u  done %u  eta %.0fs   ", filled,
                 "##############################", width - filled, "", image + 1, total_images, step, steps,
                 done, eta);
    std::fflush(stderr);
  };
  auto outcome = c->wait(job, [&](const v1::JobEvent& ev) {
    if (ev.status().estimated_finish_ms() > 0)
      eta_ms = ev.status().estimated_finish_ms();
    done = ev.status().images_done();
    if (ev.kind() == v1::JobEvent::PROGRESS)
      draw(ev.image_index(), ev.step(), ev.total_steps());
  });
  std::fprintf(stderr, "\n");
  if (!outcome) {
    std::fprintf(stderr, "crowdiff submit: %s\n", outcome.error().to_string().c_str());
    return 1;
  }
  if (outcome->status.state() != v1::DONE) {
    std::fprintf(stderr, "crowdiff submit: job %s: %s\n", state_name(outcome->status.state()),
                 outcome->status.failure_reason().c_str());
  }
  for (size_t i = 0; i < outcome->images.size(); ++i) {
    const auto& img = outcome->images[i];
    auto path = output_path(out, i, outcome->images.size(), img.format());
    std::ofstream file(path, std::ios::binary);
    file.write(img.image().data(), static_cast<std::streamsize>(img.image().size()));
    if (!file) {
      std::fprintf(stderr, "crowdiff submit: cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s  seed %lu  model %s  worker %s\n", path.c_str(), static_cast<unsigned long>(img.seed()),
                img.model().c_str(), img.worker_name().c_str());
  }
  return outcome->status.state() == v1::DONE ? 0 : 1;
}

int cmd_status(const command_line& cli) {
  auto job = job_arg(cli, "status");
  if (!job) {
    std::fprintf(stderr, "crowdiff status: %s\n", job.error().message().c_str());
    return 2;
  }
  auto c = connect_client(cli, "status");
  if (!c)
    return 1;
  auto st = c->status(*job);
  if (!st) {
    std::fprintf(stderr, "crowdiff status: %s\n", st.error().to_string().c_str());
    return 1;
  }
  print_status(*st);
  return 0;
}

int cmd_cancel(const command_line& cli) {
  auto job = job_arg(cli, "cancel");
  if (!job) {
    std::fprintf(stderr, "crowdiff cancel: %s\n", job.error().message().c_str());
    return 2;
  }
  auto c = connect_client(cli, "cancel");
  if (!c)
    return 1;
  auto st = c->cancel(*job);
  if (!st) {
    std::fprintf(stderr, "crowdiff cancel: %s\n", st.error().to_string().c_str());
    return 1;
  }
  print_status(*st);
  return 0;
}

int cmd_users(const command_line& cli) {
  if (cli.words.size() != 2 || cli.words[0] != "add") {
    std::fprintf(stderr, "usage: crowdiff users add NAME   (with an admin's --key)\n");
    return 2;
  }
  auto c = connect_client(cli, "users");
  if (!c)
    return 1;
  auto user = c->add_user(cli.words[1]);
  if (!user) {
    std::fprintf(stderr, "crowdiff users: %s\n", user.error().to_string().c_str());
    return 1;
  }
  std::printf("user %s (id %lu)\napi key %s\nThe key is shown only now: keep it.\n",
              user->first.name().c_str(), static_cast<unsigned long>(user->first.id()), user->second.c_str());
  return 0;
}

int cmd_kudos(const command_line& cli) {
  bool balance = cli.words.size() == 1 && cli.words[0] == "balance";
  bool transfer = cli.words.size() == 3 && cli.words[0] == "transfer";
  bool grant = cli.words.size() == 3 && cli.words[0] == "grant";
  if (!balance && !transfer && !grant) {
    std::fprintf(
        stderr,
        "usage: crowdiff kudos balance | kudos transfer USER AMOUNT | kudos grant USER AMOUNT (admin)\n");
    return 2;
  }
  int64_t amount = 0;
  if ((transfer || grant) && (!parse_kudos(cli.words[2], amount) || amount <= 0)) {
    std::fprintf(stderr, "crowdiff kudos: the amount must be a positive number of kudos\n");
    return 2;
  }
  auto c = connect_client(cli, "kudos");
  if (!c)
    return 1;
  if (balance) {
    auto b = c->balance();
    if (!b) {
      std::fprintf(stderr, "crowdiff kudos: %s\n", b.error().to_string().c_str());
      return 1;
    }
    std::printf("balance %s kudos (earned %s, spent %s)\n", kudos(b->balance_mk()).c_str(),
                kudos(b->earned_mk()).c_str(), kudos(b->spent_mk()).c_str());
    return 0;
  }
  auto key = cli.get("idempotency-key").value_or(uuid::random().to_string());
  auto e = grant ? c->grant(cli.words[1], amount, key) : c->transfer(cli.words[1], amount, key);
  if (!e) {
    std::fprintf(stderr, "crowdiff kudos: %s\n", e.error().to_string().c_str());
    return 1;
  }
  std::printf("%s %s kudos to %s (entry %lu)\n", grant ? "granted" : "moved", kudos(e->amount_mk()).c_str(),
              cli.words[1].c_str(), static_cast<unsigned long>(e->sequence()));
  return 0;
}

int cmd_workers(const command_line& cli) {
  auto c = connect_client(cli, "workers");
  if (!c)
    return 1;
  auto ws = c->workers();
  if (!ws) {
    std::fprintf(stderr, "crowdiff workers: %s\n", ws.error().to_string().c_str());
    return 1;
  }
  std::printf("%-24s %-28s %10s %6s %10s %12s  %s\n", "NAME", "MODELS", "MPS/S", "BUSY", "JOBS", "KUDOS",
              "DEVICE");
  for (const auto& w : *ws) {
    std::string models;
    for (const auto& m : w.models)
      models += (models.empty() ? "" : ",") + m;
    std::printf("%-24s %-28s %10.2f %3u/%-2u %10lu %12s  %s\n", w.name.c_str(), models.c_str(), w.mps_per_s,
                w.busy, w.slots, static_cast<unsigned long>(w.images_done), kudos(w.kudos_earned_mk).c_str(),
                w.device.c_str());
  }
  if (ws->empty())
    std::printf("(no worker is online)\n");
  return 0;
}

}  // namespace crowdiff::app
