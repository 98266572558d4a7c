#include "rulegen/promtool_tests_emitter.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/metric_catalogue.h"
#include "rulegen/rule_model.h"
#include "rulegen/series.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

using Labels = std::map<std::string, std::string>;
using std::int64_t;

// A stretch of an input series: a gauge's value, or a counter's increase per minute.
struct Phase {
  double value;
  int minutes;
};

// One input series at a 1m interval, built from phases.
struct InputSeries {
  std::string metric;
  Labels labels;
  std::vector<Phase> phases;
  bool counter = false;
  int missing = 0;     // samples without a value before the phases (series not yet exported)
  double start = 0;    // a counter's first value
  bool stale = false;  // ends with a staleness marker (the series disappears)
};

struct ExpectedAlert {
  Labels labels;
  Labels annotations;
};

struct Check {
  int64_t at = 0;  // seconds
  std::string alertname;
  std::vector<ExpectedAlert> alerts;
};

// A promql_expr_test: `expr` at `at` must give exactly these samples.
struct ExprCheck {
  int64_t at = 0;  // seconds
  std::string expr;
  std::vector<std::pair<std::string, double>> samples;  // series text, value
};

struct Scenario {
  std::string name;
  std::vector<InputSeries> series;
  std::vector<Check> checks;
  std::vector<ExprCheck> expr_checks = {};
  int interval_minutes = 1;  // of the input series (phases count samples)
  int64_t length = 0;        // evaluated time in seconds, when it decides fast vs long file
};

// Values the degradation annotations show, computed from the inputs.
struct RenderContext {
  std::string signals;
  std::string trend = "unknown";
};

// Appends the series' promtool name: metric{label="value",...}.
void AppendSeriesName(std::string& out, const InputSeries& s) {
  out += s.metric;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : s.labels) {
    if (!first) out += ',';
    out += k;
    out += "=\"";
    out += v;
    out += '"';
    first = false;
  }
  out += '}';
}

std::string SeriesName(const InputSeries& s) {
  std::string out;
  AppendSeriesName(out, s);
  return out;
}

// Appends the series' values in promtool's expanding notation ("_x3 1+2x10 5x4 stale").
void AppendValuesText(std::string& out, const InputSeries& s) {
  const std::size_t start = out.size();
  char buf[24];
  auto append_int = [&](int64_t n) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
  };
  if (s.missing > 0) {
    out += "_x";
    append_int(s.missing);
  }
  double last = 0;
  bool first = true;
  for (const Phase& p : s.phases) {
    if (p.minutes <= 0) continue;
    if (out.size() > start) out += ' ';
    if (s.counter) {
      const double begin = first ? s.start : last + p.value;
      AppendNumber(out, begin);
      out += '+';
      AppendNumber(out, p.value);
      out += 'x';
      append_int(p.minutes - 1);
      last = begin + p.value * (p.minutes - 1);
    } else if (std::isnan(p.value)) {  // staleness markers (the series disappeared)
      for (int i = 0; i < p.minutes; ++i) out += i == 0 ? "stale" : " stale";
    } else {
      AppendNumber(out, p.value);
      if (p.minutes > 1) {
        out += 'x';
        append_int(p.minutes - 1);
      }
    }
    first = false;
  }
  if (s.stale) out += " stale";
}

int TotalMinutes(const std::vector<Phase>& phases) {
  int n = 0;
  for (const Phase& p : phases) n += p.minutes;
  return n;
}

// The gauge's value at `seconds` (the latest sample at or before it). Requires seconds within
// the series.
double GaugeAt(const std::vector<Phase>& phases, int64_t seconds) {
  int64_t minute = seconds / 60;
  for (const Phase& p : phases) {
    if (minute < p.minutes) return p.value;
    minute -= p.minutes;
  }
  return phases.back().value;
}

int64_t CeilTo(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t FloorTo(int64_t x, int64_t m) { return x / m * m; }
int Minutes(Seconds s) { return static_cast<int>((s.count() + 59) / 60); }

bool Holds(const AlertRule& a, double v) {
  if (!a.threshold) return false;
  switch (a.comparison) {
    case Comparison::kAbove:
      return v > *a.threshold;
    case Comparison::kAtLeast:
      return v >= *a.threshold;
    case Comparison::kBelow:
      return v < *a.threshold;
  }
  return false;
}

std::string Render(const Text& text, const Labels& labels, double value, const RenderContext& ctx) {
  std::string out;
  for (const TextPiece& p : text) {
    switch (p.kind) {
      case TextPiece::Kind::kLiteral:
        out += p.text;
        break;
      case TextPiece::Kind::kLabel: {
        auto it = labels.find(p.text);
        out += it == labels.end() ? "<no value>" : it->second;
        break;
      }
      case TextPiece::Kind::kValuePercent:
        out += HumanizePercentage(value);
        break;
      case TextPiece::Kind::kValueFormat:
        out += GoFormat(p.text.c_str(), value);
        break;
      case TextPiece::Kind::kDegradationSignals:
        out += ctx.signals;
        break;
      case TextPiece::Kind::kDegradationTrend:
        out += ctx.trend;
        break;
    }
  }
  return out;
}

ExpectedAlert Expect(const AlertRule& a, const Labels& series_labels, double value,
                     const RenderContext& ctx = {}) {
  ExpectedAlert e;
  e.labels = series_labels;
  for (const auto& [k, v] : a.labels) e.labels[k] = v;
  e.annotations["summary"] = Render(a.summary, e.labels, value, ctx);
  e.annotations["description"] = Render(a.description, e.labels, value, ctx);
  e.annotations["runbook_url"] = a.runbook_url;
  e.annotations["dashboard_url"] = a.dashboard_url;
  if (!a.sample_url.empty()) {
    const auto instance = e.labels.find("instance");
    e.annotations["sample_url"] =
        SampleUrl(instance == e.labels.end() ? "" : instance->second, e.labels["model"]);
  }
  return e;
}

// How a gauge-threshold alert is exercised.
struct GaugeSpec {
  std::string metric;
  Labels labels;        // of the input series
  Labels alert_labels;  // of the resulting alert, before the rule's labels
  double normal = 0;
  double ticket = 0;
  std::optional<double> page;
  std::optional<double> below_page;  // a level where only the ticket fires, if any
  int pre = 10;                      // minutes of normal values before the condition
  // The alert's value for a gauge level (identity, abs, ratio to another series).
  std::function<double(double)> value = [](double v) { return v; };
  // Further input series, given the main series' phases.
  std::function<std::vector<InputSeries>(const std::vector<Phase>&)> extra;
  // Annotation context at an evaluation time, given the main series' phases.
  std::function<RenderContext(int64_t, const std::vector<Phase>&)> context;
};

// Prometheus 2.x extrapolatedRate over the closed range [t - range, t] of a counter sampled
// every `interval` seconds from 0: `n` samples, value(k) the one at k * interval.
template <typename Counter>
std::optional<double> ExtrapolatedRateOf(const Counter& value, int64_t n, int64_t interval,
                                         int64_t t, int64_t range) {
  const int64_t start = t - range;
  const int64_t k0 = start <= 0 ? 0 : (start + interval - 1) / interval;
  const int64_t k1 = std::min(n - 1, t / interval);
  if (k1 - k0 < 1) return std::nullopt;
  double result = value(k1) - value(k0);
  const double first = value(k0);
  double to_start = static_cast<double>(k0 * interval - start);
  const double to_end = static_cast<double>(t - k1 * interval);
  const double sampled = static_cast<double>((k1 - k0) * interval);
  const double avg = sampled / static_cast<double>(k1 - k0);
  if (result > 0 && first >= 0) {
    const double to_zero = sampled * (first / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = avg * 1.1;
  double extrapolate = sampled;
  extrapolate += to_start < threshold ? to_start : avg / 2;
  extrapolate += to_end < threshold ? to_end : avg / 2;
  result = result * (extrapolate / sampled);
  return result / static_cast<double>(range);
}

std::optional<double> ExtrapolatedRate(const std::vector<double>& v, int64_t interval, int64_t t,
                                       int64_t range) {
  return ExtrapolatedRateOf([&v](int64_t k) { return v[static_cast<std::size_t>(k)]; },
                            static_cast<int64_t>(v.size()), interval, t, range);
}

// ---------------------------------------------------------------------------------------
// Burn-rate simulation: Prometheus 2.x rate() on the counters a burn-rate scenario feeds, so
// that the expected alerts (and the $value in their descriptions) follow from the inputs.

// A stretch of a burn-rate scenario: `samples` samples whose events are a `ratio` share bad.
// Counters grow by kBurnEvents per sample, bad ones by round(kBurnEvents * ratio): integers,
// so promtool's series expansion and this simulation agree exactly.
struct BurnPhase {
  double ratio;
  int64_t samples;
};
constexpr double kBurnEvents = 10000;
// promtool test rules loads at most 10000 samples per query (the period's ratio rule reads
// a whole scenario): burn-rate scenarios keep below this many samples.
constexpr int64_t kMaxBurnSamples = 8000;
double BadEvents(double ratio) { return std::round(kBurnEvents * ratio); }

// One `long > thr and short > thr` pair of a burn-rate alert, or a mutant of it.
struct BurnCond {
  int64_t long_s;
  int64_t short_s;
  double long_thr;
  double short_thr;
  bool use_long;
  bool use_short;
};

class BurnSim {
 public:
  // Samples every `interval` seconds from 0; `latency`: the slow ratio is 1 - good/total.
  // The counters are not materialized (a scenario has up to kMaxBurnSamples samples, and the
  // scenario search builds thousands of simulations per model): every sample after the first
  // adds kBurnEvents events, BadEvents(ratio) of them bad, so a counter at sample k follows
  // from its phase. All values are integers below 2^53: exact, as summing them one by one.
  BurnSim(const std::vector<BurnPhase>& phases, int64_t interval, bool latency)
      : interval_(interval), latency_(latency) {
    double bad = 0;
    for (const BurnPhase& p : phases) {
      if (p.samples <= 0) continue;
      const double per = BadEvents(p.ratio);
      // Sample 0 adds nothing: the first stretch starts one sample "before" it.
      const double before = samples_ == 0 ? -per : bad;
      stretches_.push_back({samples_, before, per});
      samples_ += p.samples;
      bad = before + static_cast<double>(p.samples) * per;
    }
  }

  // Time of the last sample (seconds).
  int64_t End() const { return (samples_ - 1) * interval_; }

  // The error ratio (or slow ratio) rule over `window` evaluated at `t`.
  std::optional<double> Ratio(int64_t t, int64_t window) const {
    const auto all = Rate(Counter::kTotal, t, window);
    if (!all) return std::nullopt;
    if (latency_) {
      const auto good = Rate(Counter::kGood, t, window);
      if (!good) return std::nullopt;
      return 1 - (*good / *all);
    }
    const auto bad = Rate(Counter::kBad, t, window);
    if (!bad) return std::nullopt;
    return *bad / *all;
  }

  // The alert's value at `t` (the first holding pair's left operand), or nullopt if silent.
  std::optional<double> Alert(const std::vector<BurnCond>& conds, int64_t t) const {
    for (const BurnCond& c : conds) {
      std::optional<double> value;
      bool holds = true;
      if (c.use_long) {
        const auto l = Ratio(t, c.long_s);
        holds = l && *l > c.long_thr;
        if (holds) value = *l;
      }
      if (holds && c.use_short) {
        const auto sh = Ratio(t, c.short_s);
        holds = sh && *sh > c.short_thr;
        if (holds && !value) value = *sh;
      }
      if (holds && value) return value;
    }
    return std::nullopt;
  }

  // True if no ratio the rules compare at `t` lies within rounding noise of a threshold, and
  // the alerts' values do not sit on a rounding edge of humanizePercentage.
  bool Robust(const std::map<Severity, std::vector<BurnCond>>& rules, int64_t t) const {
    auto near = [](double a, double b) { return std::fabs(a - b) <= 1e-9 * std::fabs(b); };
    for (const auto& [sev, conds] : rules) {
      for (const BurnCond& c : conds) {
        const auto l = Ratio(t, c.long_s);
        const auto sh = Ratio(t, c.short_s);
        if ((l && near(*l, c.long_thr)) || (sh && near(*sh, c.short_thr))) return false;
      }
      if (const auto v = Alert(conds, t)) {
        if (HumanizePercentage(*v * (1 + 1e-9)) != HumanizePercentage(*v * (1 - 1e-9))) {
          return false;
        }
      }
    }
    return true;
  }

 private:
  enum class Counter { kTotal, kBad, kGood };

  double Value(Counter c, int64_t k) const {
    const double total = static_cast<double>(k) * kBurnEvents;
    if (c == Counter::kTotal) return total;
    // The stretch holding sample k: the last one starting at or before it.
    auto it = std::upper_bound(stretches_.begin(), stretches_.end(), k,
                               [](int64_t x, const Stretch& st) { return x < st.first; });
    --it;
    const double bad = it->before + static_cast<double>(k - it->first + 1) * it->per;
    return c == Counter::kBad ? bad : total - bad;
  }

  std::optional<double> Rate(Counter c, int64_t t, int64_t range) const {
    return ExtrapolatedRateOf([this, c](int64_t k) { return Value(c, k); }, samples_, interval_, t,
                              range);
  }

  // Samples [first, next stretch's first) have `per` bad events each; `before` is the bad
  // counter one sample before `first`.
  struct Stretch {
    int64_t first;
    double before;
    double per;
  };
  int64_t interval_;
  bool latency_;
  int64_t samples_ = 0;
  std::vector<Stretch> stretches_;
};

// ---------------------------------------------------------------------------------------
// LowThroughput simulation: the recorded rates, the reference and the alert's `for` /
// keep_firing_for state at every evaluation, as Prometheus 2.x computes them, so that the
// expected alerts (the first firing evaluation, $value) follow from the inputs and a rule
// with another window, offset, threshold or floor fails the scenarios.

struct ThroughputRule {
  bool hour = true;             // compare: hour (else day)
  int64_t window = 300;         // the short window S
  int64_t offset = 600;         // compare: hour: the reference hour ends this long ago
  double keep = 0.5;            // fires below keep x the reference
  double min_rate = 0.1;        // the reference must be at least this (0: no floor)
  int64_t for_s = 300;          // `for`
  int64_t keep_firing_s = 300;  // keep_firing_for
};

struct ThroughputEval {
  int64_t t = 0;
  bool condition = false;
  bool firing = false;
  double value = 0;  // $value of the alert's annotations (last evaluation the condition held)
};

// Evaluates the rule every `ei` seconds over the counter that `phases` (increase per 1m
// sample, sample 0 = 0) describes, up to its last sample.
std::vector<ThroughputEval> SimulateThroughput(const std::vector<Phase>& phases,
                                               const ThroughputRule& r, int64_t ei) {
  std::vector<double> v;
  for (const Phase& p : phases) {
    for (int i = 0; i < p.minutes; ++i) v.push_back(v.empty() ? 0 : v.back() + p.value);
  }
  const int64_t end = (static_cast<int64_t>(v.size()) - 1) * 60;
  std::map<int64_t, double> rate5m, rate_s;  // recorded series, by evaluation time
  // An instant selector at t: the newest sample at or before t within the 5m lookback.
  auto at = [](const std::map<int64_t, double>& rec, int64_t t) -> std::optional<double> {
    auto it = rec.upper_bound(t);
    if (it == rec.begin()) return std::nullopt;
    --it;
    if (t - it->first > 300) return std::nullopt;
    return it->second;
  };
  std::vector<ThroughputEval> out;
  enum { kInactive, kPending, kFiring } state = kInactive;
  int64_t active_at = 0;
  int64_t keep_since = -1;  // first evaluation kept firing without the condition; -1: none
  double value = 0;
  for (int64_t t = 0; t <= end; t += ei) {
    if (auto x = ExtrapolatedRate(v, 60, t, 300)) rate5m[t] = *x;
    if (auto x = ExtrapolatedRate(v, 60, t, r.window)) rate_s[t] = *x;
    const auto shortw = at(rate_s, t);
    std::optional<double> ref;
    if (r.hour) {
      // avg_over_time over the closed range [t - offset - 1h, t - offset] (Prometheus 2.x).
      double sum = 0;
      int n = 0;
      for (auto it = rate5m.lower_bound(t - r.offset - 3600);
           it != rate5m.end() && it->first <= t - r.offset; ++it) {
        sum += it->second;
        ++n;
      }
      if (n > 0) ref = sum / n;
    } else {
      ref = at(rate_s, t - 86400);
    }
    const bool cond =
        shortw && ref && *shortw < r.keep * *ref && (r.min_rate <= 0 || *ref >= r.min_rate);
    if (cond) {
      if (state == kInactive) {
        state = kPending;
        active_at = t;
      }
      keep_since = -1;
      value = *shortw;
    } else if (state == kFiring && r.keep_firing_s > 0) {
      if (keep_since < 0) keep_since = t;
      if (t - keep_since >= r.keep_firing_s) state = kInactive;
    } else {
      state = kInactive;
    }
    if (state == kPending && t - active_at >= r.for_s) state = kFiring;
    out.push_back({t, cond, state == kFiring, value});
  }
  return out;
}

// Candidate scenarios for killing burn-rate mutants, cheapest first: phase 0 is the clean
// lead-in (padded later), the others the incident. Every family puts a bad-share level that
// is a multiple of a pair's threshold into that pair's short window only (a spike), its whole
// long window, or its long window but not the short ones of any pair (a recovered incident).
std::vector<std::pair<std::string, std::vector<BurnPhase>>> BurnCandidates(
    const std::map<Severity, std::vector<BurnCond>>& rules, int64_t interval) {
  std::vector<std::pair<std::string, std::vector<BurnPhase>>> out;
  auto dur = [&](int64_t samples) { return FormatDuration(Seconds(samples * interval)); };
  for (const auto& [sev, conds] : rules) {
    int64_t max_long = 0, max_short = 0;
    for (const BurnCond& c : conds) {
      max_long = std::max(max_long, c.long_s / interval);
      max_short = std::max(max_short, c.short_s / interval);
    }
    for (const BurnCond& c : conds) {
      const int64_t l = c.long_s / interval, sh = c.short_s / interval;
      std::vector<double> levels;
      // Up to 16x: a spike of the short window that lifts the long window just past a
      // halved threshold needs a bad share far above the threshold.
      for (double k : {0.75, 1.2, 1.5, 2.2, 3.0, 5.0, 8.0, 12.0, 16.0}) {
        const double r = std::min(1.0, BadEvents(k * c.long_thr) / kBurnEvents);
        if (r > 0 && std::find(levels.begin(), levels.end(), r) == levels.end()) {
          levels.push_back(r);
        }
      }
      for (int64_t pre : {sh, l, max_long}) {
        for (double r : levels) {
          const std::string level = HumanizePercentage(r) + " bad";
          out.push_back({level + " for " + dur(sh) + " after " + dur(pre) + " clean (a spike)",
                         {{0, pre + 1}, {r, sh}}});
          out.push_back(
              {level + " for " + dur(l) + " after " + dur(pre) + " clean", {{0, pre + 1}, {r, l}}});
          for (int64_t e : {sh / 2, sh + 1, max_short + 1}) {
            if (e < 1 || l - e <= 0) continue;
            out.push_back({level + " for " + dur(l - e) + " after " + dur(pre) +
                               " clean, then clean for " + dur(e) + " (recovered)",
                           {{0, pre + 1}, {r, l - e}, {0, e}}});
            // A burst after a pause: the short window sees 1.5x its threshold, twice the short
            // window only 0.75x (catches a doubled short window).
            if (l > 2 * sh + 1) {
              const double burst = std::min(1.0, BadEvents(1.5 * c.short_thr) / kBurnEvents);
              out.push_back({level + " for " + dur(l - 2 * sh) + ", clean for " + dur(sh) +
                                 ", then " + HumanizePercentage(burst) + " bad for " + dur(sh) +
                                 " (a new burst)",
                             {{0, pre + 1}, {r, l - 2 * sh}, {0, sh}, {burst, sh}}});
            }
            // Partly recovered: the short window's share falls just below its threshold.
            const double part = BadEvents(0.7 * c.short_thr) / kBurnEvents;
            out.push_back({level + " for " + dur(l - e) + " after " + dur(pre) + " clean, then " +
                               HumanizePercentage(part) + " bad for " + dur(e) +
                               " (partly recovered)",
                           {{0, pre + 1}, {r, l - e}, {part, e}}});
          }
        }
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    int64_t na = 0, nb = 0;
    for (const BurnPhase& p : a.second) na += p.samples;
    for (const BurnPhase& p : b.second) nb += p.samples;
    return na < nb;
  });
  return out;
}

std::string Duration(int64_t seconds) {
  return seconds == 0 ? "0s" : FormatDuration(Seconds(seconds));
}

// Scenarios that need more than this much evaluated time go to the `.long` test file, which
// promtool evaluates at kLongEvalInterval (evaluating days at the tier's interval of seconds
// would take minutes).
constexpr int64_t kLongScenario = 6 * 3600;
// Labelled predictions behind CalibrationDrift's cases (see Spec).
constexpr double kCalibrationN = 1600;
constexpr Seconds kLongEvalInterval{600};

enum class TestSet { kFast, kLong, kSlo };

// The input sample interval of burn-rate scenarios: the largest whole-minute interval that
// divides every window, so that windows start and end on samples.
// A burn-rate rule changed in one place: a pair's long or short window dropped, its threshold
// or its length halved or doubled. The scenarios must tell each apart from the rule.
struct BurnMutant {
  Severity sev;
  std::vector<BurnCond> conds;
  std::string what;
};

std::vector<BurnMutant> BurnMutants(const std::map<Severity, std::vector<BurnCond>>& original) {
  std::vector<BurnMutant> mutants;
  for (const auto& entry : original) {
    // Plain variables, not structured bindings: the lambda below captures them (which clang
    // before 16 refuses for bindings).
    const Severity sev = entry.first;
    const std::vector<BurnCond>& conds = entry.second;
    for (std::size_t i = 0; i < conds.size(); ++i) {
      for (int side = 0; side < 2; ++side) {
        const std::string which =
            std::string(side == 0 ? "long" : "short") + " window of pair " + std::to_string(i + 1);
        auto mut = [&](auto f, const std::string& what) {
          std::vector<BurnCond> c = conds;
          f(c[i]);
          mutants.push_back({sev, c, what + " " + which});
        };
        mut([&](BurnCond& c) { (side == 0 ? c.use_long : c.use_short) = false; }, "no");
        for (double k : {0.5, 2.0}) {
          mut([&](BurnCond& c) { (side == 0 ? c.long_thr : c.short_thr) *= k; },
              "threshold x" + FormatNumber(k) + " on the");
          mut(
              [&](BurnCond& c) {
                int64_t& w = side == 0 ? c.long_s : c.short_s;
                w = static_cast<int64_t>(static_cast<double>(w) * k);
              },
              "x" + FormatNumber(k) + " on the");
        }
      }
    }
  }
  return mutants;
}

// A burn-rate scenario chosen: what it shows, its phases, when it checks, its sample interval.
struct BurnChoice {
  std::string what;
  std::vector<BurnPhase> phases;
  std::vector<int64_t> checks;
  int64_t interval = 0;
};

// The results of the costly searches and simulations by their arguments, shared by the models
// of one run, whose tests may be built on several threads at once: ChooseBurns' (see
// CachedBurns) and SimulateThroughput's (see CachedThroughput). A fleet has few distinct
// arguments (SLO shapes; throughput settings and tiers), so most models find theirs here.
struct BurnCache {
  std::mutex mu;
  std::map<std::string, std::vector<BurnChoice>> choices;
  std::map<std::string, std::shared_ptr<const std::vector<ThroughputEval>>> throughput;
};

// Pads the clean lead-in (phase 0, at least its given length) so that the data ends on an
// evaluation, every `step` samples.
std::vector<BurnPhase> AlignedBurn(std::vector<BurnPhase> ph, int64_t step) {
  int64_t n = -1;
  for (const BurnPhase& p : ph) n += p.samples;
  ph[0].samples += (step - n % step) % step;
  return ph;
}

int64_t BurnSampleInterval(const std::vector<BurnWindow>& windows) {
  int64_t minutes = 0;
  for (const BurnWindow& w : windows) {
    minutes = std::gcd(minutes, w.long_length.count() / 60);
    minutes = std::gcd(minutes, w.short_length.count() / 60);
  }
  return std::max<int64_t>(minutes, 1) * 60;
}

// The evaluation interval of tests/<model>.slo.test.yml: 12 hours (or the next multiple of
// the sample interval). The burn-rate alerts have no `for`, so only the evaluations at the
// checked times decide a test; every other step is paid for nothing. The calm scenario spans
// a whole SLO period (up to 30 days): at 6 hours it took 121 steps, about 40 % of a 30-day
// SLO test's CPU; at 12 hours it takes 61, and the scenario search still finds a killing scenario
// for every burn-rate mutant (docs/rulegen.md, *Performance*).
Seconds SloEvalInterval(const ModelConfig& m, const TierDefaults& tier) {
  return Seconds(std::lcm(int64_t{12 * 3600}, BurnSampleInterval(BurnWindows(
                                                  m.slo->period, tier.evaluation_interval))));
}

class ModelTestBuilder {
 public:
  // `burn_cache` keeps the burn-rate scenario choices across the builders of one Emit.
  ModelTestBuilder(const ModelConfig& m, const FleetConfig& fleet, const RuleFile& rules,
                   Seconds eval_interval, TestSet set, BurnCache& burn_cache)
      : m_(m), tier_(fleet.Tier(m.tier)), rules_(rules), set_(set), burn_cache_(burn_cache) {
    ei_ = eval_interval.count();
    step_ = std::lcm(ei_, int64_t{60});
    for (const RuleGroup& g : rules_.groups) {
      for (const AlertRule& a : g.alerts) by_name_[a.name].push_back(&a);
    }
  }

  std::vector<Scenario> Build() {
    std::vector<Scenario> out;
    for (const std::string& name : AlertCatalogue()) {
      auto it = by_name_.find(name);
      if (it == by_name_.end()) continue;
      const auto& rules = it->second;
      if (name == "HighErrorRate" || name == "HighLatency") {
        if (set_ == TestSet::kSlo) BurnRate(name, rules, out);
        continue;
      }
      if (set_ == TestSet::kSlo) continue;
      if (name == "LowThroughput") {
        LowThroughput(rules, out);
        continue;
      }
      const bool is_long = IsLong(name, rules);
      if (set_ == TestSet::kFast && is_long) {
        ShortSilent(name, rules, out);
        continue;
      }
      if (set_ == TestSet::kLong && !is_long) continue;
      if (name == "ModelDown") {
        ModelDown(rules, out);
      } else if (name == "PerformanceBelowRetrainThreshold") {
        Retrain(rules, Spec(name), out);
      } else if (name == "FeatureDrift") {
        const std::size_t first = out.size();
        FeatureDrift(rules, out);
        PackScenarios(name, out, first);
      } else {
        GaugeScenarios(name, rules, Spec(name), out);
        if (name == "PositiveRateShift") PositiveRateEchoScenarios(rules, out);
        if (name == "PredictionDrift" || name == "FeatureMissing") {
          BelowNoiseScenario(name, rules, Spec(name), out);
        }
        if (name == "CalibrationDrift") CalibrationNoiseScenario(rules, Spec(name), out);
        if (name == "DegradationScore") DegradationTrendScenarios(rules, Spec(name), out);
      }
    }
    return out;
  }

 private:
  // True if exercising the alert needs more than kLongScenario of evaluated time.
  bool IsLong(const std::string& name, const std::vector<const AlertRule*>& rules) const {
    if ((name == "ConfidenceDrop" || name == "EntropyRise") && m_.drift.windows.size() == 1) {
      return true;  // compares with one day earlier
    }
    return std::max(rules.front()->for_duration, rules.front()->sustain).count() +
               rules.front()->keep_firing_for.count() >
           kLongScenario;
  }

  // Packs the scenarios out[first..] of `alertname` that have the same input interval and are
  // checked at the same times (alert checks only) into one test group each: every scenario's
  // input series get a `scenario` label of their own (s1, s2, …), and each check expects the
  // union of the scenarios' alerts, each with its scenario's label. promtool then evaluates
  // the rules once per step for all of them, and opens one test storage instead of one per
  // scenario (docs/rulegen.md, *Performance*). Only for alerts whose every rule compares
  // series one by one (no aggregation, `and` matching on all labels): a scenario's alerts
  // are then the same alone or packed, under the original rules and under every mutant, so
  // the packed group fails exactly when one of its scenarios would have. The order of the
  // groups is kept (a pack stands where its first scenario stood).
  static void PackScenarios(const std::string& alertname, std::vector<Scenario>& out,
                            std::size_t first) {
    using Key = std::pair<int, std::vector<int64_t>>;
    std::map<Key, std::vector<std::size_t>> members;
    std::vector<Scenario> kept;             // not packable: as they are, in place
    std::vector<std::optional<Key>> place;  // per output slot: a pack's key, or none
    for (std::size_t i = first; i < out.size(); ++i) {
      Scenario& s = out[i];
      bool packable = s.expr_checks.empty() && !s.checks.empty();
      std::vector<int64_t> times;
      for (const Check& c : s.checks) {
        packable = packable && c.alertname == alertname;
        times.push_back(c.at);
      }
      for (const InputSeries& in : s.series) packable = packable && !in.labels.count("scenario");
      if (!packable) {
        place.emplace_back(std::nullopt);
        kept.push_back(std::move(s));
        continue;
      }
      Key key{s.interval_minutes, std::move(times)};
      auto [it, added] = members.try_emplace(key);
      if (added) place.emplace_back(key);
      it->second.push_back(i);
    }
    std::vector<Scenario> packed;
    std::size_t next_kept = 0;
    for (const auto& slot : place) {
      if (!slot) {
        packed.push_back(std::move(kept[next_kept++]));
        continue;
      }
      const std::vector<std::size_t>& idx = members.at(*slot);
      if (idx.size() == 1) {
        packed.push_back(std::move(out[idx.front()]));
        continue;
      }
      Scenario p{alertname + ": " + std::to_string(idx.size()) +
                     " scenarios told apart by their `scenario` label:",
                 {},
                 {}};
      p.interval_minutes = slot->first;
      for (const Check& c : out[idx.front()].checks) p.checks.push_back({c.at, c.alertname, {}});
      for (std::size_t k = 0; k < idx.size(); ++k) {
        Scenario& s = out[idx[k]];
        const std::string label = "s" + std::to_string(k + 1);
        std::string what = s.name;
        if (what.rfind(alertname, 0) == 0) what.erase(0, alertname.size());
        if (!what.empty() && what.front() == ':') what.erase(0, 1);
        if (!what.empty() && what.front() == ' ') what.erase(0, 1);
        p.name += (k == 0 ? " " : "; ") + label + ": " + what;
        p.length = std::max(p.length, s.length);
        for (InputSeries& in : s.series) {
          in.labels["scenario"] = label;
          p.series.push_back(std::move(in));
        }
        for (std::size_t j = 0; j < s.checks.size(); ++j) {
          for (ExpectedAlert& a : s.checks[j].alerts) {
            a.labels["scenario"] = label;
            p.checks[j].alerts.push_back(std::move(a));
          }
        }
      }
      packed.push_back(std::move(p));
    }
    out.resize(first);
    for (Scenario& s : packed) out.push_back(std::move(s));
  }

  // For the fast file: a cheap silent case of a long alert (its firing case is in the long
  // file): the condition holds for less than `for`, or yesterday's traffic is unknown.
  void ShortSilent(const std::string& name, const std::vector<const AlertRule*>& rules,
                   std::vector<Scenario>& out) const {
    const GaugeSpec g = Spec(name);
    const int minutes = static_cast<int>(
        std::min<int64_t>(std::max(rules.front()->for_duration, rules.front()->sustain).count() / 2,
                          3600) /
        60);
    std::vector<Phase> phases = {{g.normal, 10}, {g.ticket, minutes}, {g.normal, 5}};
    Scenario s{name + ": condition holds for " + std::to_string(minutes) +
                   "m, less than `for` (firing case in the long test file)",
               Inputs(g, phases),
               {}};
    s.checks.push_back({FloorTo((10 + minutes) * 60 - 60, step_), name, {}});
    s.checks.push_back({FloorTo((15 + minutes) * 60 - 60, step_), name, {}});
    out.push_back(std::move(s));
  }

  Labels Base() const { return {{"model", m_.name}}; }
  std::string DriftWindow() const {
    const auto w = SortedDriftWindows(m_);
    return w.empty() ? "1h" : w.front().label;
  }
  // CalibrationDrift's other inputs: the baseline's ECE and the labelled predictions behind
  // the window's value, both constant.
  std::function<std::vector<InputSeries>(const std::vector<Phase>&)> CalibrationInputs(
      double base, double n) const {
    return [this, base, n](const std::vector<Phase>& phases) {
      int minutes = 0;
      for (const Phase& p : phases) minutes += p.minutes;
      return std::vector<InputSeries>{
          {metric::kModelBaselinePerformance.Name(),
           {{"model", m_.name}, {"metric", "ece"}},
           {{base, minutes}}},
          {metric::kModelPerformanceSamples.Name(),
           {{"model", m_.name}, {"version", "v1"}, {"window", GtWindow()}},
           {{n, minutes}}}};
    };
  }

  // CalibrationDrift on a small labelled window: an ECE rise that fires at kCalibrationN
  // labelled predictions is within sampling noise at 100 and stays silent.
  void CalibrationNoiseScenario(const std::vector<const AlertRule*>& rules, GaugeSpec g,
                                std::vector<Scenario>& out) const {
    const AlertRule& r = *rules.front();
    const double base = 0.1;
    const double rise = (*r.threshold + kCalibrationNoise / std::sqrt(100.0)) - 0.02;
    g.extra = CalibrationInputs(base, 100);
    const int hold = Minutes(r.for_duration) + static_cast<int>(3 * step_ / 60) + 5;
    const std::vector<Phase> phases = {{g.normal, g.pre}, {base + rise, hold}};
    Scenario s{"CalibrationDrift: ECE " + FormatNumber(rise) +
                   " above the baseline's on only 100 labelled predictions (noise): silent",
               Inputs(g, phases),
               {}};
    s.checks.push_back({FloorTo(int64_t{g.pre + hold} * 60 - 60, step_), r.name, {}});
    out.push_back(std::move(s));
  }

  // DegradationScore's trend word, two hours into a rise: a jump from normal straight to the
  // page level after two calm hours (accelerating), and the same rise in two equal hourly
  // steps (steady).
  void DegradationTrendScenarios(const std::vector<const AlertRule*>& rules, const GaugeSpec& g,
                                 std::vector<Scenario>& out) const {
    const double high = g.page ? *g.page : g.ticket;
    const AlertRule& r = *rules.front();
    const int hold = Minutes(r.for_duration) + static_cast<int>(3 * step_ / 60) + 5;
    for (bool steady : {false, true}) {
      std::vector<Phase> phases = steady
                                      ? std::vector<Phase>{{g.normal, 60},
                                                           {g.normal + (high - g.normal) / 2, 60},
                                                           {high, hold}}
                                      : std::vector<Phase>{{g.normal, 120}, {high, hold}};
      const int64_t t = FloorTo(int64_t{120 + hold} * 60 - 60, step_);
      Scenario s{std::string("DegradationScore: ") +
                     (steady ? "a rise in two equal hourly steps (steady)"
                             : "a jump after two calm hours (accelerating)"),
                 Inputs(g, phases),
                 {}};
      s.checks.push_back({t, r.name, Firing(rules, g, high, t, phases)});
      out.push_back(std::move(s));
    }
  }

  std::string GtWindow() const {
    const auto& w = m_.ground_truth->windows;
    return w.empty() ? "30d" : w.front().label;
  }

  // Thresholds of the ticket and page rules of an alertname.
  static std::optional<double> ThresholdOf(const std::vector<const AlertRule*>& rules, Severity s) {
    for (const AlertRule* a : rules) {
      if (a->severity == s) return a->threshold;
    }
    return std::nullopt;
  }

  // Levels between/above thresholds for ">" style alerts.
  // The drift alerts' `<metric>_critical_value` input: constant at `level` (the exporter's
  // noise floor at the window's size).
  std::function<std::vector<InputSeries>(const std::vector<Phase>&)> CriticalValue(
      const GaugeSpec& g, double level) const {
    const std::string metric = g.metric + "_critical_value";
    const Labels labels = g.labels;
    return [metric, labels, level](const std::vector<Phase>& phases) {
      return std::vector<InputSeries>{{metric, labels, {{level, TotalMinutes(phases)}}, false}};
    };
  }

  // PositiveRateShift's page on the longest window with the shortest window at 3 (the shift
  // still under way: page) and at 1.4 (an echo of a recovered shift: no page); the longest
  // window's ticket fires either way. 3 and 1.4 lie within a factor of two of the short
  // window's 2, so that halving or doubling it fails a case.
  void PositiveRateEchoScenarios(const std::vector<const AlertRule*>& rules,
                                 std::vector<Scenario>& out) const {
    const auto windows = SortedDriftWindows(m_);
    const AlertRule* ticket = nullptr;
    const AlertRule* page = nullptr;
    for (const AlertRule* a : rules) (a->severity == Severity::kPage ? page : ticket) = a;
    if (windows.size() < 2 || ticket == nullptr || page == nullptr) return;
    const Labels long_window = {
        {"model", m_.name}, {"version", "v1"}, {"window", windows.back().label}};
    Labels short_window = long_window;
    short_window["window"] = windows.front().label;
    const int hold = Minutes(page->for_duration) + static_cast<int>(3 * step_ / 60) + 5;
    for (const double now : {3.0, 1.4}) {
      Scenario s{"PositiveRateShift: |z| 6 over " + windows.back().label + ", " +
                     FormatNumber(now) + " over " + windows.front().label +
                     (now > 2 ? ": page" : ": an echo, ticket only"),
                 {{metric::kModelPositiveRateZscore.Name(), long_window, {{6, hold}}, false},
                  {metric::kModelPositiveRateZscore.Name(), short_window, {{now, hold}}, false}},
                 {}};
      Check c{FloorTo(int64_t{hold} * 60 - 60, step_), "PositiveRateShift", {}};
      c.alerts.push_back(Expect(*ticket, long_window, 6));
      if (now > 2) {
        c.alerts.push_back(Expect(*ticket, short_window, now));
        c.alerts.push_back(Expect(*page, long_window, 6));
      }
      s.checks.push_back(std::move(c));
      out.push_back(std::move(s));
    }
  }

  // Drift above the page threshold for well over `for`, but below the critical value (a small
  // window, where such values are sampling noise): silent throughout.
  void BelowNoiseScenario(const std::string& name, const std::vector<const AlertRule*>& rules,
                          GaugeSpec g, std::vector<Scenario>& out) const {
    const AlertRule& r = *rules.front();
    const double high = g.page ? *g.page : g.ticket;
    g.extra = CriticalValue(g, high * 2);
    const int hold = Minutes(r.for_duration) + static_cast<int>(3 * step_ / 60) + 5;
    const std::vector<Phase> phases = {{g.normal, g.pre}, {high, hold}};
    Scenario s{name + ": drift " + FormatNumber(high) +
                   " above the thresholds but below the critical value " + FormatNumber(high * 2) +
                   " (small window): silent",
               Inputs(g, phases),
               {}};
    s.checks.push_back({FloorTo(int64_t{g.pre + hold} * 60 - 60, step_), name, {}});
    out.push_back(std::move(s));
  }

  // A feature with `alert: false` drifting far above the page threshold and the noise level
  // stays silent (its drift is still exported). One case, for the first such feature.
  void MutedFeatureScenario(const std::vector<const AlertRule*>& rules, GaugeSpec g,
                            std::vector<Scenario>& out) const {
    auto muted = std::find_if(m_.features.begin(), m_.features.end(), [&](const FeatureConfig& f) {
      return !f.alert && !f.pii && MethodApplies(m_.drift.method, f.type);
    });
    if (muted == m_.features.end()) return;
    g.labels["feature"] = muted->name;
    g.labels["method"] = DriftMethodName(m_.drift.method);
    g.labels["window"] = DriftWindow();
    const double high = g.page ? *g.page : g.ticket;
    out.push_back(SilentDrift(rules, g, high,
                              "FeatureDrift: feature " + muted->name +
                                  " (alert: false) drifting at " + FormatNumber(high) +
                                  ", above the page threshold: silent"));
  }

  // `g`'s series at `level` for well over `for`, above the noise level (critical value
  // normal / 2): no FeatureDrift alert at the end.
  Scenario SilentDrift(const std::vector<const AlertRule*>& rules, GaugeSpec g, double level,
                       const std::string& what) const {
    g.extra = CriticalValue(g, g.normal / 2);
    const int hold = Minutes(rules.front()->for_duration) + static_cast<int>(3 * step_ / 60) + 5;
    const std::vector<Phase> phases = {{g.normal, g.pre}, {level, hold}};
    Scenario s{what, Inputs(g, phases), {}};
    s.checks.push_back({FloorTo(int64_t{g.pre + hold} * 60 - 60, step_), "FeatureDrift", {}});
    return s;
  }

  // FeatureDrift's rules split by the features they watch: the model-wide rules (features
  // empty) and one group per set of per-feature settings, in rule order.
  static std::vector<std::vector<const AlertRule*>> FeatureDriftGroups(
      const std::vector<const AlertRule*>& rules) {
    std::vector<std::vector<const AlertRule*>> groups;
    for (const AlertRule* a : rules) {
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const auto& v) { return v.front()->features == a->features; });
      if (g == groups.end()) {
        groups.push_back({a});
      } else {
        g->push_back(a);
      }
    }
    return groups;
  }

  // The feature a FeatureDrift rule group is exercised on: the first it watches (the
  // model-wide group: the first feature on the model's settings).
  const FeatureConfig& GroupFeature(const std::vector<const AlertRule*>& group) const {
    for (const FeatureConfig& f : m_.features) {
      if (group.front()->features.empty()
              ? FeatureDriftAlerts(m_, f) && !EffectiveFeatureDrift(m_.drift, f).overridden
              : f.name == group.front()->features.front()) {
        return f;
      }
    }
    throw std::logic_error("FeatureDrift rule group without a feature");
  }

  GaugeSpec FeatureSpec(const std::vector<const AlertRule*>& group) const {
    const FeatureConfig& f = GroupFeature(group);
    const FeatureDriftSettings s = EffectiveFeatureDrift(m_.drift, f);
    const Window* shortest = &s.windows.front();
    for (const Window& w : s.windows) {
      if (w.length < shortest->length) shortest = &w;
    }
    GaugeSpec g;
    g.metric = metric::kModelFeatureDrift.Name();
    g.labels = {{"model", m_.name},
                {"feature", f.name},
                {"method", DriftMethodName(s.method)},
                {"window", shortest->label}};
    g.alert_labels = g.labels;
    AboveLevels(*ThresholdOf(group, Severity::kTicket), ThresholdOf(group, Severity::kPage), g);
    g.extra = CriticalValue(g, g.normal / 2);
    return g;
  }

  // FeatureDrift: per rule group (model-wide, then each set of per-feature settings) the
  // gauge cases and the noise case; for features with their own settings also: a level where
  // the model's thresholds and the feature's give different alerts (checked against a
  // model-wide feature at the same level when there is one), a window the feature's settings
  // leave out, and the model's method on that feature: silent.
  void FeatureDrift(const std::vector<const AlertRule*>& rules, std::vector<Scenario>& out) const {
    const auto groups = FeatureDriftGroups(rules);
    const std::vector<const AlertRule*>* model_wide =
        groups.front().front()->features.empty() ? &groups.front() : nullptr;
    for (const auto& group : groups) {
      const GaugeSpec g = FeatureSpec(group);
      const std::size_t first = out.size();
      GaugeScenarios("FeatureDrift", group, g, out);
      BelowNoiseScenario("FeatureDrift", group, g, out);
      if (group.front()->features.empty()) continue;
      std::string who;
      for (const std::string& f : group.front()->features) who += (who.empty() ? "" : ", ") + f;
      for (std::size_t i = first; i < out.size(); ++i) {
        out[i].name.insert(std::string("FeatureDrift").size(), " (own settings of " + who + ")");
      }
      OwnSettingsScenarios(group, g, model_wide, out);
    }
    // Muted features are on the model's method: levels of the model-wide rules where known.
    MutedFeatureScenario(rules, FeatureSpec(model_wide ? *model_wide : groups.front()), out);
  }

  void OwnSettingsScenarios(const std::vector<const AlertRule*>& group, const GaugeSpec& g,
                            const std::vector<const AlertRule*>* model_wide,
                            std::vector<Scenario>& out) const {
    const FeatureConfig& f = GroupFeature(group);
    const FeatureDriftSettings s = EffectiveFeatureDrift(m_.drift, f);
    const DriftConfig& d = m_.drift;
    const std::string own = "the feature's own settings (" +
                            std::string(DriftMethodName(s.method)) + ", warn " +
                            FormatNumber(s.warn) + ", critical " + FormatNumber(s.critical) + ")";
    const std::string model = "the model's (warn " + FormatNumber(d.warn) + ", critical " +
                              FormatNumber(d.critical) + ")";
    std::vector<double> levels;
    if (s.warn != d.warn) levels.push_back((s.warn + d.warn) / 2);
    if (s.critical != d.critical) levels.push_back((s.critical + d.critical) / 2);
    auto said = [](double level, double warn, double critical) {
      return std::string(level >= critical ? "a page" : level >= warn ? "a ticket" : "nothing");
    };
    for (double level : levels) {
      Scenario s1 = StepScenario("FeatureDrift", group, g, level,
                                 "feature " + f.name + " at " + FormatNumber(level) + ": " + own +
                                     " give " + said(level, s.warn, s.critical) + ", " + model +
                                     " " + said(level, d.warn, d.critical));
      if (model_wide != nullptr) {
        // The same level on a feature on the model's settings: its alerts, beside the other's.
        GaugeSpec gd = FeatureSpec(*model_wide);
        gd.labels["window"] = g.labels.at("window");
        gd.alert_labels = gd.labels;
        gd.extra = CriticalValue(gd, gd.normal / 2);
        Scenario s2 = StepScenario("FeatureDrift", *model_wide, gd, level, "");
        if (s2.checks.size() == s1.checks.size()) {
          for (auto& in : s2.series) s1.series.push_back(std::move(in));
          for (std::size_t i = 0; i < s1.checks.size(); ++i) {
            for (auto& a : s2.checks[i].alerts) s1.checks[i].alerts.push_back(std::move(a));
          }
          s1.name += " (feature " + gd.labels.at("feature") + " beside it, on the model's)";
        }
      }
      out.push_back(std::move(s1));
    }
    const double high = g.page ? *g.page : g.ticket;
    for (const Window& w : d.windows) {
      if (std::any_of(s.windows.begin(), s.windows.end(),
                      [&](const Window& o) { return o.label == w.label; })) {
        continue;
      }
      GaugeSpec gw = g;
      gw.labels["window"] = w.label;
      out.push_back(SilentDrift(group, gw, high,
                                "FeatureDrift: feature " + f.name + " at " + FormatNumber(high) +
                                    " over " + w.label +
                                    ", a window its own settings leave out: silent"));
      break;
    }
    if (s.method != d.method && MethodApplies(d.method, f.type)) {
      GaugeSpec gm = g;
      gm.labels["method"] = DriftMethodName(d.method);
      const double level = std::max(high, d.critical * 1.5);
      out.push_back(SilentDrift(group, gm, level,
                                "FeatureDrift: feature " + f.name + " at " + FormatNumber(level) +
                                    " by the model's method " + DriftMethodName(d.method) +
                                    " (it alerts on " + DriftMethodName(s.method) + "): silent"));
    }
  }

  // Levels for an alert that fires above `t` (ticket) and `p` (page). Every threshold gets
  // a level within a factor of two below it where that severity is silent and one within a
  // factor of two above it where it fires, so that a threshold halved or doubled fails a
  // case: normal 0.7 t; ticket 1.4 t (or between t and p when they are close); page 1.5 p;
  // and, when there is room, a ticket-only level at 0.7 p.
  static void AboveLevels(double t, std::optional<double> p, GaugeSpec& g) {
    g.normal = t * 0.7;
    g.ticket = p && t * 1.4 >= *p ? (t + *p) / 2 : t * 1.4;
    if (p) {
      g.page = *p * 1.5;
      if (*p * 0.7 > g.ticket * 1.1 && *p * 0.7 > t) g.below_page = *p * 0.7;
    }
  }

  // EntropyRise against the baseline: the window's mean against the baseline's mean + sigmas x
  // its per-record spread. Normal at 0.7 of the threshold (a halved threshold fires), ticket at
  // 1.5 (a doubled one does not).
  void EntropyBaselineSpec(GaugeSpec& g) const {
    const double mean = 0.8, sd = 0.4, k = m_.entropy.sigmas;
    const auto windows = SortedDriftWindows(m_);
    const std::string window = m_.entropy.window.empty() ? windows.back().label : m_.entropy.window;
    g.metric = metric::kModelPredictionEntropyMean.Name();
    g.labels = {{"model", m_.name}, {"version", "v1"}, {"window", window}};
    g.alert_labels = g.labels;
    g.normal = mean + 0.7 * k * sd;
    g.ticket = mean + 1.5 * k * sd;
    g.value = [mean, sd](double v) { return (v - mean) / sd; };
    g.extra = [this, mean, sd](const std::vector<Phase>& phases) {
      const int minutes = TotalMinutes(phases);
      return std::vector<InputSeries>{{metric::kModelBaselinePredictionEntropyMean.Name(),
                                       {{"model", m_.name}},
                                       {{mean, minutes}},
                                       false},
                                      {metric::kModelBaselinePredictionEntropyStddev.Name(),
                                       {{"model", m_.name}},
                                       {{sd, minutes}},
                                       false}};
    };
  }

  // ConfidenceDrop (`conf`) or EntropyRise against the window's own reference level.
  void RelativeMeanSpec(bool conf, GaugeSpec& g) const {
    const auto windows = SortedDriftWindows(m_);
    const double base = conf ? 0.8 : 1.0;
    g.metric = conf ? metric::kModelPredictionConfidenceMean.Name()
                    : metric::kModelPredictionEntropyMean.Name();
    g.labels = {{"model", m_.name}, {"version", "v1"}, {"window", windows.front().label}};
    g.alert_labels = {{"model", m_.name}, {"version", "v1"}};
    g.normal = base;
    // Confidence: well below the configured share of its reference level.
    g.ticket = conf ? base * m_.confidence_min_ratio * 0.8 : m_.entropy.max_ratio * 1.25;
    g.value = [base](double v) { return v / base; };
    if (windows.size() > 1) {
      const std::string metric = g.metric;
      const std::string long_window = windows.back().label;
      g.extra = [this, metric, long_window, base](const std::vector<Phase>& phases) {
        return std::vector<InputSeries>{
            {metric,
             {{"model", m_.name}, {"version", "v1"}, {"window", long_window}},
             {{base, TotalMinutes(phases)}},
             false}};
      };
    } else {
      g.pre = 24 * 60 + 10;  // compared with the same window one day earlier
    }
  }

  // DegradationScore: its signals beside it, weighted as configured, and the trend the
  // annotation reports.
  void DegradationSpec(double tk, double pg, GaugeSpec& g) const {
    g.metric = metric::kModelDegradationScore.Name();
    // As scraped: the instance label names the exporter the sample link points to.
    g.labels = {{"model", m_.name}, {"version", "v1"}, {"instance", "exporter-1:9841"}};
    g.normal = tk / 2;
    g.ticket = (tk + pg) / 2;
    g.page = std::min(100.0, (pg + 100) / 2);
    g.pre = 70;  // so that the score one hour before the alert is known
    const auto weights = m_.degradation.weights;
    g.extra = [this, weights](const std::vector<Phase>& phases) {
      std::vector<InputSeries> out;
      for (const auto& [signal, w] : weights) {
        InputSeries s{metric::kModelDegradationSignal.Name(),
                      {{"model", m_.name}, {"version", "v1"}, {"signal", signal}},
                      {},
                      false};
        for (const Phase& p : phases) s.phases.push_back({w * p.value, p.minutes});
        out.push_back(std::move(s));
      }
      return out;
    };
    g.context = [weights](int64_t t, const std::vector<Phase>& phases) {
      RenderContext c;
      const double now = GaugeAt(phases, t);
      for (const auto& [signal, w] : weights) {
        if (!c.signals.empty()) c.signals += ", ";
        c.signals += signal + " " + GoFormat("%.1f", w * now);
      }
      if (t >= 3600) c.trend = GoFormat("%+.1f", now - GaugeAt(phases, t - 3600));
      if (t >= 7200) {
        const double hour_ago = GaugeAt(phases, t - 3600);
        const double change = (now - hour_ago) - (hour_ago - GaugeAt(phases, t - 7200));
        c.trend += change > kTrendPoints    ? ", accelerating"
                   : change < -kTrendPoints ? ", easing"
                                            : ", steady";
      }
      return c;
    };
  }

  GaugeSpec Spec(const std::string& name) const {
    const auto& rules = by_name_.at(name);
    const auto tk = ThresholdOf(rules, Severity::kTicket);
    const auto pg = ThresholdOf(rules, Severity::kPage);
    GaugeSpec g;
    g.labels = Base();
    const std::string method = DriftMethodName(m_.drift.method);
    if (name == "FeatureDrift") {
      return FeatureSpec(FeatureDriftGroups(rules).front());
    } else if (name == "PredictionDrift") {
      g.metric = metric::kModelPredictionDrift.Name();
      g.labels = {
          {"model", m_.name}, {"version", "v1"}, {"method", method}, {"window", DriftWindow()}};
      AboveLevels(*tk, pg, g);
      g.extra = CriticalValue(g, g.normal / 2);
    } else if (name == "FeatureMissing") {
      // The first feature the alert watches (not PII, not muted).
      std::string feature;
      for (const FeatureConfig& f : m_.features) {
        if (!f.pii && f.alert) {
          feature = f.name;
          break;
        }
      }
      g.metric = metric::kModelFeatureMissingRatioShift.Name();
      g.labels = {{"model", m_.name}, {"feature", feature}, {"window", DriftWindow()}};
      AboveLevels(*tk, pg, g);
      g.extra = CriticalValue(g, g.normal / 2);
    } else if (name == "PositiveRateShift") {
      g.metric = metric::kModelPositiveRateZscore.Name();
      g.labels = {{"model", m_.name}, {"version", "v1"}, {"window", DriftWindow()}};
      g.normal = tk ? *tk * 0.7 : 0.5;  // within a factor of two below the ticket threshold
      g.ticket = -3;                    // a negative shift: the alert compares |z|
      g.page = 6;
      g.value = [](double v) { return std::fabs(v); };
    } else if (name == "EntropyRise" &&
               m_.entropy.Effective(!m_.baseline.empty()) == EntropyCompare::kBaseline) {
      EntropyBaselineSpec(g);
    } else if (name == "ConfidenceDrop" || name == "EntropyRise") {
      RelativeMeanSpec(name == "ConfidenceDrop", g);
    } else if (name == "AnomalousRequests") {
      g.metric = metric::kModelAnomalousRequestsRatio.Name();
      g.labels = {{"model", m_.name}, {"window", DriftWindow()}};
      AboveLevels(*tk, pg, g);
    } else if (name == "DegradationScore") {
      DegradationSpec(*tk, *pg, g);
    } else if (name == "LowLabelMatchRate") {
      g.metric = metric::kModelLabelMatchRatio.Name();
      g.labels = {{"model", m_.name}, {"window", GtWindow()}};
      g.normal = std::min(1.0, (*tk + 1) / 2);
      g.ticket = *tk / 2;
    } else if (name == "PerformanceBelowRetrainThreshold") {
      const RetrainConfig& r = *m_.ground_truth->retrain_when;
      g.metric = metric::kModelPerformance.Name();
      g.labels = {{"model", m_.name},
                  {"version", "v1"},
                  {"metric", r.metric},
                  {"window", r.window.empty() ? GtWindow() : r.window}};
      if (r.above) {
        g.normal = *r.above * 0.7;
        g.ticket = *r.above * 1.5;
      } else {
        g.normal = std::min(1.0, (r.below + 1) / 2);
        g.ticket = r.below / 2;
      }
    } else if (name == "CalibrationDrift") {
      // The labelled ECE with the baseline's and the labelled count beside it. At n = 1600
      // the noise allowance (0.055 at the default coefficient) is as large as the margin, and
      // the levels sit 0.01 either side of their sum, so halving or doubling either number
      // changes the outcome.
      const double base = 0.1;
      const double n = kCalibrationN;
      const double thr = *tk + kCalibrationNoise / std::sqrt(n);
      g.metric = metric::kModelPerformance.Name();
      g.labels = {{"model", m_.name}, {"version", "v1"}, {"metric", "ece"}, {"window", GtWindow()}};
      g.alert_labels = {{"model", m_.name}, {"version", "v1"}, {"window", GtWindow()}};
      g.normal = base + thr - 0.01;
      g.ticket = base + thr + 0.01;
      g.value = [base](double v) { return v - base; };
      g.extra = CalibrationInputs(base, n);
    } else if (name == "ShadowDisagreement") {
      g.metric = metric::kModelShadowAgreementRatio.Name();
      g.labels = {{"model", m_.name},
                  {"champion", m_.shadow->champion},
                  {"challenger", m_.shadow->challenger},
                  {"window", DriftWindow()}};
      g.normal = std::min(1.0, (*tk + 1) / 2);
      g.ticket = *tk / 2;
    } else {
      throw std::logic_error("no promtool test design for alert " + name);
    }
    if (g.alert_labels.empty()) g.alert_labels = g.labels;
    return g;
  }

  std::vector<InputSeries> Inputs(const GaugeSpec& g, const std::vector<Phase>& phases) const {
    std::vector<InputSeries> s{{g.metric, g.labels, phases, false}};
    if (g.extra) {
      for (auto& e : g.extra(phases)) s.push_back(std::move(e));
    }
    return s;
  }

  std::vector<ExpectedAlert> Firing(const std::vector<const AlertRule*>& rules, const GaugeSpec& g,
                                    double level, int64_t t,
                                    const std::vector<Phase>& phases) const {
    std::vector<ExpectedAlert> out;
    const double v = g.value(level);
    const RenderContext ctx = g.context ? g.context(t, phases) : RenderContext{};
    for (const AlertRule* a : rules) {
      if (Holds(*a, v)) out.push_back(Expect(*a, g.alert_labels, v, ctx));
    }
    return out;
  }

  // normal -> level -> normal, checked before, while firing, while kept firing, after.
  Scenario StepScenario(const std::string& name, const std::vector<const AlertRule*>& rules,
                        const GaugeSpec& g, double level, const std::string& what) const {
    // The level promtool reads: the input series carry it as text (FormatNumber, 15
    // significant digits), and the expected annotations must be rendered from the same double
    // (a midpoint such as (0.107 + 0.1) / 2 = 0.10350000000000001 is read back as
    // 0.10349999999999999, which Prometheus renders 0.103, not 0.104).
    level = std::strtod(FormatNumber(level).c_str(), nullptr);
    const AlertRule& r = *rules.front();
    const int64_t for_s = r.for_duration.count();
    const int64_t keep_s = r.keep_firing_for.count();
    const int hold = Minutes(r.for_duration) + static_cast<int>(3 * step_ / 60) + 5;
    const int64_t on = g.pre * 60;
    const int64_t drop = on + int64_t{hold} * 60;
    const int64_t t_on = CeilTo(on, ei_);
    const int64_t t_false = CeilTo(drop, ei_);
    const int64_t t_resolved = CeilTo(t_false + keep_s + ei_, step_);
    const int post = static_cast<int>((t_resolved - drop) / 60) + 5;
    std::vector<Phase> phases = {{g.normal, g.pre}, {level, hold}, {g.normal, post}};
    Scenario s{name + ": " + what + ", then back to normal", Inputs(g, phases), {}};
    s.checks.push_back({FloorTo(on - 60, step_), name, {}});
    const int64_t t_fire = CeilTo(t_on + for_s + ei_, step_);
    // The alert's annotations were last rendered at the last evaluation that saw the level.
    s.checks.push_back({t_fire, name, Firing(rules, g, level, t_fire, phases)});
    if (const auto t_kept = KeptCheck(t_false, keep_s)) {
      const int64_t last_active = t_false - ei_;
      s.checks.push_back({*t_kept, name, Firing(rules, g, level, last_active, phases)});
    }
    s.checks.push_back({t_resolved, name, {}});
    return s;
  }

  // A check time while the alert is kept firing: the condition cleared at the evaluation
  // t_false, and keep_firing_for holds it while (now - t_false) < keep.
  std::optional<int64_t> KeptCheck(int64_t t_false, int64_t keep_s) const {
    if (keep_s <= 0) return std::nullopt;
    const int64_t mid = CeilTo(t_false + keep_s / 2, step_);
    if (mid < t_false + keep_s) return mid;
    if (t_false % step_ == 0) return t_false;
    return std::nullopt;
  }

  void GaugeScenarios(const std::string& name, const std::vector<const AlertRule*>& rules,
                      const GaugeSpec& g, std::vector<Scenario>& out) const {
    out.push_back(StepScenario(name, rules, g, g.ticket, "ticket level " + FormatNumber(g.ticket)));
    if (g.page) {
      out.push_back(StepScenario(name, rules, g, *g.page, "page level " + FormatNumber(*g.page)));
    }
    if (g.below_page) {
      out.push_back(StepScenario(name, rules, g, *g.below_page,
                                 "level " + FormatNumber(*g.below_page) + ", below the page"));
    }
    // Silent: normal values, with a spike shorter than `for` when `for` allows one.
    const AlertRule& r = *rules.front();
    const int64_t for_s = r.for_duration.count();
    int spike = static_cast<int>((for_s - 2 * ei_) / 60) - 1;
    if (for_s > kLongScenario) spike = std::min(spike, static_cast<int>(for_s / 120));
    const double high = g.page ? *g.page : g.ticket;
    std::vector<Phase> phases = {{g.normal, g.pre}};
    Scenario s{name + ": normal values" +
                   (spike >= 1 ? ", and a spike shorter than `for`" : std::string()),
               {},
               {}};
    int64_t end = g.pre * 60;
    if (spike >= 1) {
      phases.push_back({high, spike});
      phases.push_back({g.normal, 10});
      const int64_t spike_end = (g.pre + spike) * 60;
      s.checks.push_back({FloorTo(spike_end - 60, step_) >= g.pre * 60
                              ? FloorTo(spike_end - 60, step_)
                              : CeilTo(g.pre * 60, step_),
                          name,
                          {}});
      end = spike_end + 10 * 60;
    } else {
      phases.push_back({g.normal, 10});
      end += 10 * 60;
    }
    s.checks.push_back({FloorTo(end - 60, step_), name, {}});
    s.series = Inputs(g, phases);
    out.push_back(std::move(s));
  }

  // PerformanceBelowRetrainThreshold: the condition is a range over retrain_when.for (no
  // `for`), on the owner's window only.
  void Retrain(const std::vector<const AlertRule*>& rules, const GaugeSpec& g,
               std::vector<Scenario>& out) const {
    const AlertRule& r = *rules.front();
    const int64_t sustain = r.sustain.count();
    const int64_t keep_s = r.keep_firing_for.count();
    const int pre = 30;
    // The last normal sample is at minute pre - 1: the range of length `sustain` ending at t
    // holds only bad samples once t - sustain > (pre - 1) min.
    const int64_t last_normal = int64_t{pre - 1} * 60;
    const int64_t t_silent = FloorTo(last_normal + sustain, step_);
    const int64_t t_fire = FloorTo(last_normal + sustain, step_) + step_;
    const int bad = static_cast<int>((t_fire - pre * 60) / 60) + 30;
    const int64_t drop = int64_t{pre + bad} * 60;
    const int64_t t_resolved = CeilTo(CeilTo(drop, ei_) + keep_s + ei_, step_);
    const int post = static_cast<int>((t_resolved - drop) / 60) + 5;
    // A staleness marker in the middle of the bad stretch (a missed scrape): `for` on the raw
    // gauge would restart there; the range condition does not.
    const int half = static_cast<int>(sustain / 120);
    std::vector<Phase> phases = {{g.normal, pre},
                                 {g.ticket, half},
                                 {std::nan(""), 1},
                                 {g.ticket, bad - half - 1},
                                 {g.normal, post}};
    Scenario s{"PerformanceBelowRetrainThreshold: past the threshold for " +
                   FormatDuration(r.sustain) + " with a stale sample half-way, then recovers",
               Inputs(g, phases),
               {}};
    s.checks.push_back({t_silent, r.name, {}});
    s.checks.push_back({t_fire, r.name, Firing(rules, g, g.ticket, t_fire, phases)});
    // The first evaluation that sees a normal sample clears the condition; keep_firing_for
    // holds the alert on.
    const int64_t t_false = CeilTo(drop, ei_);
    if (const auto t_kept = KeptCheck(t_false, keep_s)) {
      s.checks.push_back({*t_kept, r.name, Firing(rules, g, g.ticket, t_false - ei_, phases)});
    }
    s.checks.push_back({t_resolved, r.name, {}});
    out.push_back(std::move(s));
    // Another ground-truth window past the threshold: only the owner's window alerts.
    for (const Window& w : m_.ground_truth->windows) {
      if (w.label == g.labels.at("window")) continue;
      GaugeSpec other = g;
      other.labels["window"] = w.label;
      std::vector<Phase> ph = {{g.normal, pre}, {g.ticket, bad}};
      Scenario o{"PerformanceBelowRetrainThreshold: window " + w.label +
                     " (not retrain_when's) past the threshold, silent",
                 Inputs(other, ph),
                 {}};
      o.checks.push_back({t_fire, r.name, {}});
      out.push_back(std::move(o));
      break;
    }
    // A series younger than `for`, past the threshold from its first sample: silent until it
    // has existed for about `for` (the range must reach back to its first hour).
    std::vector<Phase> young = {{g.ticket, bad + pre}};
    Scenario y{
        "PerformanceBelowRetrainThreshold: a new series past the threshold from its "
        "start, silent for half of " +
            FormatDuration(r.sustain),
        Inputs(g, young),
        {}};
    y.checks.push_back({FloorTo(sustain / 2, step_), r.name, {}});
    // The age guard looks for a sample in the range's first hour: the series qualifies from
    // `for` - 1h on.
    const int64_t t_old_enough = CeilTo(sustain - 3600, step_);
    if (sustain > 2 * 3600 && t_old_enough < sustain - 1800) {
      y.checks.push_back({t_old_enough, r.name, Firing(rules, g, g.ticket, t_old_enough, young)});
    }
    y.checks.push_back(
        {CeilTo(sustain + ei_, step_), r.name, Firing(rules, g, g.ticket, sustain, young)});
    out.push_back(std::move(y));
  }

  void ModelDown(const std::vector<const AlertRule*>& rules, std::vector<Scenario>& out) const {
    const AlertRule& r = *rules.front();
    const int64_t down = tier_.model_down_after.count();
    const int64_t keep_s = r.keep_firing_for.count();
    const Labels series = {{"model", m_.name}, {"version", "v1"}};
    Labels error_series = series;
    error_series["error_type"] = "timeout";
    const int busy = 30;
    const int flat = static_cast<int>(CeilTo(down + keep_s + 3 * step_, 60) / 60);
    const int64_t resume = int64_t{busy + flat} * 60;
    // The last counted success is at minute busy - 1: the alert holds from
    // (busy - 1) min + down on, and not one evaluation earlier.
    const int64_t t_last_silent = FloorTo((busy - 1) * 60 + down - 1, step_);
    const int64_t t_fire = CeilTo(busy * 60 + down + ei_, step_);
    const int64_t t_resolved = CeilTo(CeilTo(resume, ei_) + keep_s + ei_, step_);
    Scenario a{"ModelDown: predictions stop for longer than " +
                   FormatDuration(tier_.model_down_after) + ", then resume",
               {{metric::kModelPredictionsTotal.Name(),
                 series,
                 {{600, busy}, {0, flat}, {600, 10}},
                 true}},
               {}};
    a.checks.push_back({FloorTo(busy * 60 - 60, step_), "ModelDown", {}});
    a.checks.push_back({t_last_silent, "ModelDown", {}});
    a.checks.push_back({t_fire, "ModelDown", {Expect(r, Base(), 0)}});
    a.checks.push_back({t_resolved, "ModelDown", {}});
    out.push_back(std::move(a));
    // Every request fails: predictions keep being counted, all of them errors (the error
    // counter appears with the first error, as the exporter exports it).
    InputSeries errors_from_busy{
        metric::kModelPredictionErrorsTotal.Name(), error_series, {{600, flat}, {0, 10}}, true};
    errors_from_busy.missing = busy;
    errors_from_busy.start = 600;
    Scenario e{"ModelDown: every request fails (100% errors) for longer than " +
                   FormatDuration(tier_.model_down_after) + ", then recovers",
               {{metric::kModelPredictionsTotal.Name(), series, {{600, busy + flat + 10}}, true},
                errors_from_busy},
               {}};
    e.checks.push_back({t_last_silent, "ModelDown", {}});
    // The last success is counted at minute busy - 1: one evaluation after a whole window
    // of no successes it pages (a doubled window would still see successes).
    const int64_t t_first = CeilTo((busy - 1) * 60 + down + ei_, ei_);
    if (t_first < t_fire) e.checks.push_back({t_first, "ModelDown", {Expect(r, Base(), 0)}});
    e.checks.push_back({t_fire, "ModelDown", {Expect(r, Base(), 0)}});
    // Successes resume at `resume`: the condition clears there and keep_firing_for holds
    // the page on.
    if (const auto t_kept = KeptCheck(CeilTo(resume, ei_), keep_s)) {
      e.checks.push_back({*t_kept, "ModelDown", {Expect(r, Base(), 0)}});
    }
    e.checks.push_back({t_resolved, "ModelDown", {}});
    out.push_back(std::move(e));
    // Half the requests fail: successes continue, no page.
    Scenario h{
        "ModelDown: half the requests fail (successes continue)",
        {{metric::kModelPredictionsTotal.Name(), series, {{600, busy + flat}}, true},
         {metric::kModelPredictionErrorsTotal.Name(), error_series, {{300, busy + flat}}, true}},
        {}};
    h.checks.push_back({FloorTo((busy + flat) * 60 - 60, step_), "ModelDown", {}});
    out.push_back(std::move(h));
    // The series go stale mid-incident (e.g. the exporter stops exporting them): the alert
    // keeps firing without a gap, first on the increase over the samples left in the window,
    // then on absent_over_time.
    {
      InputSeries total{metric::kModelPredictionsTotal.Name(), series, {{600, busy + flat}}, true};
      total.stale = true;
      InputSeries errs = errors_from_busy;
      errs.phases = {{600, flat}};
      errs.stale = true;
      Scenario st{"ModelDown: every request fails, then the series go stale mid-incident",
                  {total, errs},
                  {}};
      const int64_t gone = int64_t{busy + flat} * 60;  // the staleness marker
      st.checks.push_back({t_fire, "ModelDown", {Expect(r, Base(), 0)}});
      for (int64_t t = CeilTo(gone, step_); t <= gone + down + 4 * step_; t += step_) {
        // Past the window, absent_over_time fires (value 1); before, the increase (0).
        const double value = t - down > gone - 60 ? 1 : 0;
        st.checks.push_back({t, "ModelDown", {Expect(r, Base(), value)}});
      }
      out.push_back(std::move(st));
    }
    // Steady traffic, then the series vanish (stale): silent while the window still holds
    // successes, pages once a whole window has none.
    {
      InputSeries total{metric::kModelPredictionsTotal.Name(), series, {{600, busy}}, true};
      total.stale = true;
      Scenario v{"ModelDown: steady traffic, then the series vanish for longer than " +
                     FormatDuration(tier_.model_down_after),
                 {total},
                 {}};
      const int64_t gone = int64_t{busy - 1} * 60;  // the last sample
      // Prometheus 2 ranges are closed: at t the window [t - down, t] still holds the last
      // sample until t > gone + down; a check past half the window catches a halved one.
      const int64_t t_quiet = FloorTo(gone + down * 3 / 4, ei_);
      if (t_quiet > gone + down / 2) v.checks.push_back({t_quiet, "ModelDown", {}});
      v.checks.push_back(
          {CeilTo(gone + down + 2 * ei_, step_), "ModelDown", {Expect(r, Base(), 1)}});
      out.push_back(std::move(v));
    }
    Scenario b{"ModelDown: no series of the model at all (only another model's)",
               {{metric::kModelPredictionsTotal.Name(),
                 {{"model", m_.name + "-other"}, {"version", "v1"}},
                 {{600, 20}},
                 true}},
               {}};
    b.checks.push_back({CeilTo(120, step_), "ModelDown", {Expect(r, Base(), 1)}});
    out.push_back(std::move(b));
    Scenario c{"ModelDown: steady traffic",
               {{metric::kModelPredictionsTotal.Name(), series, {{600, busy + flat}}, true}},
               {}};
    c.checks.push_back({FloorTo((busy + flat) * 60 - 60, step_), "ModelDown", {}});
    out.push_back(std::move(c));
  }

  // Multi-window burn-rate alerts, in the SLO test file. The scenarios are chosen by
  // simulating Prometheus' rate() (BurnSim) on candidate inputs: besides a total outage and a
  // calm period, every mutant of a pair (a conjunct dropped, a threshold halved or doubled, a
  // window halved or doubled) gets a scenario whose expected alerts differ from the mutant's,
  // so that a rule file that lost a window condition fails these tests. The alerts have no
  // `for`, so their state at a time depends only on the data up to it: every scenario is
  // checked at the end of its data, which lies on an evaluation of the file (ei_, 12 hours or
  // more), and promtool evaluates a 30-day scenario in a few hundred steps.
  // HighErrorRate with no error series at all (a model that never failed): every error-ratio
  // record the alerts read is 0, not absent, so dashboards and the budget show 0 % rather than
  // no data.
  Scenario NoErrorSeriesScenario(const std::string& name, const std::vector<BurnWindow>& windows,
                                 int64_t interval, int64_t step) const {
    int64_t longest = 0;
    std::set<std::string> names;
    for (const BurnWindow& w : windows) {
      longest = std::max(longest, w.long_length.count());
      names.insert(w.long_window);
      names.insert(w.short_window);
    }
    const auto ph = AlignedBurn({{0, longest / interval + 1}}, step);
    Scenario z{name + ": no error series at all: every error ratio reads 0, not nothing", {}, {}};
    z.interval_minutes = static_cast<int>(interval / 60);
    z.series = {{metric::kModelPredictionsTotal.Name(),
                 {{"model", m_.name}, {"version", "v1"}},
                 {{kBurnEvents, static_cast<int>(ph[0].samples)}},
                 true}};
    const int64_t at = (ph[0].samples - 1) * interval;
    for (const std::string& w : names) {
      const std::string series =
          SeriesName({series::ErrorRatio(w), {{"model", m_.name}}, {}, false});
      z.expr_checks.push_back({at, series, {{series, 0.0}}});
    }
    return z;
  }

  using BurnRules = std::map<Severity, std::vector<BurnCond>>;

  // A total outage after a clean lead-in covering every page pair's long window, as in
  // production: pages once the fastest pair's long window has burnt its share of the budget.
  // Two scenarios: the outage one sample shorter (silent) and long enough (pages).
  std::vector<BurnChoice> OutageBurns(const BurnRules& original,
                                      const std::vector<BurnWindow>& windows, int64_t interval,
                                      int64_t step, bool latency) const {
    std::vector<BurnChoice> out;
    int64_t lead = 0;
    for (const BurnWindow& w : windows) {
      if (w.severity == Severity::kPage) lead = std::max(lead, w.long_length.count());
    }
    auto outage = [&](int64_t k) { return AlignedBurn({{0, lead / interval + 1}, {1, k}}, step); };
    for (int64_t k = 1; k * interval <= 24 * 3600; ++k) {
      const auto ph = outage(k);
      const BurnSim sim(ph, interval, latency);
      if (!sim.Alert(original.at(Severity::kPage), sim.End())) continue;
      const std::string after = Duration(k * interval);
      if (k > 1) {
        const auto before = outage(k - 1);
        out.push_back({"total outage (100% bad) for " + Duration((k - 1) * interval) +
                           " after a clean " + Duration(lead) + ": no page yet",
                       before,
                       {BurnSim(before, interval, latency).End()},
                       interval});
      }
      out.push_back(
          {"total outage (100% bad) for " + after + " after a clean " + Duration(lead) + ": pages",
           ph,
           {sim.End()},
           interval});
      break;
    }
    return out;
  }

  // Calm: a constant bad share plus spikes of the fastest pair's short window, averaging half
  // the error budget over a whole SLO period, silent; nullopt when no attempt stays silent.
  std::optional<BurnChoice> CalmBurn(const BurnRules& original,
                                     const std::vector<BurnWindow>& windows, Seconds period,
                                     int64_t interval, double objective, bool latency) const {
    const BurnWindow& fast = windows.front();
    // promtool loads at most 10000 samples per query, and the SLO period's ratio rule
    // reads the whole period: a coarser sample interval where needed.
    const int64_t ci =
        interval * ((period.count() / interval + kMaxBurnSamples - 1) / kMaxBurnSamples);
    const int64_t ci_step = std::lcm(ei_, ci) / ci;
    const int64_t spike_len = std::max<int64_t>(1, fast.short_length.count() / ci);
    double spike = std::min(1.0, 2.2 * original.at(Severity::kPage).front().long_thr);
    for (int attempt = 0; attempt < 30; ++attempt, spike *= 0.9) {
      spike = BadEvents(spike) / kBurnEvents;
      // Spikes every `every` samples (a multiple of the evaluation step), each ending on an
      // evaluation; the base level tops the average up to half the budget.
      int64_t every = ci_step;
      while (spike * static_cast<double>(spike_len) / static_cast<double>(every) > objective / 2) {
        every += ci_step;
      }
      const double spike_share =
          spike * static_cast<double>(spike_len) / static_cast<double>(every);
      const double base =
          BadEvents((objective / 2 - spike_share) / (1 - static_cast<double>(spike_len) / every)) /
          kBurnEvents;
      std::vector<BurnPhase> ph = {{base, 1}};
      std::vector<int64_t> spike_ends;
      int64_t n = 0;
      while ((n + every) * ci <= period.count()) {
        ph.push_back({base, every - spike_len});
        ph.push_back({spike, spike_len});
        n += every;
        spike_ends.push_back(n * ci);
      }
      const BurnSim sim(ph, ci, latency);
      bool silent = true;
      for (int64_t t = ci; t <= sim.End() && silent; t += ci) {
        for (const auto& [sev, conds] : original) silent = silent && !sim.Alert(conds, t);
      }
      if (!silent) continue;
      std::vector<int64_t> checks;
      const std::size_t stride = std::max<std::size_t>(1, spike_ends.size() / 12);
      for (std::size_t i = 0; i < spike_ends.size(); i += stride) checks.push_back(spike_ends[i]);
      if (checks.back() != spike_ends.back()) checks.push_back(spike_ends.back());
      return BurnChoice{"calm: " + HumanizePercentage(base) + " bad plus " +
                            HumanizePercentage(spike) + " for " + Duration(spike_len * ci) +
                            " every " + Duration(every * ci) +
                            " (half the error budget) for a whole " + Duration(period.count()) +
                            " period, silent",
                        ph, checks, ci};
    }
    return std::nullopt;
  }

  // The burn-rate scenarios for `original` (outage, calm, then one per mutant no earlier
  // scenario kills), as data. A pure function of its arguments and ei_.
  std::vector<BurnChoice> ChooseBurns(const BurnRules& original,
                                      const std::vector<BurnWindow>& windows, Seconds period,
                                      int64_t interval, int64_t step, double objective,
                                      bool latency) const {
    std::vector<BurnChoice> chosen = OutageBurns(original, windows, interval, step, latency);
    if (auto calm = CalmBurn(original, windows, period, interval, objective, latency)) {
      chosen.push_back(std::move(*calm));
    }
    // Mutant-killing scenarios.
    auto kills = [&](const BurnChoice& c, const BurnMutant& mu) {
      const BurnSim sim(c.phases, c.interval, latency);
      for (int64_t at : c.checks) {
        // A mutant's ratio on its own threshold is a tie that rounding decides: promtool may
        // see the other side (a halved ticket threshold of 0.5 % against exactly 0.5 % bad
        // lived on the 12-hour grid). Such a check proves nothing about the mutant.
        if (!sim.Robust({{mu.sev, mu.conds}}, at)) continue;
        const auto a = sim.Alert(original.at(mu.sev), at);
        const auto b = sim.Alert(mu.conds, at);
        if (a.has_value() != b.has_value()) return true;
        if (a && HumanizePercentage(*a) != HumanizePercentage(*b)) return true;
      }
      return false;
    };
    // A candidate is simulated once, when a mutant first needs it, and kept for the next
    // mutants: whether it is usable and the original rules' alerts at its end.
    const auto candidates = BurnCandidates(original, interval);
    struct Trial {
      std::vector<BurnPhase> phases;
      BurnSim sim;
      bool usable;
      std::map<Severity, std::optional<double>> alerts;  // the original rules' at sim.End()
    };
    std::vector<std::optional<Trial>> trials(candidates.size());
    auto trial = [&](std::size_t i) -> const Trial& {
      if (!trials[i]) {
        auto ph = AlignedBurn(candidates[i].second, step);
        BurnSim sim(ph, interval, latency);
        const int64_t t = sim.End();
        const bool usable = t / interval <= kMaxBurnSamples && sim.Robust(original, t);
        std::map<Severity, std::optional<double>> alerts;
        if (usable) {
          for (const auto& [sev, conds] : original) alerts[sev] = sim.Alert(conds, t);
        }
        trials[i].emplace(Trial{std::move(ph), std::move(sim), usable, std::move(alerts)});
      }
      return *trials[i];
    };
    for (const BurnMutant& mu : BurnMutants(original)) {
      if (std::any_of(chosen.begin(), chosen.end(),
                      [&](const BurnChoice& c) { return kills(c, mu); })) {
        continue;
      }
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Trial& tr = trial(i);
        if (!tr.usable) continue;
        const int64_t t = tr.sim.End();
        if (!tr.sim.Robust({{mu.sev, mu.conds}}, t)) continue;  // a tie: see `kills`
        const auto& a = tr.alerts.at(mu.sev);
        const auto b = tr.sim.Alert(mu.conds, t);
        if (a.has_value() == b.has_value() &&
            (!a || HumanizePercentage(*a) == HumanizePercentage(*b))) {
          continue;
        }
        chosen.push_back({candidates[i].first + " (catches a rule with " + mu.what + ", " +
                              SeverityName(mu.sev) + ")",
                          tr.phases,
                          {t},
                          interval});
        break;
      }
    }
    return chosen;
  }

  // SimulateThroughput(phases, t, ei_), once per distinct set of arguments in burn_cache_.
  std::shared_ptr<const std::vector<ThroughputEval>> CachedThroughput(
      const std::vector<Phase>& phases, const ThroughputRule& t) const {
    auto exact = [](double x) {  // the double's exact value, as hexadecimal
      char buf[32];
      std::snprintf(buf, sizeof buf, "%a", x);
      return std::string(buf);
    };
    std::string key = std::to_string(ei_) + "/" + (t.hour ? "hour" : "day") + "/" +
                      std::to_string(t.window) + "/" + std::to_string(t.offset) + "/" +
                      exact(t.keep) + "/" + exact(t.min_rate) + "/" + std::to_string(t.for_s) +
                      "/" + std::to_string(t.keep_firing_s);
    for (const Phase& p : phases) key += "|" + exact(p.value) + "x" + std::to_string(p.minutes);
    {
      std::lock_guard<std::mutex> lock(burn_cache_.mu);
      if (auto it = burn_cache_.throughput.find(key); it != burn_cache_.throughput.end()) {
        return it->second;
      }
    }
    // Simulated without the lock, as in CachedBurns.
    auto evals =
        std::make_shared<const std::vector<ThroughputEval>>(SimulateThroughput(phases, t, ei_));
    std::lock_guard<std::mutex> lock(burn_cache_.mu);
    return burn_cache_.throughput.emplace(key, std::move(evals)).first->second;
  }

  // ChooseBurns, once per distinct set of arguments in burn_cache_: a fleet has few SLO
  // shapes (objective, period, tier), and the search costs tens of milliseconds.
  std::vector<BurnChoice> CachedBurns(const BurnRules& original,
                                      const std::vector<BurnWindow>& windows, Seconds period,
                                      int64_t interval, int64_t step, double objective,
                                      bool latency) const {
    auto exact = [](double x) {  // the double's exact value, as hexadecimal
      char buf[32];
      std::snprintf(buf, sizeof buf, "%a", x);
      return std::string(buf);
    };
    std::string key = exact(objective) + "/" + std::to_string(period.count()) + "/" +
                      std::to_string(interval) + "/" + std::to_string(step) + "/" +
                      std::to_string(ei_) + "/" + (latency ? "latency" : "errors");
    for (const BurnWindow& w : windows) {
      key += "|" + std::to_string(static_cast<int>(w.severity)) + ":" +
             std::to_string(w.long_length.count()) + "," + std::to_string(w.short_length.count()) +
             "," + exact(w.factor);
    }
    for (const auto& [sev, conds] : original) {
      key += "|" + std::to_string(static_cast<int>(sev));
      for (const BurnCond& c : conds) {
        key += ":" + std::to_string(c.long_s) + "," + std::to_string(c.short_s) + "," +
               exact(c.long_thr) + "," + exact(c.short_thr);
      }
    }
    {
      std::lock_guard<std::mutex> lock(burn_cache_.mu);
      if (auto it = burn_cache_.choices.find(key); it != burn_cache_.choices.end()) {
        return it->second;
      }
    }
    // Searched without the lock: another thread may search the same key meanwhile, and find
    // the same choices (the search is deterministic), so either may be kept.
    auto chosen = ChooseBurns(original, windows, period, interval, step, objective, latency);
    std::lock_guard<std::mutex> lock(burn_cache_.mu);
    burn_cache_.choices.emplace(key, chosen);
    return chosen;
  }

  void BurnRate(const std::string& name, const std::vector<const AlertRule*>& rules,
                std::vector<Scenario>& out) const {
    const bool errors = name == "HighErrorRate";
    const double objective = errors ? *ErrorObjective(m_) : 0.01;
    const Seconds period = m_.slo->period;
    const std::vector<BurnWindow> windows = BurnWindows(period, tier_.evaluation_interval);
    const int64_t interval = BurnSampleInterval(windows);
    const bool latency = !errors;
    const std::string bucket =
        errors ? "" : LatencyObjectiveBucket(*m_.slo->latency_p99_ms / 1000.0);
    // The rules as data: per severity, its pairs in expression order.
    BurnRules original;
    for (const BurnWindow& w : windows) {
      const double thr = std::strtod(GoFormat("%.4g", w.factor).c_str(), nullptr) *
                         std::strtod(FormatNumber(objective).c_str(), nullptr);
      original[w.severity].push_back(
          {w.long_length.count(), w.short_length.count(), thr, thr, true, true});
    }
    const AlertRule* rule_of[2] = {nullptr, nullptr};
    for (const AlertRule* a : rules) rule_of[a->severity == Severity::kPage ? 0 : 1] = a;
    const int64_t step = std::lcm(ei_, interval) / interval;  // samples between evaluations

    // No error series at all (a model that never failed): every error-ratio record the
    // alerts read is 0, not absent, so dashboards and the budget show 0 % rather than no data.
    if (errors) out.push_back(NoErrorSeriesScenario(name, windows, interval, step));
    const Labels v = {{"model", m_.name}, {"version", "v1"}};
    for (const BurnChoice& c :
         CachedBurns(original, windows, period, interval, step, objective, latency)) {
      Scenario s{name + ": " + c.what, {}, {}};
      s.interval_minutes = static_cast<int>(c.interval / 60);
      InputSeries total{"", v, {}, true}, bad{"", v, {}, true}, good{"", v, {}, true};
      for (const BurnPhase& p : c.phases) {
        const int samples = static_cast<int>(p.samples);
        total.phases.push_back({kBurnEvents, samples});
        bad.phases.push_back({BadEvents(p.ratio), samples});
        good.phases.push_back({kBurnEvents - BadEvents(p.ratio), samples});
      }
      if (errors) {
        total.metric = metric::kModelPredictionsTotal.Name();
        bad.metric = metric::kModelPredictionErrorsTotal.Name();
        bad.labels["error_type"] = "timeout";
        s.series = {total, bad};
      } else {
        good.metric = metric::kModelRequestDurationSeconds.Bucket();
        good.labels["le"] = bucket;
        InputSeries inf = total;
        inf.metric = metric::kModelRequestDurationSeconds.Bucket();
        inf.labels["le"] = "+Inf";
        total.metric = metric::kModelRequestDurationSeconds.Count();
        s.series = {good, inf, total};
      }
      const BurnSim sim(c.phases, c.interval, latency);
      for (int64_t t : c.checks) {
        std::vector<ExpectedAlert> firing;
        for (Severity sev : {Severity::kPage, Severity::kTicket}) {
          const AlertRule* a = rule_of[sev == Severity::kPage ? 0 : 1];
          if (a == nullptr) continue;
          if (auto value = sim.Alert(original.at(sev), t)) {
            firing.push_back(Expect(*a, Base(), *value));
          }
        }
        s.checks.push_back({t, name, std::move(firing)});
      }
      out.push_back(std::move(s));
    }
  }

  // `factor` x `level` per minute for `high` minutes, then down to `level` in steps of 0.7
  // every 90 minutes (none a drop LowThroughput alerts on) until minute `until`, then `dip`
  // for `hold` minutes.
  static std::vector<Phase> YesterdayHigher(double level, double factor, int high, int until,
                                            double dip, int hold) {
    std::vector<Phase> p = {{factor * level, high}};
    int at = high;
    for (double x = factor * 0.7; x > 1; x *= 0.7, at += 90) p.push_back({x * level, 90});
    p.push_back({level, until - at});
    p.push_back({dip, hold});
    return p;
  }

  // `average` per minute for `filler` minutes, then an hour averaging `average` whose first
  // half is `average` + `skew` and second half `average` - `skew` (a floor test over a
  // shorter window sees another level), then `dip` for `hold` minutes.
  static std::vector<Phase> FloorLead(int filler, double average, double skew, double dip,
                                      int hold) {
    return {{average, filler}, {average + skew, 30}, {average - skew, 30}, {dip, hold}};
  }

  ThroughputRule ThroughputRuleOf(const AlertRule& r) const {
    ThroughputRule t;
    t.hour = m_.throughput.compare == ThroughputCompare::kHour;
    t.window = ThroughputWindow(m_, tier_.evaluation_interval).count();
    t.offset = ThroughputReferenceOffset(m_, tier_).count();
    t.keep = ThroughputKeepRatio(m_);
    t.min_rate = m_.throughput.min_rate;
    t.for_s = r.for_duration.count();
    t.keep_firing_s = r.keep_firing_for.count();
    return t;
  }

  // A LowThroughput scenario on `phases` (predictions per minute) whose expected alerts come
  // from SimulateThroughput. `fires`: checked silent at the last check time before the first
  // firing evaluation, firing at the first one, kept firing after the condition cleared (when
  // it is), and resolved; else silent at four times from `from` to the end, and throughout
  // by the simulation. nullopt when the simulation disagrees with `fires` (the case would
  // not test what its name says for this config).
  std::optional<Scenario> ThroughputScenario(const AlertRule& r, const std::string& what,
                                             const std::vector<Phase>& phases, bool fires,
                                             int64_t from,
                                             const std::vector<int64_t>& also = {}) const {
    const auto evals_of = CachedThroughput(phases, ThroughputRuleOf(r));
    const std::vector<ThroughputEval>& evals = *evals_of;
    const Labels series = {{"model", m_.name}, {"version", "v1"}};
    Scenario s{"LowThroughput: " + what,
               {{metric::kModelPredictionsTotal.Name(), series, phases, true}},
               {}};
    // The simulated state at a check time: that of the last evaluation at or before it.
    auto state = [&](int64_t t) -> const ThroughputEval& {
      std::size_t i = static_cast<std::size_t>(t / ei_);
      return evals[std::min(i, evals.size() - 1)];
    };
    auto expect = [&](int64_t t) {
      const ThroughputEval& e = state(t);
      return e.firing ? std::vector<ExpectedAlert>{Expect(r, Base(), e.value)}
                      : std::vector<ExpectedAlert>{};
    };
    const int64_t end = evals.back().t;
    auto first =
        std::find_if(evals.begin(), evals.end(), [](const ThroughputEval& e) { return e.firing; });
    if (!fires) {
      if (first != evals.end()) return std::nullopt;
      std::vector<int64_t> times = also;
      for (int i = 1; i <= 4; ++i) times.push_back(FloorTo(from + (end - from) * i / 4, step_));
      std::sort(times.begin(), times.end());
      times.erase(std::unique(times.begin(), times.end()), times.end());
      for (int64_t t : times) {
        if (t <= end) s.checks.push_back({t, r.name, {}});
      }
      return s;
    }
    if (first == evals.end()) return std::nullopt;
    const int64_t t_fire = CeilTo(first->t, step_);
    if (t_fire - step_ >= 0) s.checks.push_back({t_fire - step_, r.name, expect(t_fire - step_)});
    s.checks.push_back({t_fire, r.name, expect(t_fire)});
    auto last = std::find_if(first, evals.end(), [](const ThroughputEval& e) { return !e.firing; });
    // The last check time kept firing by keep_firing_for (a shorter keep_firing_for resolves
    // before it, a longer one after the resolved check below).
    std::optional<int64_t> kept;
    for (auto it = first; it != last; ++it) {
      if (!it->condition && it->t % step_ == 0) kept = it->t;
      if (it->condition) kept.reset();
    }
    if (kept) s.checks.push_back({*kept, r.name, expect(*kept)});
    if (last != evals.end()) {
      const int64_t t_resolved = CeilTo(last->t, step_);
      if (t_resolved <= end) s.checks.push_back({t_resolved, r.name, expect(t_resolved)});
    }
    return s;
  }

  // LowThroughput (docs/alerts.md). compare: hour: the fast file holds the cases on day one
  // (no data a day old, which the old same-time-yesterday rule needed): a drop just past the
  // threshold fires, a dip just inside it is silent, and a large drop fires just above the
  // traffic floor and is silent just below it. The traffic before the drop is shaped so that
  // another reference window is caught: 2x the level two hours earlier (a longer reference
  // sees it and fires on the silent dip), 1.2x then 0.8x in the reference hour (a 30-minute
  // reference sees only 0.8x and misses the drop). The long file holds the cases with a day of
  // history: a 30% dip while yesterday's traffic was 5x today's, traffic below the floor
  // dropping by 90% (both silent, both fire with the old rule), and steady traffic.
  // compare: day: the fast file checks that a drop without data a day earlier is silent, the
  // long file the threshold and floor cases against yesterday's traffic.
  // What LowThroughput's scenarios are built from.
  struct ThroughputLevels {
    double n = 600;      // predictions per minute (10/s)
    int hold = 0;        // minutes a drop lasts: past the window, for and keep_firing_for
    std::string beyond;  // just past the threshold, as the scenarios name it
    std::string inside;  // just inside it
    double floor = 0;    // min_rate per minute
  };
  static constexpr int kDay = 24 * 60;

  static ThroughputLevels LevelsOf(const ThroughputRule& t) {
    ThroughputLevels lv;
    lv.hold = static_cast<int>((t.window + t.for_s + t.keep_firing_s) / 60 + 90);
    lv.beyond = FormatNumber(t.keep * 0.9);
    lv.inside = FormatNumber(t.keep * 1.1);
    lv.floor = t.min_rate * 60;
    return lv;
  }

  static void AddScenario(std::optional<Scenario> s, std::vector<Scenario>& out) {
    if (s) out.push_back(std::move(*s));
  }

  // The fast file: day one, with no data a day earlier.
  void DayOneThroughputScenarios(const AlertRule& r, const ThroughputRule& t,
                                 const ThroughputLevels& lv, std::vector<Scenario>& out) const {
    if (!t.hour) {
      AddScenario(ThroughputScenario(
                      r, "traffic drops to " + lv.beyond + " x with no data a day earlier, silent",
                      {{lv.n, 60}, {lv.n * t.keep * 0.9, lv.hold}}, false, 3600),
                  out);
      return;
    }
    // Before the drop, backwards: 0.8x for 30m and 1.2x for 30m (the reference hour
    // averages 1x; a 30-minute one sees 0.8x), 1x back to before the oldest reference hour
    // the rule reads while the drop is pending, and 2x for an hour before that (a 2-hour
    // reference sees it).
    const int filler = static_cast<int>(t.offset / 60) + 5;
    const std::vector<Phase> lead = {
        {2 * lv.n, 60}, {lv.n, filler}, {1.2 * lv.n, 30}, {0.8 * lv.n, 30}};
    const int64_t drop = int64_t{TotalMinutes(lead)} * 60;
    auto with = [&](double level) {
      std::vector<Phase> p = lead;
      p.push_back({level, lv.hold});
      return p;
    };
    auto fired =
        ThroughputScenario(r,
                           "day one (no data a day earlier): traffic drops to " + lv.beyond +
                               " x the hour's average, just past the threshold, fires",
                           with(lv.n * t.keep * 0.9), true, 0);
    std::vector<int64_t> fire_checks;
    if (fired) {
      for (const Check& c : fired->checks) fire_checks.push_back(c.at);
    }
    AddScenario(std::move(fired), out);
    AddScenario(ThroughputScenario(r,
                                   "day one: traffic dips to " + lv.inside +
                                       " x the hour's average, just inside the threshold, silent",
                                   with(lv.n * t.keep * 1.1), false, drop, fire_checks),
                out);
    if (t.min_rate > 0) {
      AddScenario(
          ThroughputScenario(
              r,
              "day one: traffic at 1.1 x the floor " + FormatNumber(t.min_rate) +
                  "/s drops by 90%, fires",
              FloorLead(filler, 1.1 * lv.floor, 0.2 * lv.floor, 0.11 * lv.floor, lv.hold), true, 0),
          out);
      AddScenario(ThroughputScenario(
                      r,
                      "day one: low traffic at 0.9 x the floor " + FormatNumber(t.min_rate) +
                          "/s drops by 90%, silent",
                      FloorLead(filler, 0.9 * lv.floor, -0.2 * lv.floor, 0.09 * lv.floor, lv.hold),
                      false, int64_t{filler + 60} * 60),
                  out);
    }
  }

  // The long file, a rule comparing with the hour's average.
  void HourThroughputScenarios(const AlertRule& r, const ThroughputRule& t,
                               const ThroughputLevels& lv, std::vector<Scenario>& out) const {
    const int day = kDay;
    if (0.7 > t.keep * 1.15) {
      AddScenario(
          ThroughputScenario(
              r,
              "30% dip below the hour's average while yesterday's traffic was 5 x today's, silent "
              "(the same-time-yesterday rule fires)",
              YesterdayHigher(lv.n, 5, 120 + lv.hold + 10, day + 120, 0.7 * lv.n, lv.hold), false,
              int64_t{day + 120} * 60),
          out);
    }
    if (t.min_rate > 0) {
      AddScenario(ThroughputScenario(r,
                                     "traffic at 0.9 x the floor " + FormatNumber(t.min_rate) +
                                         "/s for a day drops by 90%, silent",
                                     {{0.9 * lv.floor, day + 120}, {0.09 * lv.floor, lv.hold}},
                                     false, int64_t{day + 120} * 60),
                  out);
    }
  }

  // The long file, a rule comparing with the same time yesterday.
  void YesterdayThroughputScenarios(const AlertRule& r, const ThroughputRule& t,
                                    const ThroughputLevels& lv, std::vector<Scenario>& out) const {
    const int day = kDay;
    const int pre = day + 60;
    AddScenario(ThroughputScenario(r,
                                   "traffic drops to " + lv.beyond +
                                       " x the same time yesterday, just past the threshold, fires",
                                   {{lv.n, pre}, {lv.n * t.keep * 0.9, lv.hold}}, true, 0),
                out);
    AddScenario(
        ThroughputScenario(r,
                           "traffic dips to " + lv.inside +
                               " x the same time yesterday, just inside the threshold, silent",
                           {{lv.n, pre}, {lv.n * t.keep * 1.1, lv.hold}}, false, int64_t{pre} * 60),
        out);
    // Quiet traffic (0.4x) half a day before the drop, then the drop and a recovery: a rule
    // comparing with 12 hours earlier stays silent, one without keep_firing_for resolves
    // at the first evaluation after the recovery.
    const int drop_len = static_cast<int>((t.window + t.for_s) / 60) + 40;
    const int recover_len = static_cast<int>(t.keep_firing_s / 60) + 40;
    const int quiet_len = drop_len + recover_len + 20;
    if (quiet_len + 20 < 720) {
      const int quiet_start = pre - 720 - 10;
      AddScenario(
          ThroughputScenario(r,
                             "traffic drops to " + lv.beyond +
                                 " x the same time yesterday after a quiet night (0.4 x half a "
                                 "day earlier), then recovers: fires, kept, resolved",
                             {{lv.n, quiet_start},
                              {0.4 * lv.n, quiet_len},
                              {lv.n, pre - quiet_start - quiet_len},
                              {lv.n * t.keep * 0.9, drop_len},
                              {lv.n, recover_len}},
                             true, 0),
          out);
    }
    // A 10-minute saw-tooth on the evaluation grid: each evaluation sees, over the last S,
    // 3/5 S without traffic and 2/5 S at 1.2x (the rate over S is 0.48x yesterday's: fires),
    // while the last S/2 sees 1.2x and the last 2S averages 0.74x (a halved or doubled
    // window stays silent). Needs S in whole 5-minute steps and evaluations >= 2S apart.
    const int64_t sm = t.window / 60;
    const int64_t pm = ei_ / 60;
    if (t.window % 300 == 0 && ei_ % 60 == 0 && pm >= 2 * sm && t.keep == 0.5) {
      std::vector<Phase> saw = {{lv.n, pre}, {lv.n, 1}};  // periods end on the evaluation grid
      const int periods = static_cast<int>((t.for_s + 2 * ei_) / ei_) + 3;
      for (int i = 0; i < periods; ++i) {
        saw.push_back({lv.n, static_cast<int>(pm - sm)});
        saw.push_back({0, static_cast<int>(sm * 3 / 5)});
        saw.push_back({1.2 * lv.n, static_cast<int>(sm * 2 / 5)});
      }
      AddScenario(ThroughputScenario(r,
                                     "saw-tooth traffic: over the last " +
                                         FormatDuration(Seconds(t.window)) +
                                         " 0.48 x the same time yesterday, over half or twice that "
                                         "window above half, fires",
                                     saw, true, 0),
                  out);
    }
    if (t.min_rate > 0) {
      // Half a day earlier the traffic was below the floor (0.55x): the floor is read a day
      // earlier, not 12 hours.
      std::vector<Phase> above = {{1.1 * lv.floor, pre}, {0.11 * lv.floor, lv.hold}};
      if (lv.hold + 40 < 720) {
        const int quiet_start = pre - 720 - 10;
        above = {{1.1 * lv.floor, quiet_start},
                 {0.55 * lv.floor, lv.hold + 20},
                 {1.1 * lv.floor, pre - quiet_start - lv.hold - 20},
                 {0.11 * lv.floor, lv.hold}};
      }
      AddScenario(ThroughputScenario(r,
                                     "traffic at 1.1 x the floor " + FormatNumber(t.min_rate) +
                                         "/s (0.55 x half a day earlier) drops by 90% below "
                                         "yesterday's, fires",
                                     above, true, 0),
                  out);
      AddScenario(ThroughputScenario(r,
                                     "traffic at 0.9 x the floor " + FormatNumber(t.min_rate) +
                                         "/s drops by 90% below yesterday's, silent",
                                     {{0.9 * lv.floor, pre}, {0.09 * lv.floor, lv.hold}}, false,
                                     int64_t{pre} * 60),
                  out);
    }
  }

  void LowThroughput(const std::vector<const AlertRule*>& rules, std::vector<Scenario>& out) const {
    const AlertRule& r = *rules.front();
    const ThroughputRule t = ThroughputRuleOf(r);
    const ThroughputLevels lv = LevelsOf(t);
    if (set_ == TestSet::kFast) {
      DayOneThroughputScenarios(r, t, lv, out);
      return;
    }
    if (set_ != TestSet::kLong) return;
    if (t.hour) {
      HourThroughputScenarios(r, t, lv, out);
    } else {
      YesterdayThroughputScenarios(r, t, lv, out);
    }
    AddScenario(ThroughputScenario(r, "steady traffic for a day, silent", {{lv.n, kDay + 90}},
                                   false, int64_t{kDay} * 60),
                out);
  }

  const ModelConfig& m_;
  const TierDefaults& tier_;
  const RuleFile& rules_;
  TestSet set_;
  BurnCache& burn_cache_;
  int64_t ei_ = 60;
  int64_t step_ = 60;
  std::map<std::string, std::vector<const AlertRule*>> by_name_;
};

// Appends `l` as a YAML flow mapping: {k: v, k2: v2}.
void AppendLabelMap(std::string& out, const Labels& l) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ", ";
    out += k;
    out += ": ";
    AppendYamlScalar(out, v);
    first = false;
  }
  out += '}';
}

// The file is written into one buffer, each value appended in place: test files are most of
// what `generate` writes (docs/rulegen.md, "Performance").
std::string TestFile(const RuleFile& rules, Seconds eval_interval,
                     const std::vector<Scenario>& scenarios, const std::string& comment = "") {
  std::string y;
  y.reserve(std::size_t{1} << 16);
  y += comment;
  y += "rule_files:\n";
  // Both tiers' files with two (drift.tiers: 2): promtool evaluates the local tier's group
  // first, as the global tier's would read it (TierFiles' order).
  if (!rules.local_path.empty()) y.append("  - ../").append(rules.local_path) += '\n';
  y.append("  - ../").append(rules.path) += '\n';
  y.append("evaluation_interval: ").append(FormatDuration(eval_interval)) += '\n';
  y += "group_eval_order:\n";
  for (const RuleGroup& g : rules.groups) {
    y += "  - ";
    AppendYamlScalar(y, g.name);
    y += '\n';
  }
  y += "tests:\n";
  std::string text;  // a series' name or values before quoting, reused
  for (const Scenario& s : scenarios) {
    y += "  - name: ";
    AppendYamlQuote(y, s.name);
    y.append("\n    interval: ").append(std::to_string(s.interval_minutes)) += "m\n";
    if (s.series.empty()) {
      y += "    input_series: []\n";
    } else {
      y += "    input_series:\n";
      for (const InputSeries& in : s.series) {
        y += "      - series: ";
        text.clear();
        AppendSeriesName(text, in);
        AppendYamlQuote(y, text);
        y += "\n        values: ";
        text.clear();
        AppendValuesText(text, in);
        AppendYamlQuote(y, text);
        y += '\n';
      }
    }
    if (!s.expr_checks.empty()) {
      y += "    promql_expr_test:\n";
      for (const ExprCheck& c : s.expr_checks) {
        y.append("      - eval_time: ").append(Duration(c.at)) += "\n        expr: ";
        AppendYamlQuote(y, c.expr);
        y += "\n        exp_samples:\n";
        for (const auto& [series, value] : c.samples) {
          y += "          - labels: ";
          AppendYamlQuote(y, series);
          y += "\n            value: ";
          AppendNumber(y, value);
          y += '\n';
        }
      }
    }
    if (s.checks.empty()) continue;
    y += "    alert_rule_test:\n";
    for (const Check& c : s.checks) {
      y.append("      - eval_time: ").append(Duration(c.at)) += '\n';
      y.append("        alertname: ").append(c.alertname) += '\n';
      if (c.alerts.empty()) {
        y += "        exp_alerts: []\n";
        continue;
      }
      y += "        exp_alerts:\n";
      for (const ExpectedAlert& e : c.alerts) {
        y += "          - exp_labels: ";
        AppendLabelMap(y, e.labels);
        y += "\n            exp_annotations:\n";
        for (const auto& [k, v] : e.annotations) {
          y.append("              ").append(k) += ": ";
          AppendYamlQuote(y, v);
          y += '\n';
        }
      }
    }
  }
  return y;
}

// Scenarios of the meta-alerts (rulegen/meta_rules.h) in tests/modelwatch.test.yml: each
// fires in its incident and stays silent in calm and before its `for` has passed.
std::vector<Scenario> MetaScenarios(const RuleFile& f, const FleetConfig& fleet) {
  std::map<std::string, const AlertRule*> by_name;
  for (const RuleGroup& g : f.groups) {
    for (const AlertRule& a : g.alerts) by_name[a.name] = &a;
  }
  std::vector<Scenario> out;
  if (!by_name.count("ExporterDown")) return out;
  const AlertRule& down = *by_name.at("ExporterDown");
  const AlertRule& flaky = *by_name.at("ExporterScrapeFailures");
  const AlertRule& am = *by_name.at("AlertmanagerNotificationsFailing");
  const AlertRule& rules = *by_name.at("RuleEvaluationFailures");
  const std::string job = fleet.platform.exporter_job;
  const int64_t ei = fleet.Tier(1).evaluation_interval.count();
  const int64_t for_s = down.for_duration.count();
  const Labels target = {{"job", job}, {"instance", "exporter-a:9841"}};

  // The exporter answers, then stops answering at minute 10.
  Scenario d{"ExporterDown: the exporter stops answering at 10m", {}, {}};
  d.series.push_back({"up", target, {{1, 10}, {0, 20 + Minutes(down.for_duration)}}, false});
  d.checks.push_back({FloorTo(600 - 1, ei), "ExporterDown", {}});
  d.checks.push_back({FloorTo(600 + for_s - 1, ei), "ExporterDown", {}});  // still pending
  const int64_t fired = CeilTo(600 + for_s + ei, ei);
  d.checks.push_back({fired, "ExporterDown", {Expect(down, {{"job", job}}, 0)}});
  d.checks.push_back({fired, "ExporterScrapeFailures", {}});  // down, not flaky
  out.push_back(std::move(d));

  // The job has no target at all (Prometheus scrapes only something else).
  Scenario absent{"ExporterDown: no target of the job at all", {}, {}};
  absent.series.push_back({"up",
                           {{"job", job + "-other"}, {"instance", "x:1"}},
                           {{1, 10 + Minutes(down.for_duration)}},
                           false});
  absent.checks.push_back({FloorTo(for_s - 1, ei), "ExporterDown", {}});
  absent.checks.push_back(
      {CeilTo(for_s + ei, ei), "ExporterDown", {Expect(down, {{"job", job}}, 1)}});
  out.push_back(std::move(absent));

  // Calm: every scrape succeeds; nothing fails anywhere.
  Scenario calm{"Meta-alerts: a healthy stack is silent", {}, {}};
  calm.series.push_back({"up", target, {{1, 40}}, false});
  calm.series.push_back(
      {"alertmanager_notifications_failed_total", {{"integration", "pagerduty"}}, {{0, 40}}, true});
  calm.series.push_back({"prometheus_rule_evaluation_failures_total",
                         {{"rule_group", "modelwatch-meta"}},
                         {{0, 40}},
                         true});
  for (const AlertRule* a : {&down, &flaky, &am, &rules}) {
    calm.checks.push_back({30 * 60, a->name, {}});
  }
  out.push_back(std::move(calm));

  // Every other scrape fails from minute 10: at 25m the 15m window [10m, 25m] holds 8 failed
  // and 8 successful scrapes.
  Scenario f2{"ExporterScrapeFailures: half the scrapes fail", {}, {}};
  std::vector<Phase> alternating = {{1, 10}};
  for (int i = 0; i < 10; ++i) {
    alternating.push_back({0, 1});
    alternating.push_back({1, 1});
  }
  f2.series.push_back({"up", target, alternating, false});
  f2.checks.push_back({9 * 60, "ExporterScrapeFailures", {}});
  f2.checks.push_back({25 * 60, "ExporterScrapeFailures", {Expect(flaky, target, 0.5)}});
  out.push_back(std::move(f2));

  // One failed notification per minute from minute 10.
  Scenario n{"AlertmanagerNotificationsFailing: PagerDuty deliveries fail", {}, {}};
  n.series.push_back({"alertmanager_notifications_failed_total",
                      {{"integration", "pagerduty"}},
                      {{0, 10}, {1, 20}},
                      true});
  n.checks.push_back({14 * 60, am.name, {}});  // failing, but not yet for 5m
  n.checks.push_back({25 * 60, am.name, {Expect(am, {{"integration", "pagerduty"}}, 10)}});
  out.push_back(std::move(n));

  Scenario r{"RuleEvaluationFailures: a rule group fails to evaluate", {}, {}};
  r.series.push_back({"prometheus_rule_evaluation_failures_total",
                      {{"rule_group", "/rules/x.rules.yml;x"}},
                      {{0, 10}, {1, 20}},
                      true});
  r.checks.push_back({9 * 60, rules.name, {}});
  r.checks.push_back(
      {25 * 60, rules.name, {Expect(rules, {{"rule_group", "/rules/x.rules.yml;x"}}, 10)}});
  out.push_back(std::move(r));

  if (by_name.count("PageEscalation")) {
    const AlertRule& esc = *by_name.at("PageEscalation");
    const int64_t after = esc.for_duration.count();
    const int minutes = Minutes(esc.for_duration) + 20;
    const Labels page = {{"alertname", "ModelDown"},
                         {"alertstate", "firing"},
                         {"severity", "page"},
                         {"model", "m"},
                         {"team", "t"},
                         {"tier", "1"}};
    Labels ticket = page;
    ticket["alertname"] = "FeatureDrift";
    ticket["severity"] = "ticket";
    Scenario e{"PageEscalation: a page still firing after routing.escalate_after", {}, {}};
    e.series.push_back({"up", target, {{1, minutes}}, false});  // keeps ExporterDown quiet
    e.series.push_back({"ALERTS", page, {{1, minutes}}, false});
    e.series.push_back({"ALERTS", ticket, {{1, minutes}}, false});
    e.checks.push_back({FloorTo(after - 1, ei), esc.name, {}});
    e.checks.push_back({CeilTo(after + ei, ei),
                        esc.name,
                        {Expect(esc, {{"model", "m"}, {"team", "t"}, {"tier", "1"}}, 1)}});
    out.push_back(std::move(e));
    Scenario q{"PageEscalation: tickets never escalate", {}, {}};
    q.series.push_back({"up", target, {{1, minutes}}, false});
    q.series.push_back({"ALERTS", ticket, {{1, minutes}}, false});
    q.checks.push_back({CeilTo(after + ei, ei), esc.name, {}});
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace

namespace {

// Each model's test files as soon as its rules are built; the fleet's at the end.
class PromtoolTestsRun : public EmitterRun {
 public:
  explicit PromtoolTestsRun(const ConfigSet& config) : config_(config) {}

  void Model(std::size_t, const ModelConfig& m, const RuleFile& f, FileSink& out) override {
    const FleetConfig& fleet = config_.fleet;
    const Seconds ei = fleet.Tier(m.tier).evaluation_interval;
    out.Add(
        "tests/" + m.name + ".test.yml",
        TestFile(f, ei, ModelTestBuilder(m, fleet, f, ei, TestSet::kFast, burn_cache_).Build()));
    if (m.slo && (m.slo->latency_p99_ms || ErrorObjective(m))) {
      const Seconds slo_ei = SloEvalInterval(m, fleet.Tier(m.tier));
      out.Add("tests/" + m.name + ".slo.test.yml",
              TestFile(f, slo_ei,
                       ModelTestBuilder(m, fleet, f, slo_ei, TestSet::kSlo, burn_cache_).Build(),
                       "# SLO burn-rate scenarios (docs/alerts.md). The alerts have no `for`, so "
                       "each\n# scenario is checked at the end of its data, on an evaluation "
                       "every " +
                           FormatDuration(slo_ei) + ".\n"));
    }
    const Seconds long_ei = std::max(ei, kLongEvalInterval);
    auto long_tests = ModelTestBuilder(m, fleet, f, long_ei, TestSet::kLong, burn_cache_).Build();
    if (!long_tests.empty()) {
      out.Add("tests/" + m.name + ".long.test.yml",
              TestFile(f, long_ei, long_tests,
                       "# Scenarios spanning days (LowThroughput compares with a day earlier, "
                       "long `for`),\n# evaluated every " +
                           FormatDuration(long_ei) + " to keep promtool fast.\n"));
    }
  }

  void Finish(const RuleFile& f, FileSink& out) override {
    const AlertRule& w = f.groups.front().alerts.front();
    Scenario s{"Watchdog: always firing", {}, {}};
    s.checks.push_back({60, "Watchdog", {Expect(w, {}, 1)}});
    s.checks.push_back({600, "Watchdog", {Expect(w, {}, 1)}});
    std::vector<Scenario> scenarios = {s};
    for (Scenario& m : MetaScenarios(f, config_.fleet)) scenarios.push_back(std::move(m));
    out.Add("tests/modelwatch.test.yml", TestFile(f, f.groups.front().interval, scenarios));
  }

 private:
  const ConfigSet& config_;
  BurnCache burn_cache_;  // the burn-rate scenario choices across the models of this run
};

}  // namespace

std::unique_ptr<EmitterRun> PromtoolTestsEmitter::Start(const ConfigSet& config) const {
  return std::make_unique<PromtoolTestsRun>(config);
}

}  // namespace modelwatch
