#include "rulegen/test_reduction.h"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "rulegen/mutation.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

struct LoadedRule {
  std::size_t file = 0;  // index into the test file's rule files
  std::size_t group = 0;
  std::size_t rule = 0;
  std::string name;
  bool is_alert = false;
  std::set<std::string> reads;  // Reads() of the expression
};

// The names `expr` reads; "__name__" when it selects series by a matcher on the name, which
// may read any rule's series.
std::set<std::string> Reads(const std::string& expr) {
  std::set<std::string> out = ExprIdentifiers(expr);
  if (expr.find("__name__") != std::string::npos) out.insert("__name__");
  return out;
}

// The rules (indices into `rules`) read by a test group whose cases name `alerts` and whose
// PromQL cases read `names`, with every record they read, transitively.
std::set<std::size_t> RulesRead(const std::vector<LoadedRule>& rules,
                                const std::set<std::string>& alerts,
                                const std::set<std::string>& names) {
  std::set<std::size_t> out;
  std::vector<std::string> pending(names.begin(), names.end());  // names still to resolve
  std::set<std::string> seen;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].is_alert && alerts.count(rules[i].name) && out.insert(i).second) {
      pending.insert(pending.end(), rules[i].reads.begin(), rules[i].reads.end());
    }
  }
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    if (!seen.insert(name).second) continue;
    const bool reads_alerts = name == "ALERTS" || name == "ALERTS_FOR_STATE";
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const bool match =
          name == "__name__" ||
          (reads_alerts ? rules[i].is_alert : !rules[i].is_alert && rules[i].name == name);
      if (match && out.insert(i).second) {
        pending.insert(pending.end(), rules[i].reads.begin(), rules[i].reads.end());
      }
    }
  }
  return out;
}

}  // namespace

Result<std::vector<OutputFiles>> SplitTestFileByRules(const OutputFiles& files,
                                                      const std::string& test_path) {
  const auto test_it = files.find(test_path);
  if (test_it == files.end()) return MakeError(test_path + ": no such file");
  try {
    const YAML::Node test = YAML::Load(test_it->second);
    // The referenced rule files: (entry as written, output path, parsed).
    std::vector<std::string> entries, paths;
    std::vector<YAML::Node> roots;
    std::vector<LoadedRule> rules;
    for (const auto& rf : test["rule_files"]) {
      const std::string entry = rf.as<std::string>();
      const std::string path =
          (fs::path(test_path).parent_path() / entry).lexically_normal().generic_string();
      const auto it = files.find(path);
      if (it == files.end()) return MakeError(test_path + ": rule file " + entry + " not found");
      const std::size_t f = roots.size();
      entries.push_back(entry);
      paths.push_back(path);
      roots.push_back(YAML::Load(it->second));
      std::size_t g = 0;
      for (const auto& group : roots.back()["groups"]) {
        std::size_t r = 0;
        for (const auto& rule : group["rules"]) {
          const bool alert = static_cast<bool>(rule["alert"]);
          rules.push_back({f, g, r, rule[alert ? "alert" : "record"].as<std::string>(), alert,
                           Reads(rule["expr"].as<std::string>())});
          ++r;
        }
        ++g;
      }
    }
    // Test groups by the rules they read, in the order of each set's first group.
    std::vector<std::pair<std::set<std::size_t>, std::vector<YAML::Node>>> parts;
    for (const auto& group : test["tests"]) {
      std::set<std::string> alerts, names;
      for (const auto& c : group["alert_rule_test"])
        alerts.insert(c["alertname"].as<std::string>());
      for (const auto& c : group["promql_expr_test"]) {
        for (const auto& id : Reads(c["expr"].as<std::string>())) names.insert(id);
      }
      std::set<std::size_t> read = RulesRead(rules, alerts, names);
      std::size_t p = 0;
      while (p < parts.size() && parts[p].first != read) ++p;
      if (p == parts.size()) parts.emplace_back(std::move(read), std::vector<YAML::Node>{});
      parts[p].second.push_back(group);
    }
    std::vector<OutputFiles> out;
    if (parts.empty()) {  // nothing to split: the file as it is, for promtool to judge
      OutputFiles part{{test_path, test_it->second}};
      for (const auto& path : paths) part[path] = files.at(path);
      out.push_back(std::move(part));
    }
    for (const auto& [read, groups] : parts) {
      OutputFiles part;
      YAML::Node rule_files(YAML::NodeType::Sequence);
      for (std::size_t f = 0; f < roots.size(); ++f) {
        YAML::Node kept_groups(YAML::NodeType::Sequence);
        std::size_t g = 0;
        for (const auto& group : roots[f]["groups"]) {
          YAML::Node kept_rules(YAML::NodeType::Sequence);
          for (std::size_t i : read) {
            if (rules[i].file == f && rules[i].group == g) {
              kept_rules.push_back(group["rules"][rules[i].rule]);
            }
          }
          if (kept_rules.size() > 0) {
            YAML::Node kept = YAML::Clone(group);
            kept["rules"] = kept_rules;
            kept_groups.push_back(kept);
          }
          ++g;
        }
        if (kept_groups.size() == 0) continue;
        YAML::Node root = YAML::Clone(roots[f]);
        root["groups"] = kept_groups;
        YAML::Emitter e;
        e << root;
        part[paths[f]] = std::string(e.c_str()) + "\n";
        rule_files.push_back(entries[f]);
      }
      YAML::Node reduced = YAML::Clone(test);
      reduced["rule_files"] = rule_files;
      YAML::Node tests(YAML::NodeType::Sequence);
      for (const auto& g : groups) tests.push_back(g);
      reduced["tests"] = tests;
      YAML::Emitter e;
      e << reduced;
      part[test_path] = std::string(e.c_str()) + "\n";
      out.push_back(std::move(part));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return MakeError(test_path + ": " + e.what());
  }
}

}  // namespace modelwatch
