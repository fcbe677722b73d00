#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace crowdiff {

/// One thread that runs a worker's generations in order, so the actor's own thread never blocks on a model.
class generation_thread {
 public:
  generation_thread();
  ~generation_thread();  ///< finishes the running item, drops the rest, joins
  generation_thread(const generation_thread&) = delete;
  generation_thread& operator=(const generation_thread&) = delete;

  void post(std::function<void()> work);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace crowdiff
