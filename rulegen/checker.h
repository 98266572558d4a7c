// The checks of `modelwatch-rulegen check` on a generated output directory: rulegen's own
// consistency checks (which promtool and amtool cannot do) and the runs of promtool/amtool.
#ifndef MODELWATCH_RULEGEN_CHECKER_H_
#define MODELWATCH_RULEGEN_CHECKER_H_

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "rulegen/emitter.h"

namespace modelwatch {

// Checks that promtool and amtool would let pass silently:
// - every rule file a test file references exists (promtool only warns);
// - every alertname a test names exists in the referenced rules (a misspelt alertname with
//   exp_alerts: [] passes in promtool);
// - every alert in the rules has at least one firing and one silent test case;
// - every receiver of tests/routes.txt exists, and every inhibition case of tests/routes.txt
//   holds against alertmanager.yml's inhibit_rules (amtool cannot test inhibition);
// - alertmanager.yml holds no secret value (only *_file settings).
// Returns one message per problem (empty: all good).
std::vector<std::string> SelfCheck(const OutputFiles& files);

// Alertmanager's inhibition semantics, evaluated offline: true if an alert with labels
// `target` is inhibited by a firing alert with labels `source` under the inhibit_rules of
// `alertmanager_yml`. Matchers support = != =~ !~ (regexes anchored); `equal` labels must
// have equal values (absent = empty); an alert matching both sides never inhibits itself.
Result<bool> Inhibits(const std::string& alertmanager_yml,
                      const std::map<std::string, std::string>& source,
                      const std::map<std::string, std::string>& target);

// The identity of one split test file (a part of SplitTestFileByRules) for `check`'s verdict
// cache: its paths and texts with every occurrence of `model` that is not inside a longer word
// (no letter, digit or `_` on either side, no `.` before) replaced by a byte none of them holds,
// so the renaming is invertible. Two parts with the same key are the same test of two models
// that differ only in their names, and promtool gives them the same verdict: the generated
// files use a model's name only as an opaque string (a label value, part of a group, file or
// test group name). Empty (no caching) when the name could be read as something else: it must
// start with a letter, hold only [a-z0-9_-], and not be a YAML or PromQL word (true, null, inf,
// nan, ...); or when a text holds the renaming byte.
std::string RenamedPartKey(const OutputFiles& part, const std::string& model);

// True when no route of `alertmanager_yml`'s routing tree matches on `label` (in `matchers`,
// `match` or `match_re`): the receivers of an alert then do not depend on that label's value,
// so `check` runs the routing cases that differ only in it once. False when the file cannot
// be parsed or a matcher cannot be read.
bool RoutesIgnore(const std::string& alertmanager_yml, const std::string& label);

struct CheckTools {
  std::string promtool = "promtool";
  std::string amtool = "amtool";
};

// Runs SelfCheck on `files` and the tools on `out_dir` (which must hold `files`): promtool
// check rules, promtool test rules (each test file of `files` split by the rules its test
// groups read, SplitTestFileByRules, in a temporary directory), amtool check-config, amtool
// config routes test per route case. A split test file whose RenamedPartKey equals one run
// earlier in the same check is not run again: it shares that run's verdict (when that run
// fails, every test file that shared one of its parts runs whole on its own, so each failure
// is reported with its own output); the routing cases likewise, per RoutesIgnore. The per-model
// work of `unchanged_models` is skipped: their
// rules/<model>.rules.yml and tests/<model>.*.test.yml files and the routing cases labelled
// model=<model> (the self-check and the fleet-wide files and cases always run). Progress goes to
// `out`, failures (with the tools' output) to `err`. Returns true if everything passed.
bool RunAllChecks(const std::string& out_dir, const OutputFiles& files, const CheckTools& tools,
                  std::ostream& out, std::ostream& err,
                  const std::set<std::string>& unchanged_models = {});

// Runs a shell command; returns its exit status and combined stdout+stderr.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_CHECKER_H_
