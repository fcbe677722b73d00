#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace crowdiff {

/// Where a worker's generations run: in the order posted, never on the actor's own thread. The work reports
/// back to the actor by message.
class generation_runner {
 public:
  virtual ~generation_runner() = default;
  virtual void post(std::function<void()> work) = 0;
};

/// One thread that runs a worker's generations in order, so the actor's own thread never blocks on a model.
class generation_thread final : public generation_runner {
 public:
  generation_thread();
  ~generation_thread() override;  ///< finishes the running item, drops the rest, joins
  generation_thread(const generation_thread&) = delete;
  generation_thread& operator=(const generation_thread&) = delete;

  void post(std::function<void()> work) override;

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace crowdiff
