// The monotonic clock the tailer uses for its grace periods, behind an interface so tests
// can advance time without sleeping.
#ifndef MODELWATCH_EXPORTER_TAIL_CLOCK_H_
#define MODELWATCH_EXPORTER_TAIL_CLOCK_H_

#include <chrono>

namespace modelwatch {

// Thread-safety: implementations must allow concurrent Now() calls.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// std::chrono::steady_clock. Returns a process-wide instance that lives forever.
const Clock* SteadyClock();

// A clock that moves only when told to. For tests.
class FakeClock : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds d) { now_ += d; }

 private:
  TimePoint now_{};
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_TAIL_CLOCK_H_
