#pragma once

// A test double for the diffusion pipeline: fast, deterministic, and steerable (faults, gates, cancellation).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/worker/generator.hpp"
#include "common/uuid.hpp"
#include "test_image.hpp"

namespace crowdiff::testing {

class fake_generator : public generator {
 public:
  explicit fake_generator(std::vector<std::string> model_names = {"stable_diffusion"}, double mps = 2.0)
      : models_(std::move(model_names)), mps_(mps) {}

  /// Time each step takes (a stand-in for compute; zero by default).
  std::chrono::microseconds step_time{0};

  /// When set, the bytes sent as the image (a cheating worker); otherwise a real PNG of the task's size.
  std::function<std::string(const v1::TaskSpec&)> image;

  /// Return an error instead of an image for tasks where this returns one.
  std::function<status(const v1::TaskSpec&)> fault;

  /// While closed, generation waits before its first step (until opened or cancelled).
  void close_gate() {
    std::lock_guard lock{mutex_};
    gate_open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock{mutex_};
      gate_open_ = true;
    }
    cv_.notify_all();
  }
  /// Waits (bounded) until a generation is waiting at the closed gate.
  bool wait_until_blocked(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, limit, [this] { return blocked_ > 0; });
  }

  /// Waits (bounded) until `n` generations have stopped because they were cancelled.
  bool wait_for_cancelled(int n, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, limit, [&] { return cancelled_runs.load() >= n; });
  }

  std::atomic<int> started{0};
  std::atomic<int> completed{0};
  std::atomic<int> cancelled_runs{0};

  std::vector<v1::ModelOffer> models() override {
    std::vector<v1::ModelOffer> out;
    for (const auto& m : models_) {
      v1::ModelOffer o;
      o.set_name(m);
      o.set_sha256(std::string(64, 'a'));
      o.set_loaded(true);
      out.push_back(o);
    }
    return out;
  }
  std::string device() override { return "fake"; }
  uint64_t max_pixels() override { return 2048ull * 2048; }
  uint32_t features() override {
    return scheduling::feature_img2img | scheduling::feature_karras | scheduling::feature_clip_skip;
  }
  result<double> benchmark() override { return mps_; }

  result<generated_image> generate(const v1::TaskSpec& task, const step_fn& on_step,
                                   const std::atomic<bool>& cancelled) override {
    ++started;
    {
      std::unique_lock lock{mutex_};
      if (!gate_open_) {
        ++blocked_;
        cv_.notify_all();
        while (!gate_open_ && !cancelled.load())
          cv_.wait_for(lock, std::chrono::milliseconds(5));
        --blocked_;
      }
    }
    uint32_t steps = task.request().steps();
    for (uint32_t i = 1; i <= steps; ++i) {
      if (cancelled.load()) {
        {
          std::lock_guard lock{mutex_};
          ++cancelled_runs;
        }
        cv_.notify_all();
        return status{errc::cancelled, "cancelled"};
      }
      if (step_time.count() > 0)
        std::this_thread::sleep_for(step_time);
      on_step(i, steps);
    }
    if (fault) {
      if (auto s = fault(task); !s)
        return s;
    }
    generated_image img;
    img.bytes = image ? image(task) : test_png(task.request().width(), task.request().height(), task.seed());
    img.format = "png";
    img.model_sha256 = std::string(64, 'a');
    img.width = task.request().width();
    img.height = task.request().height();
    ++completed;
    return img;
  }

 private:
  std::vector<std::string> models_;
  double mps_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool gate_open_ = true;
  int blocked_ = 0;
};

}  // namespace crowdiff::testing
