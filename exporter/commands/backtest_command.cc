#include "exporter/commands/backtest_command.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/command.h"
#include "core/config_loader.h"
#include "core/flags.h"
#include "core/metric_catalogue.h"
#include "core/temp_dir.h"
#include "core/utc_time.h"
#include "exporter/backtest/process.h"
#include "exporter/backtest/prometheus_server.h"
#include "exporter/backtest/recorded_series.h"
#include "exporter/backtest/report_html.h"
#include "exporter/backtest/rule_files.h"
#include "exporter/backtest/scoring.h"
#include "exporter/backtest/suggest.h"
#include "exporter/groundtruth/label_parser.h"
#include "exporter/parse/record_parser.h"
#include "exporter/replay/replay.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr int kSchemaVersion = 1;

// Unix seconds from epoch seconds or RFC 3339 ("2026-11-22T10:00:00Z", offsets allowed).
Result<double> ParseTime(const std::string& text) {
  char* end = nullptr;
  const double n = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && !text.empty()) return n;
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return MakeError("\"" + text + "\" is neither RFC 3339 nor epoch seconds");
  double t = static_cast<double>(timegm(&tm));
  if (*rest == '.') {
    char* frac_end = nullptr;
    t += std::strtod(rest, &frac_end);
    rest = frac_end;
  }
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hh = 0, mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) {
      return MakeError("\"" + text + "\": bad UTC offset");
    }
    t -= (*rest == '+' ? 1 : -1) * (hh * 3600.0 + mm * 60.0);
    rest += 6;
  } else {
    return MakeError("\"" + text + "\": missing time zone (Z or +hh:mm)");
  }
  if (*rest != '\0') return MakeError("\"" + text + "\": trailing characters");
  return t;
}

// First and last event time of the records of `models` in the log.
struct HistorySpan {
  double first = INFINITY, last = -INFINITY;
};

Result<HistorySpan> ScanHistory(const std::string& path,
                                const std::vector<const ModelConfig*>& models) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path + ": error: cannot read: " + std::strerror(errno));
  RecordParser parser(models);
  HistorySpan span;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!parser.Parse(line)) continue;
    span.first = std::min(span.first, parser.record().timestamp);
    span.last = std::max(span.last, parser.record().timestamp);
  }
  if (!(span.first <= span.last)) return MakeError(path + ": error: no valid record");
  return span;
}

Result<double> LastLabelTime(const std::string& path,
                             const std::vector<const ModelConfig*>& models) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path + ": error: cannot read: " + std::strerror(errno));
  std::vector<std::unique_ptr<LabelParser>> parsers;
  for (const ModelConfig* m : models) {
    if (m->ground_truth) parsers.push_back(std::make_unique<LabelParser>(*m));
  }
  double last = -INFINITY;
  std::string line;
  while (std::getline(in, line)) {
    for (auto& p : parsers) {
      if (auto parsed = p->Parse(line)) {
        last = std::max(last, parsed->timestamp);
        break;
      }
    }
  }
  return last;
}

// Incidents listed by the owner: YAML (or JSON) `incidents: [{model, start, end, visible?,
// name?}]`.
Result<std::vector<Incident>> LoadOwnerIncidents(const std::string& path,
                                                 const std::set<std::string>& models) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return MakeError(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": error: " + e.msg);
  }
  std::vector<Incident> out;
  if (!doc["incidents"] || !doc["incidents"].IsSequence()) {
    return MakeError(path + ":1:1: error: expected a list under `incidents`");
  }
  for (const auto& item : doc["incidents"]) {
    auto where = [&](const YAML::Node& n) {
      return path + ":" + std::to_string(n.Mark().line + 1) + ":" +
             std::to_string(n.Mark().column + 1) + ": error: ";
    };
    if (!item.IsMap()) return MakeError(where(item) + "an incident is a mapping");
    for (const auto& kv : item) {
      const std::string key = kv.first.as<std::string>();
      if (key != "model" && key != "start" && key != "end" && key != "visible" && key != "name") {
        return MakeError(where(kv.first) + "unknown key \"" + key +
                         "\" (model, start, end, visible, name)");
      }
    }
    for (const char* key : {"model", "start", "end"}) {
      if (!item[key]) return MakeError(where(item) + "missing key \"" + key + "\"");
    }
    Incident inc;
    inc.source = "owner";
    inc.model = item["model"].as<std::string>();
    if (!models.count(inc.model)) {
      return MakeError(where(item["model"]) + "model \"" + inc.model + "\" is not backtested");
    }
    inc.name = item["name"] ? item["name"].as<std::string>() : "";
    auto start = ParseTime(item["start"].as<std::string>());
    if (!start) return MakeError(where(item["start"]) + start.error().message);
    auto end = ParseTime(item["end"].as<std::string>());
    if (!end) return MakeError(where(item["end"]) + end.error().message);
    if (*end <= *start) return MakeError(where(item["end"]) + "end is not after start");
    inc.window_start = *start;
    inc.end = *end;
    inc.visible_at = *start;
    if (item["visible"]) {
      auto visible = ParseTime(item["visible"].as<std::string>());
      if (!visible) return MakeError(where(item["visible"]) + visible.error().message);
      inc.visible_at = *visible;
    }
    out.push_back(inc);
  }
  return out;
}

std::string LabelMatcher(const std::string& model) {
  // Model names are [a-z0-9_-]+: no escaping needed.
  return "model=\"" + model + "\"";
}

Json OptionalNumber(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json SeriesJson(const std::vector<RangeSeries>& series, const std::string& label_key) {
  Json out = Json::array();
  for (const auto& s : series) {
    Json points = Json::array();
    for (const auto& [t, v] : s.samples) {
      points.push_back({t, std::isfinite(v) ? Json(v) : Json(nullptr)});
    }
    const auto it = s.labels.find(label_key);
    out.push_back({{"name", it == s.labels.end() ? "" : it->second}, {"points", points}});
  }
  return out;
}

int Fail(const std::string& message) {
  std::cerr << "modelwatch-exporter backtest: " << message << "\n";
  return kExitInvalidInput;
}

// One rule set's alerting rules evaluated over the TSDB (each expression at its group's
// evaluation times, then the state machine of `for` and `keep_firing_for`), and every fired
// label set routed by amtool over the generated Alertmanager configuration.
struct EvaluatedRules {
  std::vector<AlertSeries> alerts;
  Json rules_json = Json::array();
};

Result<EvaluatedRules> EvaluateAlertingRules(
    const std::vector<AlertingRule>& rules, PrometheusServer& prometheus, double first_step,
    double alerts_end, const std::string& alertmanager_file,
    std::map<std::map<std::string, std::string>, std::string>& receiver_cache) {
  EvaluatedRules out;
  for (const AlertingRule& rule : rules) {
    const double start = std::ceil(first_step / rule.interval) * rule.interval;
    const double end = std::floor(alerts_end / rule.interval) * rule.interval;
    if (end < start) continue;
    auto result = prometheus.QueryRange(rule.expr, start, end, rule.interval);
    if (!result) return MakeError(rule.file + ": " + rule.alert + ": " + result.error().message);
    const auto sev = rule.labels.find("severity");
    out.rules_json.push_back({{"alertname", rule.alert},
                              {"severity", sev == rule.labels.end() ? "" : sev->second},
                              {"file", rule.file},
                              {"for_seconds", rule.for_seconds},
                              {"keep_firing_for_seconds", rule.keep_firing_for_seconds},
                              {"interval_seconds", rule.interval},
                              {"series_returned", result->size()}});
    // Label sets as Prometheus builds them: the result's labels without __name__, the
    // rule's labels on top, alertname last.
    std::map<std::map<std::string, std::string>, std::vector<double>> by_labels;
    for (const RangeSeries& s : *result) {
      auto labels = s.labels;
      labels.erase("__name__");
      for (const auto& [k, v] : rule.labels) labels[k] = v;
      labels["alertname"] = rule.alert;
      auto& times = by_labels[labels];
      for (const auto& [t, v] : s.samples) times.push_back(t);
    }
    for (auto& [labels, times] : by_labels) {
      std::sort(times.begin(), times.end());
      AlertSeries a;
      a.alertname = rule.alert;
      a.labels = labels;
      a.severity = labels.count("severity") ? labels.at("severity") : "";
      a.model = labels.count("model") ? labels.at("model") : "";
      a.firing = FiringIntervals(times, start, end, rule.interval, rule.for_seconds,
                                 rule.keep_firing_for_seconds);
      if (!a.firing.empty()) out.alerts.push_back(std::move(a));
    }
  }
  // Receivers from the generated Alertmanager configuration, by amtool.
  for (AlertSeries& a : out.alerts) {
    auto [it, inserted] = receiver_cache.try_emplace(a.labels);
    if (inserted) {
      std::vector<std::string> argv = {"amtool", "config", "routes", "test",
                                       "--config.file=" + alertmanager_file};
      for (const auto& [k, v] : a.labels) argv.push_back(k + "=" + v);
      auto routed = RunProcess(argv);
      if (!routed) return MakeError(routed.error().message);
      std::string receiver;
      std::istringstream lines(routed->output);
      std::string line;
      while (std::getline(lines, line)) {
        if (line.rfind("Warning:", 0) == 0 || line.empty()) continue;
        receiver = line;
      }
      it->second = receiver;
    }
    a.receiver = it->second;
  }
  return out;
}

Json AlertsJson(const std::vector<AlertSeries>& alerts) {
  Json out = Json::array();
  for (const AlertSeries& a : alerts) {
    Json intervals = Json::array();
    for (const Interval& i : a.firing) intervals.push_back({i.start, i.end});
    out.push_back({{"alertname", a.alertname},
                   {"severity", a.severity},
                   {"model", a.model},
                   {"receiver", a.receiver},
                   {"labels", a.labels},
                   {"firing", intervals}});
  }
  return out;
}

Json EpisodesJson(const std::vector<Episode>& episodes) {
  Json out = Json::array();
  for (const Episode& e : episodes) {
    out.push_back({{"alertname", e.alertname},
                   {"severity", e.severity},
                   {"model", e.model},
                   {"receiver", e.receiver},
                   {"start", e.span.start},
                   {"end", e.span.end},
                   {"incidents", e.incidents},
                   {"false", e.incidents.empty()}});
  }
  return out;
}

// The detection fields of the incidents (`full`: with where and when each incident was).
Json IncidentsJson(const std::vector<Incident>& incidents, bool full) {
  Json out = Json::array();
  for (const Incident& inc : incidents) {
    auto lead = [&](const std::optional<double>& at) {
      return at ? Json(inc.visible_at - *at) : Json(nullptr);
    };
    std::optional<double> first;
    if (inc.detected()) {
      first =
          std::min(inc.first_page_at.value_or(INFINITY), inc.first_ticket_at.value_or(INFINITY));
    }
    Json j = {{"id", inc.id}};
    if (full) {
      j["model"] = inc.model;
      j["source"] = inc.source;
      j["name"] = inc.name;
      j["window_start"] = inc.window_start;
      j["visible_at"] = inc.visible_at;
      j["visible_at_rfc3339"] = Rfc3339(inc.visible_at);
      j["end"] = inc.end;
    }
    j["detected"] = inc.detected();
    j["detected_by"] = inc.detected_by;
    j["first_page_at"] = OptionalNumber(inc.first_page_at);
    j["first_ticket_at"] = OptionalNumber(inc.first_ticket_at);
    j["page_lead_seconds"] = lead(inc.first_page_at);
    j["ticket_lead_seconds"] = lead(inc.first_ticket_at);
    j["lead_seconds"] = lead(first);
    j["pages"] = inc.pages;
    j["tickets"] = inc.tickets;
    out.push_back(j);
  }
  return out;
}

Json SummaryJson(const std::vector<ModelScore>& scores) {
  Json summary = Json::array();
  for (const ModelScore& s : scores) {
    summary.push_back(
        {{"model", s.model},
         {"incidents", s.incidents},
         {"detected", s.detected},
         {"missed", s.incidents - s.detected},
         {"detected_by_page", s.detected_by_page},
         {"median_page_lead_seconds", OptionalNumber(s.median_page_lead_seconds)},
         {"median_ticket_lead_seconds", OptionalNumber(s.median_ticket_lead_seconds)},
         {"median_lead_seconds", OptionalNumber(s.median_lead_seconds)},
         {"pages", s.pages},
         {"tickets", s.tickets},
         {"false_pages", s.false_pages},
         {"false_tickets", s.false_tickets},
         {"days", s.days},
         {"days_outside_incidents", s.days_outside_incidents},
         {"false_pages_per_day", OptionalNumber(s.false_pages_per_day)},
         {"false_tickets_per_day", OptionalNumber(s.false_tickets_per_day)},
         {"false_notifications_per_day", OptionalNumber(s.false_notifications_per_day)},
         {"pages_per_incident", OptionalNumber(s.pages_per_incident)}});
  }
  return summary;
}

std::string FormatNumber(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

Json OutcomeJson(const ThresholdOutcome& o) {
  return {{"threshold", o.threshold},
          {"incidents", o.incidents},
          {"detected", o.detected},
          {"false_pages", o.false_pages},
          {"false_pages_per_day", OptionalNumber(o.false_pages_per_day)},
          {"median_lead_seconds", OptionalNumber(o.median_lead_seconds)}};
}

// `for` and `keep_firing_for` of the generated page alert `alertname` of `model` (0, 0 when
// there is none).
std::pair<double, double> PageTiming(const std::vector<AlertingRule>& rules,
                                     const std::string& alertname, const std::string& model) {
  for (const AlertingRule& r : rules) {
    const auto sev = r.labels.find("severity");
    const auto m = r.labels.find("model");
    if (r.alert == alertname && sev != r.labels.end() && sev->second == "page" &&
        m != r.labels.end() && m->second == model) {
      return {r.for_seconds, r.keep_firing_for_seconds};
    }
  }
  return {0, 0};
}

// The model's own `drift` and `degradation` blocks with the suggested values in place, as
// YAML to paste over those two blocks of its file (the other keys as the owner wrote them).
Result<std::string> SuggestionYaml(const ModelConfig& m,
                                   const std::map<std::string, std::string>& drift_keys,
                                   const std::map<std::string, std::string>& degradation_keys,
                                   const std::map<std::string, double>& weights,
                                   const std::string& header) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(m.file);
  } catch (const YAML::Exception& e) {
    return MakeError(m.file + ": error: " + e.msg);
  }
  YAML::Node drift = doc["drift"] ? YAML::Clone(doc["drift"]) : YAML::Node(YAML::NodeType::Map);
  YAML::Node degradation =
      doc["degradation"] ? YAML::Clone(doc["degradation"]) : YAML::Node(YAML::NodeType::Map);
  for (const auto& [k, v] : drift_keys) drift[k] = v;
  for (const auto& [k, v] : degradation_keys) degradation[k] = v;
  if (!weights.empty()) {
    YAML::Node w(YAML::NodeType::Map);
    for (const auto& [k, v] : weights) w[k] = FormatNumber(v);
    w.SetStyle(YAML::EmitterStyle::Flow);
    degradation["weights"] = w;
  }
  drift.SetStyle(YAML::EmitterStyle::Block);
  degradation.SetStyle(YAML::EmitterStyle::Block);
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "drift" << YAML::Value << drift << YAML::Key
      << "degradation" << YAML::Value << degradation << YAML::EndMap;
  return header + out.c_str() + "\n";
}

// Progress lines on stderr: "backtest: <seconds since start>s: <what>".
class Progress {
 public:
  void operator()(const std::string& what) const {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::cerr << "backtest: " << static_cast<long long>(s) << "s: " << what << "\n";
  }

 private:
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

// The times every step of a backtest shares.
struct TimeRange {
  double step = 60;       // the replay step
  double first_step = 0;  // the first replayed state
  double replay_end = 0;  // one step past the last record or label
  double alerts_end = 0;  // the last record: alerts are evaluated while predictions arrive
};

// A comparison rule set (--peer-rules): name (the file's stem), file, rules, and what the
// backtest made of them.
struct PeerSet {
  std::string name, file;
  std::vector<AlertingRule> rules;
  EvaluatedRules evaluated;
  std::vector<Incident> incidents;
  std::vector<Episode> episodes;
  std::vector<ModelScore> scores;
};

Result<std::vector<PeerSet>> LoadPeerSets(const std::string& comma_separated, const Progress& log) {
  std::vector<PeerSet> peers;
  std::istringstream list(comma_separated);
  std::string file;
  while (std::getline(list, file, ',')) {
    if (file.empty()) continue;
    auto loaded = LoadAlertingRuleFile(file);
    if (!loaded) return tl::unexpected(loaded.error());
    std::string name = fs::path(file).filename().string();
    for (const char* ext : {".rules.yml", ".rules.yaml", ".yml", ".yaml"}) {
      const std::string e = ext;
      if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
        name.resize(name.size() - e.size());
        break;
      }
    }
    log("peer rules " + name + ": " + std::to_string(loaded->size()) + " alerting rule(s) from " +
        file);
    peers.push_back({name, file, std::move(*loaded), {}, {}, {}, {}});
  }
  return peers;
}

// Writes an OpenMetrics file as TSDB blocks into `out_dir`, then removes the file. promtool
// parses the whole file once per block it writes, and a block spans at most the largest of
// 2h, 6h, 18h, 54h, ... not above --max-block-duration: with 24h (18h blocks) a 30-day
// replay was parsed 44 times (8.7 of a 30-minute backtest's minutes). A year gives blocks of
// 4,374 h: a history of up to half a year is parsed once or twice. The price is promtool's
// memory: it holds a block's samples until it writes it.
Result<void> Backfill(const std::string& om_path, const std::string& out_dir,
                      const std::string& what) {
  auto run = RunProcess({"promtool", "tsdb", "create-blocks-from", "openmetrics",
                         "--max-block-duration=8760h", om_path, out_dir});
  if (!run) return tl::unexpected(run.error());
  if (run->exit_code != 0) {
    return MakeError("promtool tsdb create-blocks-from openmetrics" + what + " failed:\n" +
                     run->output);
  }
  fs::remove(om_path);
  return {};
}

// Step 1: the exporter's states over the history (the replay) into the TSDB.
Result<void> BackfillReplay(ReplayOptions replay, const std::string& step_text,
                            const std::string& tsdb, const Progress& log) {
  log("replaying " + replay.input);
  auto replayed = Replay(replay);
  if (!replayed) {
    std::cerr << replayed.error().ToString() << "\n";
    return MakeError("replay failed");
  }
  std::cerr << DescribeReplay(*replayed, step_text, replay.output) << "\n";
  log("writing TSDB blocks");
  return Backfill(replay.output, tsdb, "");
}

// Step 2: recording rules, level by level. Each level's rules are evaluated by a Prometheus
// over the TSDB holding the levels before (query_range at the group's evaluation times, as
// `promtool tsdb create-blocks-from rules` does) and their series written back as blocks.
Result<void> BackfillRecordingRules(const RuleSet& rules, const TimeRange& range,
                                    const std::string& tsdb, const std::string& work,
                                    const Progress& log) {
  for (int level = 0; level < rules.levels; ++level) {
    log("evaluating recording rules, level " + std::to_string(level + 1) + " of " +
        std::to_string(rules.levels));
    auto server = PrometheusServer::Start(tsdb, work);
    if (!server) return tl::unexpected(server.error());
    RecordedSeriesWriter recorded;
    for (const RecordingRule& rule : rules.recording) {
      if (rule.level != level) continue;
      // The exporter's state changes once per replay step: evaluating more often would only
      // repeat the same inputs (docs/backtest.md).
      const double interval = std::max(rule.interval, range.step);
      const double start = std::ceil(range.first_step / interval) * interval;
      auto result = (*server)->QueryRange(rule.expr, start, range.replay_end, interval);
      if (!result) {
        return MakeError("recording rule " + rule.record + ": " + result.error().message);
      }
      recorded.Add(rule.record, rule.labels, *result);
    }
    server->reset();
    if (recorded.samples() == 0) continue;
    const std::string om_path = work + "/level" + std::to_string(level) + ".om";
    if (auto ok = recorded.Write(om_path); !ok) return ok;
    const std::string out_dir = work + "/rule-blocks" + std::to_string(level);
    if (auto ok = Backfill(om_path, out_dir, " (recording rules)"); !ok) return ok;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
      if (entry.is_directory()) {
        fs::rename(entry.path(), tsdb + "/" + entry.path().filename().string());
      }
    }
  }
  return {};
}

// Step 4, for one model: the incidents its label-based performance shows (the retrain
// threshold crossed in the shortest performance window), its entry of the result's `models`
// and its plots (performance, degradation score and signals).
Result<void> FindModelIncidents(const ModelConfig& m, PrometheusServer& prometheus,
                                const TimeRange& range, std::optional<double> lookback_flag,
                                std::vector<Incident>& incidents, Json& model_json, Json& plots) {
  Json mj = {{"model", m.name}, {"team", m.owner.team}};
  const std::string sel = LabelMatcher(m.name);
  Json plot = Json::object();
  if (m.ground_truth && m.ground_truth->retrain_when && !m.ground_truth->windows.empty()) {
    const RetrainConfig& rt = *m.ground_truth->retrain_when;
    const Window* shortest = &m.ground_truth->windows.front();
    for (const Window& w : m.ground_truth->windows) {
      if (w.length < shortest->length) shortest = &w;
    }
    const bool below = !rt.above.has_value();
    const double threshold = below ? rt.below : *rt.above;
    const double window = static_cast<double>(shortest->length.count());
    const double delay = static_cast<double>(m.ground_truth->delay.count());
    const double lookback = lookback_flag.value_or(delay + 2 * window);
    const std::string expr = std::string(below ? "min" : "max") + " by (model) (" +
                             metric::kModelPerformance.Name() + "{" + sel + ",metric=\"" +
                             rt.metric + "\",window=\"" + shortest->label + "\"})";
    auto perf = prometheus.QueryRange(expr, range.first_step, range.replay_end, range.step);
    if (!perf) return tl::unexpected(perf.error());
    // Until one window (plus the label delay) has passed, the window holds only the first
    // few labels: no incident is taken from there.
    const double settled = range.first_step + window + delay;
    std::vector<std::pair<double, double>> samples;
    if (!perf->empty()) {
      for (const auto& sample : perf->front().samples) {
        if (sample.first >= settled) samples.push_back(sample);
      }
    }
    auto found =
        FindLabelIncidents(m.name, samples, range.step, threshold, below, window, lookback);
    incidents.insert(incidents.end(), found.begin(), found.end());
    mj["retrain"] = {{"metric", rt.metric},
                     {"window", shortest->label},
                     {"direction", below ? "below" : "above"},
                     {"threshold", threshold},
                     {"lookback_seconds", lookback},
                     {"expr", expr}};
    plot["performance"] = SeriesJson(*perf, "model");
  } else {
    mj["retrain"] = nullptr;
  }
  model_json.push_back(mj);
  // Plot series at no more than ~1,500 points.
  const double plot_step =
      std::max(range.step,
               std::ceil((range.replay_end - range.first_step) / 1500 / range.step) * range.step);
  for (const auto& [key, expr, label] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"degradation_score",
            "max by (model) (" + metric::kModelDegradationScore.Name() + "{" + sel + "})", "model"},
           {"degradation_signals",
            "max by (signal) (" + metric::kModelDegradationSignal.Name() + "{" + sel + "})",
            "signal"}}) {
    auto series = prometheus.QueryRange(expr, range.first_step, range.replay_end, plot_step);
    if (!series) return tl::unexpected(series.error());
    plot[key] = SeriesJson(*series, label);
  }
  plots[m.name] = plot;
  return {};
}

// Step 5, for one model: page thresholds that would have met the target false-page rate
// with the best lead, and degradation weights from each signal's relation to the incidents;
// the result's `suggestions` entry, with the YAML snippet.
Result<Json> SuggestForModel(const ModelConfig& m, PrometheusServer& prometheus,
                             const TimeRange& range, const std::vector<AlertingRule>& alerting,
                             const std::vector<Incident>& incidents,
                             const std::vector<ModelScore>& scores, double target_false_pages) {
  const std::string sel = LabelMatcher(m.name);
  auto series_of = [&](const std::string& expr) -> Result<std::vector<RangeSeries>> {
    return prometheus.QueryRange(
        expr, range.first_step, std::floor(range.alerts_end / range.step) * range.step, range.step);
  };
  const std::string method = DriftMethodName(m.drift.method);
  // drift.critical governs neither muted features nor those with their own drift settings.
  std::string muted;
  for (const FeatureConfig& f : m.features) {
    if (!f.alert || EffectiveFeatureDrift(m.drift, f).overridden) {
      muted += (muted.empty() ? "" : "|") + f.name;
    }
  }
  const std::string feature_sel =
      sel + ",method=\"" + method + "\"" + (muted.empty() ? "" : ",feature!~\"" + muted + "\"");
  const std::string output_sel = sel + ",method=\"" + method + "\"";
  // The FeatureDrift/PredictionDrift condition without the owner's threshold: the largest
  // drift value that is beyond its noise floor.
  const std::string drift_expr =
      "max by (model) ((" + metric::kModelFeatureDrift.Name() + "{" + feature_sel + "} > " +
      metric::kModelFeatureDriftCriticalValue.Name() + "{" + feature_sel + "}) or (" +
      metric::kModelPredictionDrift.Name() + "{" + output_sel + "} > " +
      metric::kModelPredictionDriftCriticalValue.Name() + "{" + output_sel + "}))";
  const std::string score_expr =
      "max by (model) (" + metric::kModelDegradationScore.Name() + "{" + sel + "})";
  const double bounded_max =
      (m.drift.method == DriftMethod::kKs || m.drift.method == DriftMethod::kJs) ? 1.0 : INFINITY;
  // Floors (docs/backtest.md): no page threshold below the start of "moderate" drift (0.1
  // for PSI, and a practical effect for JS, KS and normalised Wasserstein), nor a degradation
  // score below 20 (one signal of weight 0.2 saturated): a history whose gated signals stay
  // at 0 outside its few incidents would otherwise fit any tiny value.
  const double drift_floor = m.drift.method == DriftMethod::kChi2 ? 1e-9 : 0.1;
  struct Target {
    std::string key, alertname, expr;
    double configured, min, max;
  };
  const std::vector<Target> targets = {
      {"drift.critical", "FeatureDrift", drift_expr, m.drift.critical, drift_floor, bounded_max},
      {"degradation.page_at", "DegradationScore", score_expr, m.degradation.page_at, 20.0, 100.0}};
  Json thresholds = Json::array();
  std::map<std::string, std::string> drift_keys, degradation_keys;
  for (const Target& target : targets) {
    auto series = series_of(target.expr);
    if (!series) return tl::unexpected(series.error());
    std::vector<std::pair<double, double>> samples;
    if (!series->empty()) samples = series->front().samples;
    const auto [for_s, keep_s] = PageTiming(alerting, target.alertname, m.name);
    const ThresholdSuggestion sug = SuggestThreshold(
        samples, target.configured, target.min, target.max, target_false_pages, range.step, for_s,
        keep_s, incidents, m.name, range.first_step, range.alerts_end);
    thresholds.push_back({{"key", target.key},
                          {"alertname", target.alertname},
                          {"expr", target.expr},
                          {"floor", target.min},
                          {"for_seconds", for_s},
                          {"keep_firing_for_seconds", keep_s},
                          {"current", OutcomeJson(sug.current)},
                          {"suggested", sug.suggested ? OutcomeJson(*sug.suggested) : Json()}});
    if (!sug.suggested) continue;
    const double v = sug.suggested->threshold;
    if (target.key == "drift.critical") {
      drift_keys["critical"] = FormatNumber(v);
      if (m.drift.warn >= v) drift_keys["warn"] = FormatNumber(RoundUpTwoDigits(v / 2));
    } else {
      degradation_keys["page_at"] = FormatNumber(v);
      if (m.degradation.notify_at >= v) {
        degradation_keys["notify_at"] = FormatNumber(RoundUpTwoDigits(v * 0.75));
      }
    }
  }
  // Weights: each weighted signal's normalised input (signal / (100 · weight)).
  auto signal_series =
      series_of("max by (signal) (" + metric::kModelDegradationSignal.Name() + "{" + sel + "})");
  if (!signal_series) return tl::unexpected(signal_series.error());
  std::map<std::string, std::vector<std::pair<double, double>>> inputs;
  for (const RangeSeries& rs : *signal_series) {
    const auto name = rs.labels.find("signal");
    if (name == rs.labels.end()) continue;
    const auto w = m.degradation.weights.find(name->second);
    if (w == m.degradation.weights.end() || !(w->second > 0)) continue;
    auto& points = inputs[name->second];
    for (const auto& [t, v] : rs.samples) points.push_back({t, v / (100 * w->second)});
  }
  const WeightSuggestion weights = SuggestWeights(inputs, incidents, m.name, m.degradation.weights);
  int label_incidents = 0;
  for (const Incident& inc : incidents) {
    if (inc.model == m.name && inc.source == "labels") ++label_incidents;
  }
  double days_outside = 0;
  for (const ModelScore& sc : scores) {
    if (sc.model == m.name) days_outside = sc.days_outside_incidents;
  }
  std::ostringstream header;
  header << "# Suggested by modelwatch-exporter backtest for " << m.name
         << ": paste over the drift and\n# degradation blocks of "
         << fs::path(m.file).filename().string() << ". Target " << FormatNumber(target_false_pages)
         << " false pages/day over " << FormatNumber(std::round(days_outside * 100) / 100)
         << " days outside incidents;\n# weights from " << label_incidents << " label incident(s)"
         << (weights.weights.empty() ? " (unchanged: no signal related)" : "")
         << ". Few incidents: backtest other history before\n# trusting them "
            "(docs/backtest.md).\n";
  auto yaml = SuggestionYaml(m, drift_keys, degradation_keys, weights.weights, header.str());
  if (!yaml) return tl::unexpected(yaml.error());
  Json current_weights = Json::object();
  for (const auto& [k, v] : m.degradation.weights) current_weights[k] = v;
  return Json{{"model", m.name},
              {"target_false_pages_per_day", target_false_pages},
              {"thresholds", thresholds},
              {"weights",
               {{"label_incidents", label_incidents},
                {"correlation", weights.correlation},
                {"current", current_weights},
                {"suggested", weights.weights.empty() ? Json() : Json(weights.weights)}}},
              {"yaml", *yaml}};
}

Json PeersJson(const std::vector<PeerSet>& peers) {
  Json out = Json::array();
  for (const PeerSet& p : peers) {
    out.push_back({{"name", p.name},
                   {"rules_file", p.file},
                   {"rules", p.evaluated.rules_json},
                   {"alerts", AlertsJson(p.evaluated.alerts)},
                   {"notifications", EpisodesJson(p.episodes)},
                   {"incidents", IncidentsJson(p.incidents, false)},
                   {"summary", SummaryJson(p.scores)}});
  }
  return out;
}

// The flags that are numbers and durations, checked. Returns the usage exit code on a bad one.
struct NumericFlags {
  double step = 60;
  double target_false_pages = 0;
  std::optional<double> lookback;
};

std::optional<int> ParseNumericFlags(const FlagParser& flags, NumericFlags& out) {
  auto step = ParsePrometheusDuration(flags.Get("step"));
  if (!step || *step < 1) {
    std::cerr << "modelwatch-exporter backtest: --step: must be a duration of at least 1s\n";
    return kExitUsage;
  }
  out.step = *step;
  char* end = nullptr;
  const std::string text = flags.Get("target-false-pages-per-day");
  out.target_false_pages = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(out.target_false_pages >= 0)) {
    std::cerr << "modelwatch-exporter backtest: --target-false-pages-per-day: must be a "
                 "number >= 0\n";
    return kExitUsage;
  }
  if (!flags.Get("lookback").empty()) {
    auto d = ParsePrometheusDuration(flags.Get("lookback"));
    if (!d) {
      std::cerr << "modelwatch-exporter backtest: --lookback: " << d.error().message << "\n";
      return kExitUsage;
    }
    out.lookback = *d;
  }
  return std::nullopt;
}

}  // namespace

int RunBacktestCommand(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-exporter backtest --config.dir=DIR --rules.dir=DIR --input=FILE "
      "[--labels=FILE] [--incidents=FILE] [--peer-rules=FILE,...] --output=FILE [--html=FILE]",
      "Replays a prediction history (and its labels) through the exporter, evaluates the "
      "generated recording and alerting rules over it with Prometheus (promtool and "
      "prometheus from PATH), and scores the alerts against the incidents the labels show: "
      "detections, lead times, false pages per day. See docs/backtest.md.",
      {{"config.dir", "Directory of model YAML files.", "", false, true},
       {"rules.dir",
        "Output directory of `modelwatch-rulegen generate` (rules/ and "
        "alertmanager/alertmanager.yml).",
        "", false, true},
       {"input", "Prediction log, JSON Lines, read whole.", "", false, true},
       {"labels", "Ground-truth label log.", "", false, false},
       {"incidents", "Owner's incident list (YAML: incidents: [{model, start, end}]).", "", false,
        false},
       {"model", "Backtest only this model (default: every model in config.dir).", "", false,
        false},
       {"step", "Replay step: interval between the exporter states written.", "1m", false, false},
       {"lookback",
        "How long before an incident became visible in labels an alert still counts for it "
        "(default: the model's ground_truth.delay + twice its shortest performance window).",
        "", false, false},
       {"output", "JSON result to write.", "", false, true},
       {"html", "Self-contained HTML report to write.", "", false, false},
       {"keep-tsdb", "Copy the backfilled TSDB to this directory (for inspection).", "", false,
        false},
       {"target-false-pages-per-day",
        "False pages per day (outside incidents) the suggested page thresholds may have had.", "0",
        false, false},
       {"peer-rules",
        "Prometheus rule files (comma-separated) of alerting rules, each judged on the same "
        "replay, incidents and scoring as the generated rules (e.g. from "
        "examples/backtest/peer_rules.py); reported under `peers`.",
        "", false, false}});
  if (auto exit_code = flags.ParseOrExit(args, "modelwatch-exporter backtest")) {
    return *exit_code;
  }
  StopChildrenOnSignal();
  const Progress log;
  NumericFlags numbers;
  if (auto exit_code = ParseNumericFlags(flags, numbers)) return *exit_code;

  // The inputs: configuration, generated rules, peer rules, owner incidents, the history's
  // time span.
  auto config = LoadConfigOrReport(flags.Get("config.dir"));
  if (!config) return kExitInvalidInput;
  const std::vector<const ModelConfig*> models =
      SelectModels(*config, flags.Get("model"), flags.Get("config.dir"));
  if (models.empty()) return kExitInvalidInput;
  std::vector<std::string> model_names, skip_rule_files;
  for (const ModelConfig& m : config->models) {
    if (flags.Get("model").empty() || m.name == flags.Get("model")) {
      model_names.push_back(m.name);
    } else {
      skip_rule_files.push_back(m.name + ".rules.yml");
    }
  }
  const std::string alertmanager_file = flags.Get("rules.dir") + "/alertmanager/alertmanager.yml";
  auto rules = LoadRuleFiles(flags.Get("rules.dir") + "/rules", skip_rule_files);
  if (!rules) return Fail(rules.error().message);
  log("rules: " + std::to_string(rules->alerting.size()) + " alerting, " +
      std::to_string(rules->recording.size()) + " recording rule(s) they read (" +
      std::to_string(rules->skipped_recording) + " others skipped), " +
      std::to_string(rules->levels) + " level(s)");
  if (!fs::exists(alertmanager_file)) return Fail(alertmanager_file + ": error: missing");
  auto peers = LoadPeerSets(flags.Get("peer-rules"), log);
  if (!peers) return Fail(peers.error().message);
  std::vector<Incident> owner_incidents;
  if (!flags.Get("incidents").empty()) {
    auto loaded =
        LoadOwnerIncidents(flags.Get("incidents"), {model_names.begin(), model_names.end()});
    if (!loaded) return Fail(loaded.error().message);
    owner_incidents = std::move(*loaded);
  }
  auto span = ScanHistory(flags.Get("input"), models);
  if (!span) return Fail(span.error().message);
  double last_label = -INFINITY;
  if (!flags.Get("labels").empty()) {
    auto t = LastLabelTime(flags.Get("labels"), models);
    if (!t) return Fail(t.error().message);
    last_label = *t;
  }
  TimeRange range;
  range.step = numbers.step;
  range.first_step = std::ceil(span->first / range.step) * range.step;
  range.replay_end = std::max(std::ceil(span->last / range.step) * range.step,
                              std::ceil(last_label / range.step) * range.step) +
                     range.step;
  // Alerts are evaluated while predictions arrive: after the last record the replayed
  // counters stand still (only labels arrive), which ModelDown would read as an outage.
  range.alerts_end = span->last;

  auto scratch = TempDir::Create("modelwatch-backtest");
  if (!scratch) return Fail(scratch.error().ToString());
  const std::string work = scratch->path();
  const std::string tsdb = work + "/tsdb";
  fs::create_directories(tsdb);

  // 1. The replay and 2. the recording rules, into the TSDB.
  ReplayOptions replay;
  replay.models = models;
  replay.input = flags.Get("input");
  replay.labels = flags.Get("labels");
  replay.step = range.step;
  replay.output = work + "/series.om";
  if (auto ok = BackfillReplay(replay, flags.Get("step"), tsdb, log); !ok) {
    return Fail(ok.error().message);
  }
  if (auto ok = BackfillRecordingRules(*rules, range, tsdb, work, log); !ok) {
    return Fail(ok.error().message);
  }
  log("starting prometheus over the backfilled TSDB");
  auto server = PrometheusServer::Start(tsdb, work);
  if (!server) return Fail(server.error().message);
  std::unique_ptr<PrometheusServer> prometheus = std::move(*server);

  // 3. Alerting rules: each expression at its group's evaluation times, then the state
  // machine of `for` and `keep_firing_for`; receivers by amtool.
  log("evaluating " + std::to_string(rules->alerting.size()) + " alerting rules");
  std::map<std::map<std::string, std::string>, std::string> receiver_cache;
  auto evaluated = EvaluateAlertingRules(rules->alerting, *prometheus, range.first_step,
                                         range.alerts_end, alertmanager_file, receiver_cache);
  if (!evaluated) return Fail(evaluated.error().message);
  const std::vector<AlertSeries>& alerts = evaluated->alerts;
  for (PeerSet& p : *peers) {
    log("evaluating " + std::to_string(p.rules.size()) + " alerting rules of " + p.name);
    auto e = EvaluateAlertingRules(p.rules, *prometheus, range.first_step, range.alerts_end,
                                   alertmanager_file, receiver_cache);
    if (!e) return Fail(e.error().message);
    p.evaluated = std::move(*e);
  }

  // 4. Incidents: label-visible ones from model_performance, plus the owner's; then every
  // rule set's notifications scored against them.
  log("finding incidents in the label-based performance");
  std::vector<Incident> incidents;
  Json model_json = Json::array();
  Json plots = Json::object();
  for (const ModelConfig* m : models) {
    if (auto ok = FindModelIncidents(*m, *prometheus, range, numbers.lookback, incidents,
                                     model_json, plots);
        !ok) {
      return Fail(ok.error().message);
    }
  }
  for (Incident& inc : owner_incidents) incidents.push_back(inc);
  std::stable_sort(incidents.begin(), incidents.end(), [](const Incident& a, const Incident& b) {
    return a.visible_at < b.visible_at;
  });
  for (std::size_t i = 0; i < incidents.size(); ++i) incidents[i].id = "I" + std::to_string(i + 1);
  std::vector<Episode> episodes;
  std::vector<ModelScore> scores;
  ScoreAlerts(alerts, incidents, model_names, range.first_step, range.alerts_end, &episodes,
              &scores);
  // Each peer rule set against the same incidents (a copy: ScoreAlerts fills their
  // detections).
  for (PeerSet& p : *peers) {
    p.incidents = incidents;
    ScoreAlerts(p.evaluated.alerts, p.incidents, model_names, range.first_step, range.alerts_end,
                &p.episodes, &p.scores);
  }

  // 5. Suggestions.
  log("suggesting thresholds and weights");
  Json suggestions = Json::array();
  for (const ModelConfig* m : models) {
    auto s = SuggestForModel(*m, *prometheus, range, rules->alerting, incidents, scores,
                             numbers.target_false_pages);
    if (!s) return Fail(s.error().message);
    suggestions.push_back(std::move(*s));
  }

  // 6. The result.
  Json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["range"] = {{"start", range.first_step},
                  {"end", range.replay_end},
                  {"alerts_end", range.alerts_end},
                  {"start_rfc3339", Rfc3339(range.first_step)},
                  {"end_rfc3339", Rfc3339(range.replay_end)},
                  {"step_seconds", range.step}};
  doc["models"] = model_json;
  doc["rules"] = evaluated->rules_json;
  doc["alerts"] = AlertsJson(alerts);
  doc["notifications"] = EpisodesJson(episodes);
  doc["incidents"] = IncidentsJson(incidents, true);
  doc["summary"] = SummaryJson(scores);
  doc["peers"] = PeersJson(*peers);
  doc["suggestions"] = suggestions;
  doc["plots"] = plots;
  if (auto ok = WriteFileAtomically(flags.Get("output"), doc.dump(1) + "\n"); !ok) {
    return Fail("error: " + ok.error().message);
  }
  if (!flags.Get("html").empty()) {
    if (auto ok = WriteFileAtomically(flags.Get("html"), RenderBacktestHtml(doc)); !ok) {
      return Fail("error: " + ok.error().message);
    }
  }
  if (!flags.Get("keep-tsdb").empty()) {
    prometheus.reset();
    std::error_code ec;
    fs::copy(tsdb, flags.Get("keep-tsdb"), fs::copy_options::recursive, ec);
    if (ec) return Fail(flags.Get("keep-tsdb") + ": error: " + ec.message());
  }
  int detected = 0, total = 0, false_pages = 0;
  for (const ModelScore& s : scores) {
    detected += s.detected;
    total += s.incidents;
    false_pages += s.false_pages;
  }
  log(std::to_string(alerts.size()) + " alert label set(s) fired; " + std::to_string(detected) +
      " of " + std::to_string(total) + " incident(s) detected; " + std::to_string(false_pages) +
      " false page(s); result in " + flags.Get("output"));
  return kExitOk;
}

}  // namespace modelwatch
