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

struct CheckTools {
  std::string promtool = "promtool";
  std::string amtool = "amtool";
};

// Runs SelfCheck on `files` and the tools on `out_dir` (which must hold `files`): promtool
// check rules, promtool test rules (each test file of `files` split by the rules its test
// groups read, SplitTestFileByRules, in a temporary directory), amtool check-config, amtool
// config routes test per route case. The per-model work of `unchanged_models` is skipped: their
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
