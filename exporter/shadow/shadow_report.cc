#include "exporter/shadow/shadow_report.h"

#include <cmath>
#include <sstream>

#include "exporter/groundtruth/performance.h"

namespace modelwatch {
namespace {

std::string Fixed(double v, int digits = 3) {
  if (std::isnan(v)) return "n/a";
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << v;
  return out.str();
}

std::string PrimaryMetric(const ModelConfig& model) {
  const auto& names = PerformanceMetricNames(model.task);
  if (model.ground_truth && model.ground_truth->retrain_when) {
    const std::string& m = model.ground_truth->retrain_when->metric;
    if (std::find(names.begin(), names.end(), m) != names.end()) return m;
  }
  switch (model.task) {
    case Task::kBinaryClassification:
      return "auc";
    case Task::kMulticlassClassification:
      return "macro_f1";
    case Task::kRegression:
      return "rmse";
  }
  return "auc";
}

}  // namespace

ShadowReport BuildShadowReport(const ModelConfig& model, const ShadowWindowStats& stats,
                               const std::uint64_t unpaired[2],
                               const std::vector<PerformanceValue>& labelled) {
  const ShadowConfig shadow = model.shadow.value_or(ShadowConfig{});
  ShadowReport report;
  report.model = model.name;
  report.champion = shadow.champion;
  report.challenger = shadow.challenger;
  report.pairs = stats.pairs;
  auto add = [&](std::string name, bool evaluated, bool passed, std::string detail) {
    report.criteria.push_back({std::move(name), evaluated, evaluated && passed, std::move(detail)});
  };

  const std::int64_t min_pairs = std::max<std::int64_t>(1, model.drift.min_samples);
  add("pairs", true, stats.pairs >= min_pairs,
      std::to_string(stats.pairs) + " paired requests (minimum " + std::to_string(min_pairs) + ")");
  const double p99_ms = stats.latency_p99_seconds[1] * 1000;
  if (model.slo && model.slo->latency_p99_ms) {
    const double slo = *model.slo->latency_p99_ms;
    if (std::isnan(p99_ms)) {
      add("latency_slo", false, false, "the challenger logged no latency");
    } else {
      add("latency_slo", true, p99_ms <= slo,
          "challenger p99 " + Fixed(p99_ms, 1) + " ms " + (p99_ms <= slo ? "<=" : ">") + " " +
              Fixed(slo, 1) + " ms");
    }
  } else {
    add("latency_slo", false, false, "no slo.latency_p99_ms configured");
  }
  const double err = stats.error_ratio[1];
  if (model.slo && model.slo->error_rate) {
    const double slo = *model.slo->error_rate;
    add("error_rate_slo", !std::isnan(err), err <= slo,
        "challenger error ratio " + Fixed(err, 4) + (err <= slo ? " <= " : " > ") + Fixed(slo, 4));
  } else {
    add("error_rate_slo", false, false, "no slo.error_rate configured");
  }
  const double champion_err = stats.error_ratio[0];
  add("errors_not_worse", !std::isnan(err) && !std::isnan(champion_err), err <= champion_err,
      "challenger error ratio " + Fixed(err, 4) + (err <= champion_err ? " <= " : " > ") +
          "champion " + Fixed(champion_err, 4));
  add("agreement", !std::isnan(stats.agreement), stats.agreement >= shadow.min_agreement,
      "agreement " + Fixed(stats.agreement) +
          (stats.agreement >= shadow.min_agreement ? " >= " : " < ") + "min_agreement " +
          Fixed(shadow.min_agreement));

  const std::string metric = PrimaryMetric(model);
  double champion_value = NAN, challenger_value = NAN;
  for (const PerformanceValue& v : labelled) {
    if (v.metric != metric) continue;
    if (v.version == shadow.champion) champion_value = v.value_number;
    if (v.version == shadow.challenger) challenger_value = v.value_number;
  }
  if (std::isnan(champion_value) || std::isnan(challenger_value)) {
    add("labelled_performance", false, false, "no labelled " + metric + " for both versions");
  } else {
    bool not_worse;
    if (metric == "bias") {
      not_worse = std::fabs(challenger_value) <= std::fabs(champion_value) + 1e-12;
    } else if (HigherIsBetter(metric)) {
      not_worse = challenger_value >= champion_value - 1e-12;
    } else {
      not_worse = challenger_value <= champion_value + 1e-12;
    }
    add("labelled_performance", true, not_worse,
        metric + " challenger " + Fixed(challenger_value, 4) + ", champion " +
            Fixed(champion_value, 4) + (not_worse ? " (not worse)" : " (worse)"));
  }

  report.promote = true;
  for (const ShadowCriterion& c : report.criteria) {
    if (c.evaluated && !c.passed) report.promote = false;
  }
  if (!report.criteria.front().passed) report.promote = false;

  std::ostringstream text;
  text << "Shadow report for " << model.name << ": champion " << shadow.champion << ", challenger "
       << shadow.challenger << "\n";
  text << "  paired requests: " << stats.pairs << " (unpaired: champion " << unpaired[0]
       << ", challenger " << unpaired[1] << ")\n";
  text << "  agreement " << Fixed(stats.agreement) << ", score correlation "
       << Fixed(stats.correlation) << ", score KS " << Fixed(stats.ks) << "\n";
  text << "  latency p99: champion " << Fixed(stats.latency_p99_seconds[0] * 1000, 1)
       << " ms, challenger " << Fixed(p99_ms, 1) << " ms\n";
  text << "  error ratio: champion " << Fixed(champion_err, 4) << ", challenger " << Fixed(err, 4)
       << "\n";
  if (!labelled.empty()) {
    text << "  labelled, same requests:";
    for (const std::string& name : PerformanceMetricNames(model.task)) {
      double a = NAN, b = NAN;
      for (const PerformanceValue& v : labelled) {
        if (v.metric != name) continue;
        (v.version == shadow.champion ? a : b) = v.value_number;
      }
      text << " " << name << " " << Fixed(a, 4) << "/" << Fixed(b, 4);
    }
    text << " (champion/challenger)\n";
  }
  text << "Criteria:\n";
  for (const ShadowCriterion& c : report.criteria) {
    text << "  ["
         << (!c.evaluated ? "SKIP"
             : c.passed   ? "PASS"
                          : "FAIL")
         << "] " << c.name << ": " << c.detail << "\n";
  }
  text << "Verdict: " << (report.promote ? "PROMOTE" : "DO NOT PROMOTE") << " challenger "
       << shadow.challenger << "\n";
  report.text = text.str();
  return report;
}

}  // namespace modelwatch
