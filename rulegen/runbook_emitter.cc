#include "rulegen/runbook_emitter.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "core/duration.h"
#include "core/metric_catalogue.h"
#include "rulegen/rule_model.h"
#include "rulegen/series.h"
#include "rulegen/templates.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

struct Query {
  std::string what;
  std::string promql;
};

std::vector<Query> DiagnosticQueries(const std::string& alert, const ModelConfig& m) {
  const std::string s = Selector(m.name);
  auto sel = [&](const std::vector<std::string>& extra) { return Selector(m.name, extra); };
  const std::string method = std::string("method=\"") + DriftMethodName(m.drift.method) + "\"";
  std::vector<Query> q;
  if (alert == "ModelDown" || alert == "LowThroughput") {
    q.push_back(
        {"Predictions per second (all versions)", std::string(series::kPredictionRate5m) + s});
    q.push_back(
        {"Predictions per second by version", std::string(series::kVersionPredictionRate5m) + s});
    q.push_back(
        {"Average over the preceding hour",
         "avg_over_time(" + std::string(series::kPredictionRate5m) + s + "[1h] offset 5m)"});
    q.push_back({"Same time yesterday", std::string(series::kPredictionRate5m) + s + " offset 1d"});
    q.push_back({"Exporter: lines read per second",
                 "rate(" + metric::kModelwatchLinesReadTotal.Name() + "[5m])"});
    q.push_back(
        {"Exporter: rejected lines by reason",
         "sum by (reason) (rate(" + metric::kModelwatchLinesRejectedTotal.Name() + "[5m]))"});
    q.push_back({"Exporter: bytes not yet read", metric::kModelwatchSourceLagBytes.Name()});
  } else if (alert == "HighErrorRate") {
    for (const char* w : {"5m", "1h", "6h", "1d"}) {
      q.push_back({std::string("Error ratio over ") + w, series::ErrorRatio(w) + s});
    }
    q.push_back({"Error ratio by version", std::string(series::kVersionErrorRatio5m) + s});
    q.push_back({"Errors per second by version and type",
                 "topk(10, " + std::string(series::kErrorTypeRate5m) + s + ")"});
    q.push_back({"Remaining error budget", std::string(series::kErrorBudgetRemaining) + s});
  } else if (alert == "HighLatency") {
    for (const char* w : {"5m", "1h", "6h", "1d"}) {
      q.push_back(
          {std::string("Share of slow requests over ") + w, series::LatencySlowRatio(w) + s});
    }
    q.push_back({"p99 latency by version (seconds)", std::string(series::kVersionLatencyP99) + s});
    q.push_back({"p50 / p95 / p99 (seconds)", std::string(series::kLatencyP50) + s + "\n" +
                                                  series::kLatencyP95 + s + "\n" +
                                                  series::kLatencyP99 + s});
    q.push_back({"Request rate", std::string(series::kPredictionRate5m) + s});
    q.push_back({"Remaining latency budget", std::string(series::kLatencyBudgetRemaining) + s});
  } else if (alert == "FeatureDrift") {
    q.push_back({"Most drifted features",
                 "topk(10, " + metric::kModelFeatureDrift.Name() + sel({method}) + ")"});
    q.push_back({"Largest drift per method and window", std::string(series::kFeatureDriftMax) + s});
    q.push_back({"Number of drifting features", std::string(series::kFeaturesDrifting) + s});
    q.push_back({"Missing-value ratio per feature", metric::kModelFeatureMissingRatio.Name() + s});
    q.push_back(
        {"Out-of-range ratio per feature", metric::kModelFeatureOutOfRangeRatio.Name() + s});
  } else if (alert == "FeatureMissing") {
    q.push_back(
        {"Missing ratio above the baseline's", metric::kModelFeatureMissingRatioShift.Name() + s});
    q.push_back({"Noise floor of that shift",
                 metric::kModelFeatureMissingRatioShiftCriticalValue.Name() + s});
    q.push_back({"Missing-value ratio per feature", metric::kModelFeatureMissingRatio.Name() + s});
    q.push_back({"Prediction drift (imputed values move the output)",
                 metric::kModelPredictionDrift.Name() + sel({method})});
  } else if (alert == "PredictionDrift") {
    q.push_back({"Prediction drift", metric::kModelPredictionDrift.Name() + sel({method})});
    q.push_back({"Most drifted features",
                 "topk(10, " + metric::kModelFeatureDrift.Name() + sel({method}) + ")"});
    if (m.task != Task::kRegression) {
      q.push_back({"Class mix by version", std::string(series::kClassShare1h) + s});
    }
  } else if (alert == "PositiveRateShift") {
    q.push_back({"z-score of the positive rate", metric::kModelPositiveRateZscore.Name() + s});
    q.push_back({"Positive rate", metric::kModelPositiveRate.Name() + s});
    q.push_back({"Mean score by version", std::string(series::kScoreMean1h) + s});
  } else if (alert == "ConfidenceDrop" || alert == "EntropyRise") {
    q.push_back(
        {"Confidence ratio (short/long window)", std::string(series::kConfidenceRatio) + s});
    q.push_back({"Entropy ratio (short/long window)", std::string(series::kEntropyRatio) + s});
    if (!m.baseline.empty()) {
      q.push_back({"Mean entropy per window, in baseline standard deviations above its mean",
                   std::string(series::kEntropyShift) + s});
    }
    q.push_back({"Mean confidence per window", metric::kModelPredictionConfidenceMean.Name() + s});
    q.push_back({"Mean entropy per window", metric::kModelPredictionEntropyMean.Name() + s});
    q.push_back({"Anomalous requests", metric::kModelAnomalousRequestsRatio.Name() + s});
  } else if (alert == "AnomalousRequests") {
    q.push_back({"Anomalous share per window", metric::kModelAnomalousRequestsRatio.Name() + s});
    q.push_back({"Features most often out of range",
                 "topk(10, " + metric::kModelFeatureOutOfRangeRatio.Name() + s + ")"});
  } else if (alert == "DegradationScore") {
    q.push_back({"Score by version", metric::kModelDegradationScore.Name() + s});
    q.push_back({"Contributing signals", metric::kModelDegradationSignal.Name() + s});
    q.push_back({"Change over the last hour", metric::kModelDegradationScore.Name() + s + " - " +
                                                  metric::kModelDegradationScore.Name() + s +
                                                  " offset 1h"});
  } else if (alert == "LowLabelMatchRate") {
    q.push_back({"Label match ratio", metric::kModelLabelMatchRatio.Name() + s});
    q.push_back({"Labels matching no prediction per second",
                 "rate(" + metric::kModelLabelsUnmatchedTotal.Name() + s + "[1h])"});
  } else if (alert == "PerformanceBelowRetrainThreshold") {
    const std::string metric = m.ground_truth && m.ground_truth->retrain_when
                                   ? m.ground_truth->retrain_when->metric
                                   : "auc";
    q.push_back({"Labelled performance",
                 metric::kModelPerformance.Name() + sel({"metric=\"" + metric + "\""})});
    q.push_back({"Per segment",
                 metric::kModelSegmentPerformance.Name() + sel({"metric=\"" + metric + "\""})});
    q.push_back({"Baseline (labelled reference data)",
                 metric::kModelBaselinePerformance.Name() + sel({"metric=\"" + metric + "\""})});
    q.push_back({"Label-free estimate", metric::kModelEstimatedPerformance.Name() + s});
    q.push_back({"Label match ratio", metric::kModelLabelMatchRatio.Name() + s});
  } else if (alert == "CalibrationDrift") {
    const std::string ece = "metric=\"ece\"";
    q.push_back({"Calibration error of the labelled predictions",
                 metric::kModelPerformance.Name() + sel({ece})});
    q.push_back({"Baseline (labelled reference data)",
                 metric::kModelBaselinePerformance.Name() + sel({ece})});
    q.push_back({"Labelled predictions per window", metric::kModelPerformanceSamples.Name() + s});
    q.push_back(
        {"Label-free estimate and its interval", metric::kModelEstimatedPerformance.Name() + s});
  } else if (alert == "ShadowDisagreement") {
    q.push_back({"Agreement ratio", metric::kModelShadowAgreementRatio.Name() + s});
    q.push_back({"Score correlation", metric::kModelShadowScoreCorrelation.Name() + s});
    q.push_back({"Score KS distance", metric::kModelShadowScoreKs.Name() + s});
  }
  return q;
}

// A Markdown table cell: pipes escaped.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// The `amtool silence add` command for one alert: exact matchers for the alert name and the
// labels that identify its series (model, and for per-feature alerts the feature).
std::string SilenceCommand(const std::string& alert, const AlertRule& a, const ModelConfig* m) {
  std::string cmd =
      "amtool silence add --alertmanager.url=\"${ALERTMANAGER_URL:-http://localhost:9093}\" \\\n"
      "  --duration=2h --comment=\"false alarm: <why>, fixed in <ticket>\" \\\n"
      "  alertname=\"" +
      alert + "\"";
  if (m) {
    cmd += " model=\"" + m->name + "\"";
  } else {
    for (const auto& [k, v] : a.labels) {
      if (k == "team") cmd += " team=\"" + v + "\"";
    }
  }
  if (alert == "FeatureDrift" || alert == "FeatureMissing") cmd += " feature=\"<feature>\"";
  return cmd;
}

std::string Str(const YAML::Node& n, const std::string& key) {
  return n[key] ? n[key].as<std::string>() : std::string();
}

// One rule file's share of every runbook it touches: its rows of the trigger table, its
// queries and silence commands. A runbook lists the shares of the rule files in their order
// (BuildAllRules: the fleet's first, then the models'), so it can be assembled from the shares
// of files built one at a time, on any thread.
struct AlertShare {
  std::set<std::string> severities;
  std::string triggers;
  std::string queries;
  std::string silence;
  bool queried = false;   // the model's expression and diagnostic queries are in `queries`
  bool silenced = false;  // the model's (or the platform team's) silence command is in `silence`
};
using FileShare = std::map<std::string, AlertShare>;  // by alertname

// `m` is the model of `file`, nullptr for the fleet's own rules.
FileShare ShareOf(const ModelConfig* m, const RuleFile& file) {
  FileShare shares;
  for (const RuleGroup& g : file.groups) {
    for (const AlertRule& ar : g.alerts) {
      const AlertRule* a = &ar;
      const std::string& alert = a->name;
      AlertShare& sh = shares[alert];
      sh.severities.insert(SeverityName(a->severity));
      if (alert != "Watchdog" && !sh.silenced) {
        sh.silenced = true;
        sh.silence += (m ? "For " + m->name : std::string("For the platform team")) +
                      (alert == "FeatureDrift" || alert == "FeatureMissing"
                           ? " (one feature; drop `feature=` for all)"
                           : "") +
                      ":\n\n```sh\n" + SilenceCommand(alert, *a, m) + "\n```\n\n";
      }
      if (!m && alert != "Watchdog") {  // a fleet alert (rulegen/meta_rules.h)
        std::string team;
        for (const auto& [k, v] : a->labels) {
          if (k == "team") team = v;
        }
        sh.triggers +=
            "| - | " + team + " | - | " + SeverityName(a->severity) + " | " + Cell(a->trigger) +
            " | " + (a->for_duration.count() ? FormatDuration(a->for_duration) : "-") + " | - |\n";
        sh.queries += "The alert's expression (" + std::string(SeverityName(a->severity)) +
                      "):\n\n```promql\n" + a->expr + "\n```\n\n";
        continue;
      }
      if (!m) continue;
      sh.triggers += "| " + m->name + " | " + m->owner.team + " | " + std::to_string(m->tier) +
                     " | " + SeverityName(a->severity) + " | " + Cell(a->trigger) + " | " +
                     (a->for_duration.count() ? FormatDuration(a->for_duration) : "-") + " | " +
                     (a->keep_firing_for.count() ? FormatDuration(a->keep_firing_for) : "-") +
                     " |\n";
      if (sh.queried) continue;
      sh.queried = true;
      sh.queries += "### " + m->name + "\n\nThe alert's expression (" + SeverityName(a->severity) +
                    "):\n\n```promql\n" + a->expr + "\n```\n\n";
      for (const Query& q : DiagnosticQueries(alert, *m)) {
        sh.queries += q.what + ":\n\n```promql\n" + q.promql + "\n```\n\n";
      }
    }
  }
  return shares;
}

// Keeps every model's share until Finish, which writes the runbooks one at a time.
class RunbookRun : public EmitterRun {
 public:
  explicit RunbookRun(const ConfigSet& config)
      : content_(YAML::Load(std::string(TemplateText("runbooks/content.yml")))),
        tmpl_(TemplateText("runbooks/runbook.md.tmpl")),
        models_(config.models.size()) {}

  void Model(std::size_t index, const ModelConfig& model, const RuleFile& rules,
             FileSink&) override {
    models_.at(index) = ShareOf(&model, rules);
  }

  void Finish(const RuleFile& fleet_rules, FileSink& out) override {
    // Files in BuildAllRules order: the fleet's, then the models'.
    std::vector<FileShare> files;
    files.reserve(models_.size() + 1);
    files.push_back(ShareOf(nullptr, fleet_rules));
    for (FileShare& s : models_) files.push_back(std::move(s));
    models_.clear();
    std::set<std::string> alerts;
    for (const FileShare& f : files) {
      for (const auto& [alert, share] : f) alerts.insert(alert);
    }
    for (const std::string& alert : alerts) {
      AlertShare all;
      for (FileShare& f : files) {
        auto it = f.find(alert);
        if (it == f.end()) continue;
        all.severities.insert(it->second.severities.begin(), it->second.severities.end());
        all.triggers += it->second.triggers;
        all.queries += it->second.queries;
        all.silence += it->second.silence;
        f.erase(it);
      }
      out.Add("runbooks/" + alert + ".md", Runbook(alert, all));
    }
  }

 private:
  std::string Runbook(const std::string& alert, const AlertShare& all) const {
    const YAML::Node c = content_["alerts"][alert];
    if (!c) throw std::runtime_error("templates/runbooks/content.yml has no entry for " + alert);
    const std::set<std::string>& severities = all.severities;
    std::string triggers;
    if (alert == "Watchdog") {
      triggers =
          "Always firing (`vector(1)`), severity `info`, routed to the `heartbeat` receiver.";
    } else {
      triggers =
          "| model | team | tier | severity | condition | for | keep firing for |\n"
          "|---|---|---|---|---|---|---|\n";
    }
    triggers += all.triggers;
    std::string queries = all.queries;
    if (queries.empty()) {
      queries =
          "```promql\nALERTS{alertname=\"Watchdog\"}\n```\n\n"
          "```promql\nsum by (rule_group) "
          "(rate(prometheus_rule_evaluation_failures_total[5m]))\n```\n";
    }
    std::string actions;
    std::string cadence;
    std::string postmortem;
    for (const char* sev : {"page", "ticket", "info"}) {
      if (!severities.count(sev)) continue;
      Severity s = std::string(sev) == "page"     ? Severity::kPage
                   : std::string(sev) == "ticket" ? Severity::kTicket
                                                  : Severity::kInfo;
      actions += std::string(actions.empty() ? "" : "; ") + "**" + RecommendedAction(alert, s) +
                 "** (" + sev + ")";
      const YAML::Node sn = content_["severity"][sev];
      cadence += "**Severity " + std::string(sev) + ":**\n\n" + Str(sn, "cadence") + "\n\n";
      postmortem += "**Severity " + std::string(sev) + ":** " + Str(sn, "postmortem") + "\n\n";
    }
    auto trim = [](std::string s) {
      while (!s.empty() && s.back() == '\n') s.pop_back();
      return s;
    };
    std::string missing;
    std::string md = RenderTemplate(
        tmpl_,
        {{"alert", alert},
         {"meaning", Str(c, "meaning")},
         {"actions", actions},
         {"triggers", trim(triggers)},
         {"immediate", Str(c, "immediate")},
         {"queries", trim(queries)},
         {"mitigation", Str(c, "mitigation")},
         {"cadence", trim(cadence)},
         {"verification", Str(c, "verification")},
         {"silence", alert == "Watchdog" ? "Never silence the Watchdog: the heartbeat service "
                                           "would report the pipeline as broken."
                                         : trim(all.silence)},
         {"postmortem", trim(postmortem)}},
        &missing);
    if (!missing.empty()) throw std::runtime_error("runbook template: unknown key " + missing);
    return md;
  }

  const YAML::Node content_;
  const std::string_view tmpl_;
  std::vector<FileShare> models_;  // by the model's index, until Finish
};

}  // namespace

std::unique_ptr<EmitterRun> RunbookEmitter::Start(const ConfigSet& config) const {
  return std::make_unique<RunbookRun>(config);
}

}  // namespace modelwatch
