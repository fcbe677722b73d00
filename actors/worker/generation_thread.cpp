#include "actors/worker/generation_thread.hpp"

namespace crowdiff {

generation_thread::generation_thread() : thread_([this] { loop(); }) {}

generation_thread::~generation_thread() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

void generation_thread::post(std::function<void()> work) {
  {
    std::lock_guard lock{mutex_};
    queue_.push_back(std::move(work));
  }
  wake_.notify_one();
}

void generation_thread::loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace crowdiff
