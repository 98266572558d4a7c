#include "rulegen/commands.h"

#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/command.h"
#include "core/config_loader.h"
#include "core/flags.h"
#include "rulegen/changed_models.h"
#include "rulegen/checker.h"
#include "rulegen/generator.h"
#include "rulegen/mutation.h"
#include "rulegen/promql_drift.h"

namespace modelwatch {
namespace {

std::optional<OutputFormat> ParseFormat(const std::string& s) {
  if (s == "prometheus") return OutputFormat::kPrometheus;
  if (s == "prometheus-operator") return OutputFormat::kPrometheusOperator;
  return std::nullopt;
}

const FlagSpec kConfigDirFlag{
    "config.dir", "directory of per-model YAML files (and modelwatch.yaml)", "", false, true};
const FlagSpec kOutFlag{"out", "output directory (replaced as a whole)", "", false, true};
const FlagSpec kFormatFlag{"format",
                           "prometheus, or prometheus-operator to add kubernetes/*.yaml "
                           "PrometheusRule resources",
                           "prometheus", false, false};

}  // namespace

std::optional<ConfigSet> LoadRulegenConfig(const std::string& dir) {
  auto config = LoadConfigOrReport(dir);
  if (!config) return std::nullopt;
  if (auto ok = LoadPromqlReferences(*config); !ok) {
    std::cerr << ok.error().ToString() << "\n1 error\n";
    return std::nullopt;
  }
  return config;
}

int RunGenerate(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-rulegen generate --config.dir=DIR --out=OUT [--format=prometheus-operator]",
      "Writes recording and alerting rules, the Alertmanager configuration and notification\n"
      "templates, dashboards, runbooks and promtool tests for every model in DIR into OUT:\n"
      "  OUT/rules/<model>.rules.yml, OUT/rules/modelwatch.rules.yml,\n"
      "  OUT/alertmanager/alertmanager.yml, OUT/alertmanager/templates/*.tmpl,\n"
      "  OUT/dashboards/*.json, OUT/dashboards/provisioning.yml, OUT/runbooks/<Alert>.md,\n"
      "  OUT/tests/<model>.test.yml, OUT/tests/routes.txt (and OUT/kubernetes/*.yaml).\n"
      "The output is deterministic and replaces OUT atomically: a failed run leaves the\n"
      "previous OUT untouched. Exit 0 ok, 1 invalid config or write error, 2 usage error.",
      {kConfigDirFlag, kOutFlag, kFormatFlag});
  if (auto code = flags.ParseOrExit(args, "modelwatch-rulegen generate")) return *code;
  const auto format = ParseFormat(flags.Get("format"));
  if (!format) {
    std::cerr << "modelwatch-rulegen generate: unknown --format \"" << flags.Get("format")
              << "\" (want prometheus or prometheus-operator)\n";
    return kExitUsage;
  }
  auto config = LoadRulegenConfig(flags.Get("config.dir"));
  if (!config) return kExitInvalidInput;
  // Streamed to the output directory's temporary copy file by file: the fleet's output is
  // never in memory at once.
  auto written = GenerateToDirectory(*config, *format, flags.Get("out"));
  if (!written) {
    std::cerr << "modelwatch-rulegen generate: " << written.error().ToString() << "\n";
    return kExitInvalidInput;
  }
  std::cout << "wrote " << *written << " files for " << config->models.size()
            << (config->models.size() == 1 ? " model" : " models") << " to " << flags.Get("out")
            << "\n";
  return kExitOk;
}

int RunCheck(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-rulegen check --config.dir=DIR --out=OUT",
      "Regenerates the output for DIR in memory and fails if OUT differs (listing the stale\n"
      "files), then checks OUT: its own consistency checks (every tested alert exists, every\n"
      "referenced rule file exists, every alert has a firing and a silent test, the\n"
      "inhibition cases of tests/routes.txt hold), `promtool check rules`, `promtool test\n"
      "rules`, `amtool check-config`, `amtool template render` (executes the notification\n"
      "templates) and the routing cases of tests/routes.txt with `amtool config routes test`.\n"
      "Pass the --format used for generate. With --changed=REF (a git commit, e.g. the pull\n"
      "request's base), the per-model tool runs (rule files, unit tests, routing cases) are\n"
      "only those of the models whose YAML or baseline file differs from REF in the working\n"
      "tree; a changed modelwatch.yaml checks every model. The regeneration, the self-check\n"
      "and the fleet-wide files always run. Exit 0 when all pass, 1 on any failure (with the\n"
      "tool's output), 2 on usage errors (an unknown --changed ref among them).",
      {kConfigDirFlag,
       kOutFlag,
       kFormatFlag,
       {"changed", "check per model only the models changed since this git ref", "", false, false},
       {"promtool", "promtool binary", "promtool", false, false},
       {"amtool", "amtool binary", "amtool", false, false}});
  if (auto code = flags.ParseOrExit(args, "modelwatch-rulegen check")) return *code;
  const auto format = ParseFormat(flags.Get("format"));
  if (!format) {
    std::cerr << "modelwatch-rulegen check: unknown --format \"" << flags.Get("format") << "\"\n";
    return kExitUsage;
  }
  auto config = LoadRulegenConfig(flags.Get("config.dir"));
  if (!config) return kExitInvalidInput;
  const std::string out = flags.Get("out");
  auto generated = GenerateFiles(*config, *format);
  if (!generated) {
    std::cerr << "modelwatch-rulegen check: " << generated.error().ToString() << "\n";
    return kExitInvalidInput;
  }
  const OutputFiles& files = *generated;
  const auto stale = StaleFiles(out, files);
  if (!stale.empty()) {
    std::cerr << out << " is stale; run `modelwatch-rulegen generate --config.dir="
              << flags.Get("config.dir") << " --out=" << out
              << (*format == OutputFormat::kPrometheusOperator ? " --format=prometheus-operator"
                                                               : "")
              << "`:\n";
    for (const auto& s : stale) std::cerr << "  " << s << "\n";
    return kExitInvalidInput;
  }
  std::set<std::string> unchanged;
  if (const std::string ref = flags.Get("changed"); !ref.empty()) {
    auto changed = ModelsChangedSince(*config, ref);
    if (!changed) {
      std::cerr << "modelwatch-rulegen check: " << changed.error().ToString() << "\n";
      return kExitUsage;
    }
    std::string names;
    for (const ModelConfig& m : config->models) {
      if (changed->all || changed->models.count(m.name)) {
        names += (names.empty() ? "" : ", ") + m.name;
      } else {
        unchanged.insert(m.name);
      }
    }
    std::cout << "changed since " << ref << ": " << config->models.size() - unchanged.size()
              << " of " << config->models.size() << " models"
              << (changed->all ? " (the fleet file changed)" : "")
              << (names.empty() ? "" : ": " + names) << "\n";
  }
  CheckTools tools{flags.Get("promtool"), flags.Get("amtool")};
  return RunAllChecks(out, files, tools, std::cout, std::cerr, unchanged) ? kExitOk
                                                                          : kExitInvalidInput;
}

int RunMutate(const std::vector<std::string>& args) {
  FlagParser flags(
      "modelwatch-rulegen mutate --config.dir=DIR [--model=NAME] [--alert=A,B] [--min-score=100]",
      "Mutation testing of the generated rules: generates the output for DIR in memory, then\n"
      "breaks one alerting rule (or a recording rule an alert reads) at a time and runs the\n"
      "generated promtool tests that exercise it. Mutations: drop each operand of an `and` /\n"
      "`unless` and each branch of an `or`, halve and double each threshold and each range or\n"
      "offset, remove `for` and `keep_firing_for`. A mutant is killed when a test fails. Prints\n"
      "progress, then per rule the mutants killed, every mutant that lived, and the score.\n"
      "Exit 0 when the score reaches --min-score, 1 below it or on invalid input, 2 usage.",
      {kConfigDirFlag,
       {"model", "only the rule files whose name contains this (e.g. a model name)", "", false,
        false},
       {"alert", "only these alerts (comma-separated names) and the records they read", "", false,
        false},
       {"min-score", "lowest passing mutation score, in percent", "100", false, false},
       {"jobs", "promtool processes run at once", "2", false, false},
       {"promtool", "promtool binary", "promtool", false, false}});
  if (auto code = flags.ParseOrExit(args, "modelwatch-rulegen mutate")) return *code;
  double min_score = 0;
  int jobs = 0;
  try {
    min_score = std::stod(flags.Get("min-score"));
    jobs = std::stoi(flags.Get("jobs"));
  } catch (const std::exception&) {
    std::cerr << "modelwatch-rulegen mutate: --min-score and --jobs take numbers\n";
    return kExitUsage;
  }
  if (jobs < 1 || min_score < 0 || min_score > 100) {
    std::cerr << "modelwatch-rulegen mutate: want --jobs >= 1 and 0 <= --min-score <= 100\n";
    return kExitUsage;
  }
  auto config = LoadRulegenConfig(flags.Get("config.dir"));
  if (!config) return kExitInvalidInput;
  const OutputFiles files = Generate(*config, OutputFormat::kPrometheus);
  MutationOptions options{flags.Get("promtool"), flags.Get("model"), {}, jobs};
  std::istringstream names(flags.Get("alert"));
  for (std::string name; std::getline(names, name, ',');) {
    if (!name.empty()) options.alerts.insert(name);
  }
  auto results = RunMutationTests(files, options, std::cout);
  if (!results) {
    std::cerr << "modelwatch-rulegen mutate: " << results.error().ToString() << "\n";
    return kExitInvalidInput;
  }
  if (results->empty()) {
    std::cerr << "modelwatch-rulegen mutate: no rule matches --model=" << flags.Get("model")
              << " --alert=" << flags.Get("alert") << "\n";
    return kExitInvalidInput;
  }
  std::cout << "\n";
  WriteMutationReport(*results, std::cout);
  return MutationScore(*results) >= min_score ? kExitOk : kExitInvalidInput;
}

}  // namespace modelwatch
