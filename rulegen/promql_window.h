// What the promql engine's rule builders (drift, signals, degradation, performance) share:
// one model's rules of one window, each labelled with the window first, the selectors of the
// model's series and of its series in the window, and the replicas' sums over the window.
#ifndef MODELWATCH_RULEGEN_PROMQL_WINDOW_H_
#define MODELWATCH_RULEGEN_PROMQL_WINDOW_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.h"
#include "rulegen/promql_tiers.h"
#include "rulegen/rule_model.h"

namespace modelwatch {

class PromqlWindowRules {
 public:
  PromqlWindowRules(const ModelConfig& m, RuleGroup& group, PromqlCounts& counts)
      : m_(m), group_(group), counts_(counts) {}

  // The window the next rules are for.
  void Start(const Window& w) { w_ = &w; }
  const std::string& window() const { return w_->label; }

  // A rule recording `expr` as `record`, labelled {window, labels...} (rules of one name are
  // told apart by their labels: promtool refuses duplicates).
  void Add(std::string record, std::string expr,
           std::vector<std::pair<std::string, std::string>> labels = {}) {
    labels.emplace(labels.begin(), "window", window());
    group_.recording.push_back({std::move(record), std::move(expr), std::move(labels)});
  }

  // record{model="<model>"<more>}: the model's series (a baseline series has no window).
  std::string Selector(std::string_view record, std::string_view more = "") const {
    std::string out(record);
    out += "{model=";
    out += PromQuote(m_.name);
    out += more;
    out += '}';
    return out;
  }
  // record{model="<model>",window="<window>"<more>}: the model's series in the window.
  std::string Windowed(std::string_view record, std::string_view more = "") const {
    return Selector(record, ",window=" + PromQuote(window()) + std::string(more));
  }

  // The replicas' increase of `metric` over the window, summed `by` (PromqlCounts).
  std::string WindowSum(const std::string& metric, const std::string& by) const {
    return counts_.WindowSum(metric, *w_, by);
  }

  // drift.min_samples (at least 1) as text: the records a window needs before the exporter
  // serves its signals.
  std::string MinRecords() const {
    return std::to_string(m_.drift.min_samples > 1 ? m_.drift.min_samples : 1);
  }

 private:
  const ModelConfig& m_;
  RuleGroup& group_;
  PromqlCounts& counts_;
  const Window* w_ = nullptr;
};

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_PROMQL_WINDOW_H_
