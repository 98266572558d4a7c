// Event-time sliding windows as rings of sub-windows.
//
// A window of length L with S sub-windows has sub-windows of width w = L / S aligned to the
// Unix epoch (sub-window k covers [k·w, (k+1)·w)). The window ends at the newest event time
// seen (never the wall clock) and covers the S most recent sub-windows, i.e. it starts at
// (k_newest − S + 1)·w: between L − w and L of event time. A record older than that start
// minus the allowed lateness is late; one between is simply outside the window.
//
// Memory is S ring slots, whatever the traffic. Not thread-safe.
#ifndef MODELWATCH_EXPORTER_STATS_WINDOW_CLOCK_H_
#define MODELWATCH_EXPORTER_STATS_WINDOW_CLOCK_H_

#include <cmath>
#include <cstdint>

#include "core/duration.h"

namespace modelwatch {

class WindowClock {
 public:
  enum class Placement { kInWindow, kOutside, kLate };

  WindowClock(Seconds length, int sub_windows, Seconds lateness)
      : sub_windows_(sub_windows < 1 ? 1 : sub_windows),
        width_(static_cast<double>(length.count()) / (sub_windows < 1 ? 1 : sub_windows)),
        lateness_(static_cast<double>(lateness.count())) {
    if (!(width_ > 0)) width_ = 1;
  }

  // Places a record with event time `ts`: advances the window end when ts is the newest seen,
  // calling clear(ring_slot) for every ring slot whose sub-window leaves the window (before
  // it is reused), and returns whether the record falls in the window; if so *ring_slot is
  // its slot in [0, sub_windows).
  template <typename ClearFn>
  Placement Place(double ts, int* ring_slot, ClearFn&& clear) {
    const std::int64_t k = SubWindowOf(ts);
    if (!started_) {
      started_ = true;
      newest_ = k;
      newest_ts_ = ts;
    } else if (k > newest_) {
      const std::int64_t gap = k - newest_;
      const std::int64_t n = gap >= sub_windows_ ? sub_windows_ : gap;
      for (std::int64_t i = 1; i <= n; ++i)
        clear(RingSlot(gap >= sub_windows_ ? k - n + i : newest_ + i));
      newest_ = k;
    }
    if (ts > newest_ts_) newest_ts_ = ts;
    if (k > newest_ - sub_windows_) {
      *ring_slot = RingSlot(k);
      return Placement::kInWindow;
    }
    return ts < start() - lateness_ ? Placement::kLate : Placement::kOutside;
  }

  bool started() const { return started_; }
  // Event time of the newest record placed (the window's end). 0 before the first.
  double end() const { return newest_ts_; }
  // Start of the window (inclusive), in Unix seconds.
  double start() const { return static_cast<double>(newest_ - sub_windows_ + 1) * width_; }
  int sub_windows() const { return sub_windows_; }
  double width() const { return width_; }
  std::int64_t newest_sub_window() const { return newest_; }

  // For checkpoints: the full state is (started, newest sub-window, newest event time).
  void Restore(bool started, std::int64_t newest_sub_window, double newest_ts) {
    started_ = started;
    newest_ = newest_sub_window;
    newest_ts_ = newest_ts;
  }

 private:
  std::int64_t SubWindowOf(double ts) const {
    double k = std::floor(ts / width_);
    // Keep absurd timestamps from overflowing the integer conversion.
    if (!(k > -4e15)) k = -4e15;
    if (k > 4e15) k = 4e15;
    return static_cast<std::int64_t>(k);
  }
  int RingSlot(std::int64_t k) const {
    const std::int64_t m = k % sub_windows_;
    return static_cast<int>(m < 0 ? m + sub_windows_ : m);
  }

  int sub_windows_;
  double width_;
  double lateness_;
  bool started_ = false;
  std::int64_t newest_ = 0;
  double newest_ts_ = 0;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_STATS_WINDOW_CLOCK_H_
