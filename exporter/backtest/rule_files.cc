#include "exporter/backtest/rule_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace modelwatch {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

// True if `name` occurs in `expr` as a whole metric name (not inside a longer name, a label
// value or a string).
bool Mentions(const std::string& expr, const std::string& name) {
  for (std::size_t pos = expr.find(name); pos != std::string::npos;
       pos = expr.find(name, pos + 1)) {
    const bool left = pos == 0 || (!IsNameChar(expr[pos - 1]) && expr[pos - 1] != '"');
    const std::size_t after = pos + name.size();
    const bool right = after >= expr.size() || (!IsNameChar(expr[after]) && expr[after] != '"');
    if (left && right) return true;
  }
  return false;
}

}  // namespace

Result<double> ParsePrometheusDuration(const std::string& text) {
  static const std::vector<std::pair<std::string, double>> kUnits = {
      {"ms", 0.001}, {"y", 365 * 86400.0}, {"w", 7 * 86400.0}, {"d", 86400}, {"h", 3600}, {"m", 60},
      {"s", 1}};
  double total = 0;
  std::size_t i = 0;
  if (text.empty()) return MakeError("empty duration");
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i) return MakeError("bad duration \"" + text + "\"");
    const double n = std::stod(text.substr(i, j - i));
    bool matched = false;
    for (const auto& [unit, seconds] : kUnits) {
      if (text.compare(j, unit.size(), unit) == 0) {
        total += n * seconds;
        i = j + unit.size();
        matched = true;
        break;
      }
    }
    if (!matched) return MakeError("bad duration \"" + text + "\"");
  }
  return total;
}

namespace {
// rulegen's rule file for alerts that belong to no model.
constexpr const char* kFleetRuleFile = "modelwatch.rules.yml";
}  // namespace

namespace {

// Appends the rules of one file to `set` (alerting rules of the fleet file left out).
Result<bool> ParseRuleFile(const std::filesystem::path& path, RuleSet& set) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    return MakeError(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": error: " + e.msg);
  }
  try {
    for (const auto& group : doc["groups"]) {
      const std::string group_name = group["name"].as<std::string>();
      double interval = 60;
      if (group["interval"]) {
        auto d = ParsePrometheusDuration(group["interval"].as<std::string>());
        if (!d)
          return MakeError(path.string() + ": group " + group_name + ": " + d.error().message);
        interval = *d;
      }
      for (const auto& rule : group["rules"]) {
        std::map<std::string, std::string> labels;
        for (const auto& l : rule["labels"]) {
          labels[l.first.as<std::string>()] = l.second.as<std::string>();
        }
        if (rule["record"]) {
          set.recording.push_back({group_name, interval, rule["record"].as<std::string>(),
                                   rule["expr"].as<std::string>(), labels, 0});
          continue;
        }
        // The fleet file's alerts watch the monitoring itself (Watchdog, ExporterDown,
        // notification and rule-evaluation failures, PageEscalation on ALERTS): a replayed
        // history has none of the series they read (`up` is absent all along, so
        // ExporterDown would "fire" for the whole history). docs/backtest.md.
        if (path.filename() == kFleetRuleFile) continue;
        AlertingRule a{
            path.filename().string(),       group_name, interval, rule["alert"].as<std::string>(),
            rule["expr"].as<std::string>(), 0,          0,        labels};
        for (const char* key : {"for", "keep_firing_for"}) {
          if (!rule[key]) continue;
          auto d = ParsePrometheusDuration(rule[key].as<std::string>());
          if (!d) return MakeError(path.string() + ": " + a.alert + ": " + d.error().message);
          (std::string(key) == "for" ? a.for_seconds : a.keep_firing_for_seconds) = *d;
        }
        set.alerting.push_back(std::move(a));
      }
    }
  } catch (const YAML::Exception& e) {
    return MakeError(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": error: not a rule file: " + e.msg);
  }
  return true;
}

}  // namespace

Result<RuleSet> LoadRuleFiles(const std::string& rules_dir,
                              const std::vector<std::string>& skip_files) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(rules_dir, ec)) {
    const auto ext = entry.path().extension();
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || (ext != ".yml" && ext != ".yaml")) continue;
    if (std::find(skip_files.begin(), skip_files.end(), name) != skip_files.end()) continue;
    files.push_back(entry.path());
  }
  if (ec) return MakeError(rules_dir + ": error: cannot list: " + ec.message());
  if (files.empty()) return MakeError(rules_dir + ": error: no rule files");
  std::sort(files.begin(), files.end());
  RuleSet set;
  for (const auto& path : files) {
    if (auto ok = ParseRuleFile(path, set); !ok) return MakeError(ok.error().message);
  }
  // Only the recording rules the alerts read, directly or through other recording rules, are
  // backfilled (the others feed dashboards).
  std::set<std::string> needed;
  for (const auto& a : set.alerting) {
    for (const auto& r : set.recording) {
      if (Mentions(a.expr, r.record)) needed.insert(r.record);
    }
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& r : set.recording) {
      if (!needed.count(r.record)) continue;
      for (const auto& dep : set.recording) {
        if (!needed.count(dep.record) && Mentions(r.expr, dep.record)) {
          needed.insert(dep.record);
          grew = true;
        }
      }
    }
  }
  set.skipped_recording = 0;
  std::vector<RecordingRule> kept;
  for (auto& r : set.recording) {
    if (needed.count(r.record)) {
      kept.push_back(std::move(r));
    } else {
      ++set.skipped_recording;
    }
  }
  set.recording = std::move(kept);
  // Levels: a recording rule comes after every recording rule whose series it reads.
  bool changed = true;
  for (int pass = 0; changed && pass <= static_cast<int>(set.recording.size()); ++pass) {
    changed = false;
    for (auto& r : set.recording) {
      for (const auto& dep : set.recording) {
        if (&dep != &r && dep.record != r.record && Mentions(r.expr, dep.record) &&
            r.level <= dep.level) {
          r.level = dep.level + 1;
          changed = true;
        }
      }
    }
  }
  for (const auto& r : set.recording) set.levels = std::max(set.levels, r.level + 1);
  return set;
}

Result<std::vector<AlertingRule>> LoadAlertingRuleFile(const std::string& file) {
  if (!std::filesystem::is_regular_file(file)) {
    return MakeError(file + ": error: not a readable rule file");
  }
  RuleSet set;
  if (auto ok = ParseRuleFile(file, set); !ok) return MakeError(ok.error().message);
  if (!set.recording.empty()) {
    return MakeError(file + ": error: recording rule \"" + set.recording.front().record +
                     "\": a comparison rule file holds alerting rules only (write the "
                     "expression into the alert)");
  }
  if (set.alerting.empty()) return MakeError(file + ": error: no alerting rule");
  return set.alerting;
}

}  // namespace modelwatch
