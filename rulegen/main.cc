// modelwatch-rulegen: compiles per-model YAML into Prometheus rules, Alertmanager routing,
// dashboards, runbooks and promtool tests. Thin: parses the subcommand and delegates.
#include <iostream>
#include <string>
#include <vector>

#include "core/command.h"
#include "core/config_loader.h"
#include "core/flags.h"
#include "rulegen/commands.h"

namespace modelwatch {
namespace {

constexpr const char* kUsage =
    "usage: modelwatch-rulegen <command> [flags]\n"
    "\n"
    "Compiles per-model YAML files into Prometheus recording and alerting rules, an\n"
    "Alertmanager routing tree, Grafana dashboards, runbooks and promtool tests.\n"
    "\n"
    "commands:\n"
    "  validate   check the config directory; print one line per model (exit 1 on errors)\n"
    "  generate   write every generated file under --out\n"
    "  check      fail if --out is stale, then run promtool and amtool on it\n"
    "  mutate     break each generated alert on purpose; report which the tests catch\n"
    "  version    print the version\n"
    "\n"
    "Run `modelwatch-rulegen <command> --help` for the flags of a command.\n"
    "Exit codes: 0 ok, 1 invalid input or failed check, 2 usage error.\n";

std::string Summary(const ModelConfig& m) {
  std::string line = m.name + ": " + TaskName(m.task) + ", tier " + std::to_string(m.tier) +
                     ", team " + m.owner.team + ", " + std::to_string(m.features.size()) +
                     " features";
  int pii = 0;
  for (const auto& f : m.features) pii += f.pii ? 1 : 0;
  if (pii) line += " (" + std::to_string(pii) + " pii)";
  std::string windows;
  for (const auto& w : m.drift.windows) windows += (windows.empty() ? "" : ",") + w.label;
  line += ", drift " + std::string(DriftMethodName(m.drift.method)) + " over " + windows;
  line += m.slo ? ", slo" : ", no slo";
  line += m.baseline.empty() ? ", no baseline" : ", baseline";
  if (m.ground_truth) line += ", ground truth";
  if (m.shadow) line += ", shadow " + m.shadow->champion + " vs " + m.shadow->challenger;
  return line;
}

int RunValidate(const std::vector<std::string>& args) {
  FlagParser flags("modelwatch-rulegen validate --config.dir=DIR",
                   "Loads and validates every model file in DIR (and DIR/modelwatch.yaml).\n"
                   "Prints one summary line per model and exits 0, or prints every error as\n"
                   "FILE:LINE:COL: error: MESSAGE on stderr and exits 1.",
                   {{"config.dir", "directory of per-model YAML files", "", false, true}});
  if (auto code = flags.ParseOrExit(args, "modelwatch-rulegen validate")) return *code;
  auto config = LoadRulegenConfig(flags.Get("config.dir"));
  if (!config) return kExitInvalidInput;
  for (const auto& m : config->models) std::cout << Summary(m) << "\n";
  std::cout << config->models.size() << (config->models.size() == 1 ? " model" : " models")
            << " valid\n";
  return kExitOk;
}

}  // namespace
}  // namespace modelwatch

int main(int argc, char** argv) {
  using namespace modelwatch;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  try {
    if (command == "validate") return RunValidate(args);
    if (command == "generate") return RunGenerate(args);
    if (command == "check") return RunCheck(args);
    if (command == "mutate") return RunMutate(args);
    if (command == "version" || command == "--version") {
      std::cout << "modelwatch-rulegen " << MODELWATCH_VERSION << "\n";
      return kExitOk;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
  } catch (const std::exception& e) {
    std::cerr << "modelwatch-rulegen: internal error: " << e.what() << "\n";
    return kExitInvalidInput;
  }
  std::string msg = "modelwatch-rulegen: unknown command \"" + command + "\"";
  if (auto s = Suggest(command, {"validate", "generate", "check", "mutate", "version"})) {
    msg += " (did you mean \"" + *s + "\"?)";
  }
  std::cerr << msg << "\n\n" << kUsage;
  return kExitUsage;
}
