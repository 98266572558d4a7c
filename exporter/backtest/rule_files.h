// The generated rule files as the backtest needs them: recording rules split into levels (a
// rule reading another rule's series comes one level after it) for evaluating level by
// level, and alerting rules with their `for`, `keep_firing_for` and labels.
#ifndef MODELWATCH_EXPORTER_BACKTEST_RULE_FILES_H_
#define MODELWATCH_EXPORTER_BACKTEST_RULE_FILES_H_

#include <map>
#include <string>
#include <vector>

#include "core/error.h"

namespace modelwatch {

struct RecordingRule {
  std::string group;
  double interval = 60;  // the group's, else Prometheus's default 1m
  std::string record;
  std::string expr;
  std::map<std::string, std::string> labels;
  int level = 0;
};

struct AlertingRule {
  std::string file;
  std::string group;
  double interval = 60;
  std::string alert;
  std::string expr;
  double for_seconds = 0;
  double keep_firing_for_seconds = 0;
  std::map<std::string, std::string> labels;
};

struct RuleSet {
  std::vector<RecordingRule> recording;  // only those the alerting rules need
  int skipped_recording = 0;             // recording rules no alerting rule needs
  std::vector<AlertingRule> alerting;
  int levels = 0;  // recording levels: 0 .. levels - 1
};

// Reads every `*.yml`/`*.yaml` in `rules_dir` except those in `skip_files` (file names) and
// keeps the alerting rules and the recording rules they read (transitively).
Result<RuleSet> LoadRuleFiles(const std::string& rules_dir,
                              const std::vector<std::string>& skip_files);

// The alerting rules of one rule file, for comparing another rule set (e.g. the fixed
// thresholds of examples/backtest/peer_rules.py) with the generated one on the same TSDB.
// Recording rules are refused: the comparison evaluates alert expressions only.
Result<std::vector<AlertingRule>> LoadAlertingRuleFile(const std::string& file);

// Prometheus duration ("1d", "5m", "1h30m", "90s", "500ms") in seconds.
Result<double> ParsePrometheusDuration(const std::string& text);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_RULE_FILES_H_
