#include "rulegen/checker.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
// gcc 12 with -fsanitize reports false maybe-uninitialized warnings inside <regex>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/temp_dir.h"
#include "rulegen/alertmanager_emitter.h"
#include "rulegen/test_reduction.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;
using Labels = std::map<std::string, std::string>;

struct Matcher {
  std::string name;
  std::string op;  // = != =~ !~
  std::string value;

  bool Matches(const Labels& l) const {
    auto it = l.find(name);
    const std::string v = it == l.end() ? "" : it->second;
    if (op == "=") return v == value;
    if (op == "!=") return v != value;
    const bool m = std::regex_match(v, std::regex("^(?:" + value + ")$"));
    return op == "=~" ? m : !m;
  }
};

Result<Matcher> ParseMatcher(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  Matcher m;
  m.name = s.substr(0, i);
  for (const char* op : {"=~", "!~", "!=", "="}) {
    if (s.compare(i, std::string(op).size(), op) == 0) {
      m.op = op;
      break;
    }
  }
  if (m.name.empty() || m.op.empty()) return MakeError("bad matcher: " + s);
  std::string rest = s.substr(i + m.op.size());
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') {
    std::string v;
    for (std::size_t j = 1; j + 1 < rest.size(); ++j) {
      if (rest[j] == '\\' && j + 2 < rest.size()) ++j;
      v += rest[j];
    }
    rest = v;
  }
  m.value = rest;
  return m;
}

Result<std::vector<Matcher>> ParseMatchers(const YAML::Node& n) {
  std::vector<Matcher> out;
  if (!n) return out;
  for (const auto& item : n) {
    auto m = ParseMatcher(item.as<std::string>());
    if (!m) return tl::unexpected(m.error());
    out.push_back(*m);
  }
  return out;
}

bool MatchesAll(const std::vector<Matcher>& ms, const Labels& l) {
  for (const auto& m : ms) {
    if (!m.Matches(l)) return false;
  }
  return true;
}

std::string Get(const OutputFiles& files, const std::string& path) {
  auto it = files.find(path);
  return it == files.end() ? std::string() : it->second;
}

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool EndsWith(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string LabelsText(const Labels& l) {
  std::string s = "{";
  for (const auto& [k, v] : l) s += (s.size() > 1 ? "," : "") + k + "=\"" + v + "\"";
  return s + "}";
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

namespace {

// alertmanager.yml's inhibit_rules, parsed once (the self-check asks about every inhibition
// case of every model: parsing the file per case made it quadratic in models).
class InhibitRules {
 public:
  static Result<InhibitRules> Parse(const std::string& alertmanager_yml) {
    InhibitRules rules;
    try {
      const YAML::Node root = YAML::Load(alertmanager_yml);
      for (const auto& node : root["inhibit_rules"]) {
        auto src = ParseMatchers(node["source_matchers"]);
        auto tgt = ParseMatchers(node["target_matchers"]);
        if (!src) return tl::unexpected(src.error());
        if (!tgt) return tl::unexpected(tgt.error());
        Rule rule{std::move(*src), std::move(*tgt), {}};
        for (const auto& l : node["equal"]) rule.equal.push_back(l.as<std::string>());
        rules.rules_.push_back(std::move(rule));
      }
    } catch (const YAML::Exception& e) {
      return MakeError(std::string("alertmanager.yml: ") + e.what());
    }
    return rules;
  }

  bool Inhibits(const Labels& source, const Labels& target) const {
    for (const Rule& rule : rules_) {
      if (!MatchesAll(rule.target, target) || !MatchesAll(rule.source, source)) continue;
      // An alert matching both sides cannot inhibit itself (nor an identical label set).
      if (source == target) continue;
      bool equal = true;
      for (const std::string& name : rule.equal) {
        auto a = source.find(name);
        auto b = target.find(name);
        if ((a == source.end() ? "" : a->second) != (b == target.end() ? "" : b->second)) {
          equal = false;
          break;
        }
      }
      if (equal) return true;
    }
    return false;
  }

 private:
  struct Rule {
    std::vector<Matcher> source;
    std::vector<Matcher> target;
    std::vector<std::string> equal;
  };
  std::vector<Rule> rules_;
};

}  // namespace

Result<bool> Inhibits(const std::string& alertmanager_yml, const Labels& source,
                      const Labels& target) {
  auto rules = InhibitRules::Parse(alertmanager_yml);
  if (!rules) return tl::unexpected(rules.error());
  return rules->Inhibits(source, target);
}

std::vector<std::string> SelfCheck(const OutputFiles& files) {
  std::vector<std::string> problems;
  // Alerts per rule file.
  std::map<std::string, std::set<std::string>> alerts_in;
  for (const auto& [path, content] : files) {
    if (!StartsWith(path, "rules/") || !EndsWith(path, ".yml")) continue;
    try {
      for (const auto& g : YAML::Load(content)["groups"]) {
        for (const auto& r : g["rules"]) {
          if (r["alert"]) alerts_in[path].insert(r["alert"].as<std::string>());
        }
      }
    } catch (const YAML::Exception& e) {
      problems.push_back(path + ": cannot parse: " + e.what());
    }
  }
  // (rule file, alert) -> (firing cases, silent cases), over every test file.
  std::map<std::pair<std::string, std::string>, std::pair<int, int>> cases;
  std::set<std::string> tested_files;
  for (const auto& [path, content] : files) {
    if (!StartsWith(path, "tests/") || !EndsWith(path, ".test.yml")) continue;
    try {
      const YAML::Node t = YAML::Load(content);
      std::map<std::string, std::string> defined_in;  // alert -> rule file
      for (const auto& rf : t["rule_files"]) {
        const std::string ref = (fs::path(path).parent_path() / rf.as<std::string>())
                                    .lexically_normal()
                                    .generic_string();
        if (!files.count(ref)) {
          problems.push_back(path + ": rule file " + rf.as<std::string>() + " does not exist");
          continue;
        }
        tested_files.insert(ref);
        for (const auto& a : alerts_in[ref]) defined_in[a] = ref;
      }
      for (const auto& test : t["tests"]) {
        for (const auto& c : test["alert_rule_test"]) {
          const std::string name = c["alertname"].as<std::string>();
          auto it = defined_in.find(name);
          if (it == defined_in.end()) {
            problems.push_back(path + ": tests alert " + name + ", which no rule file defines");
            continue;
          }
          auto& n = cases[{it->second, name}];
          if (c["exp_alerts"] && c["exp_alerts"].size() > 0) {
            ++n.first;
          } else {
            ++n.second;
          }
        }
      }
    } catch (const YAML::Exception& e) {
      problems.push_back(path + ": cannot parse: " + e.what());
    }
  }
  for (const auto& [file, alerts] : alerts_in) {
    if (!tested_files.count(file)) {
      problems.push_back(file + ": no test file references it");
      continue;
    }
    for (const auto& a : alerts) {
      const auto n = cases[{file, a}];
      if (n.first == 0) problems.push_back(file + ": no firing test case for " + a);
      // The Watchdog always fires: it has no silent case.
      if (n.second == 0 && a != "Watchdog") {
        problems.push_back(file + ": no silent test case for " + a);
      }
    }
  }
  const std::string am = Get(files, "alertmanager/alertmanager.yml");
  if (am.empty()) {
    problems.push_back("alertmanager/alertmanager.yml is missing");
    return problems;
  }
  std::set<std::string> receivers;
  try {
    const YAML::Node root = YAML::Load(am);
    const std::string root_receiver =
        root["route"]["receiver"] ? root["route"]["receiver"].as<std::string>() : "";
    for (const auto& r : root["receivers"]) {
      receivers.insert(r["name"].as<std::string>());
      // The root receiver gets every alert no route matches: without an integration
      // Alertmanager drops them without a word.
      if (r["name"].as<std::string>() == root_receiver) {
        bool any = false;
        for (const auto& kv : r) {
          const std::string key = kv.first.as<std::string>();
          if (EndsWith(key, "_configs") && kv.second.size() > 0) any = true;
        }
        if (!any) {
          problems.push_back("alertmanager.yml: the root route's receiver " + root_receiver +
                             " has no integration, so alerts no route matches are dropped");
        }
      }
      // Secrets only through *_file settings.
      for (const char* kind :
           {"pagerduty_configs", "slack_configs", "email_configs", "webhook_configs"}) {
        for (const auto& c : r[kind]) {
          for (const char* key : {"routing_key", "service_key", "api_url", "auth_password",
                                  "auth_secret", "http_config"}) {
            if (c[key]) {
              problems.push_back("alertmanager.yml: receiver " + r["name"].as<std::string>() +
                                 " sets " + key + " (secrets only through *_file settings)");
            }
          }
        }
      }
    }
    for (const char* key : {"slack_api_url", "smtp_auth_password", "smtp_auth_secret",
                            "opsgenie_api_key", "victorops_api_key", "wechat_api_secret"}) {
      if (root["global"][key]) {
        problems.push_back(std::string("alertmanager.yml: global ") + key +
                           " set (secrets only through *_file settings)");
      }
    }
  } catch (const YAML::Exception& e) {
    problems.push_back(std::string("alertmanager.yml: cannot parse: ") + e.what());
    return problems;
  }
  auto route_cases = ParseRouteCases(Get(files, "tests/routes.txt"));
  if (!route_cases) {
    problems.push_back("tests/" + route_cases.error().ToString());
    return problems;
  }
  int inhibition_cases = 0;
  const auto inhibit_rules = InhibitRules::Parse(am);
  for (const RouteCase& c : *route_cases) {
    if (c.kind == RouteCase::Kind::kRoute) {
      std::istringstream names(c.receiver);
      std::string name;
      while (std::getline(names, name, ',')) {
        if (!receivers.count(name)) {
          problems.push_back("tests/routes.txt: receiver " + name +
                             " does not exist in alertmanager.yml");
        }
      }
      continue;
    }
    ++inhibition_cases;
    if (!inhibit_rules) {
      problems.push_back(inhibit_rules.error().ToString());
      break;
    }
    const bool want = c.kind == RouteCase::Kind::kInhibit;
    if (inhibit_rules->Inhibits(c.source, c.labels) != want) {
      problems.push_back("inhibition: " + LabelsText(c.labels) +
                         (want ? " should" : " should not") + " be inhibited by " +
                         LabelsText(c.source));
    }
  }
  if (inhibition_cases == 0) problems.push_back("tests/routes.txt: no inhibition cases");
  return problems;
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + ShellQuote(a);
  cmd += " 2>&1";
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    r.output = "cannot run " + argv.front();
    return r;
  }
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

namespace {

bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Appends `text` to `key` with every occurrence of `name` that is not inside a longer word
// replaced by `token`.
void AppendRenamed(std::string& key, std::string_view text, const std::string& name, char token) {
  std::size_t from = 0;
  for (std::size_t at; (at = text.find(name, from)) != std::string_view::npos;) {
    const std::size_t end = at + name.size();
    const bool alone = (at == 0 || (!WordChar(text[at - 1]) && text[at - 1] != '.')) &&
                       (end == text.size() || !WordChar(text[end]));
    key.append(text.substr(from, at - from));
    if (alone) {
      key += token;
    } else {
      key.append(name);
    }
    from = end;
  }
  key.append(text.substr(from));
}

}  // namespace

std::string RenamedPartKey(const OutputFiles& part, const std::string& model) {
  static const std::set<std::string> kWords = {
      "inf", "nan", "true", "false", "yes", "no", "on",     "off",    "null",    "y",
      "n",   "nil", "bool", "by",    "and", "or", "unless", "offset", "without", "ignoring"};
  if (model.empty() || model[0] < 'a' || model[0] > 'z' || kWords.count(model)) return "";
  for (char c : model) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return "";
    }
  }
  // Paths and texts are separated by NUL and renamed to \x01: neither may occur in them.
  constexpr char kToken = '\x01';
  std::string key;
  for (const auto& [path, text] : part) {
    for (const std::string* s : {&path, &text}) {
      if (s->find('\0') != std::string::npos || s->find(kToken) != std::string::npos) return "";
      AppendRenamed(key, *s, model, kToken);
      key += '\0';
    }
  }
  return key;
}

bool RoutesIgnore(const std::string& alertmanager_yml, const std::string& label) {
  // A route reads a label through `matchers`, or the deprecated `match` and `match_re`.
  std::function<bool(const YAML::Node&)> reads = [&](const YAML::Node& route) {
    if (!route.IsMap()) return true;
    for (const auto& m : route["matchers"]) {
      auto matcher = ParseMatcher(m.as<std::string>());
      if (!matcher || matcher->name == label) return true;
    }
    for (const char* key : {"match", "match_re"}) {
      for (const auto& kv : route[key]) {
        if (kv.first.as<std::string>() == label) return true;
      }
    }
    for (const auto& child : route["routes"]) {
      if (reads(child)) return true;
    }
    return false;
  };
  try {
    const YAML::Node root = YAML::Load(alertmanager_yml);
    return root["route"] && !reads(root["route"]);
  } catch (const YAML::Exception&) {
    return false;
  }
}

namespace {

// Runs every command, `jobs` at a time (promtool and amtool are single-threaded, and a run
// is mostly their start-up), and returns their results in the order given.
std::vector<CommandResult> RunCommands(const std::vector<std::vector<std::string>>& commands,
                                       unsigned jobs) {
  std::vector<CommandResult> results(commands.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < commands.size();) {
      results[i] = RunCommand(commands[i]);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < std::min<std::size_t>(jobs, commands.size()); ++j) {
    threads.emplace_back(work);
  }
  work();
  for (std::thread& t : threads) t.join();
  return results;
}

// True when `tool` names an executable file: a path, or a name found on PATH.
bool IsExecutable(const std::string& tool) {
  if (tool.find('/') != std::string::npos) return access(tool.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (true) {
    const std::size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    if (access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace

bool RunAllChecks(const std::string& out_dir, const OutputFiles& files, const CheckTools& tools,
                  std::ostream& out, std::ostream& err,
                  const std::set<std::string>& unchanged_models) {
  // One line per missing tool, before anything runs, instead of every step failing.
  bool tools_ok = true;
  for (const auto& [tool, flag, package] :
       {std::tuple{tools.promtool, "--promtool", "prometheus"},
        std::tuple{tools.amtool, "--amtool", "prometheus-alertmanager"}}) {
    if (!IsExecutable(tool)) {
      err << "error: " << tool << " not found: install it (Debian: apt-get install " << package
          << ") or name it with " << flag << "=PATH\n";
      tools_ok = false;
    }
  }
  if (!tools_ok) return false;
  bool ok = true;
  const auto problems = SelfCheck(files);
  if (!problems.empty()) {
    err << "self-check failed:\n";
    for (const auto& p : problems) err << "  " << p << "\n";
    ok = false;
  } else {
    out << "self-check: ok\n";
  }
  const unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  const fs::path dir(out_dir);
  std::vector<std::string> rules = {tools.promtool, "check", "rules"};
  std::vector<std::string> test_files;
  // rules/<model>.rules.yml, tests/<model>.<kind>.test.yml: a model name has no dot.
  auto skipped = [&](const std::string& path) {
    const std::string name = fs::path(path).filename().string();
    return unchanged_models.count(name.substr(0, name.find('.'))) > 0;
  };
  std::size_t skipped_files = 0;
  for (const auto& [path, content] : files) {
    const bool rule_file = StartsWith(path, "rules/");
    const bool test_file = StartsWith(path, "tests/") && EndsWith(path, ".test.yml");
    if ((rule_file || test_file) && skipped(path)) {
      ++skipped_files;
      continue;
    }
    if (rule_file) rules.push_back((dir / path).string());
    if (test_file) test_files.push_back(path);
  }
  const std::string am = (dir / "alertmanager/alertmanager.yml").string();
  struct Step {
    std::string what;
    std::vector<std::string> argv;
    std::string file;  // the test file a promtool test run stands for
    // The earlier steps that ran split files of `file` identical to its own but for the
    // model's name (RenamedPartKey): their verdicts stand for those files.
    std::set<std::size_t> borrowed = {};
    bool run = true;  // false: every split file of `file` was borrowed
  };
  std::vector<Step> steps = {{"promtool check rules", rules, ""}};
  // The unit tests: one promtool run per test file, taken from a queue by one worker per
  // core, so the cores stay evenly busy and one model's files run side by side. promtool
  // evaluates every loaded rule at every step of every test group, so each file runs split
  // by the rules its test groups read (test_reduction.h), as files under `scratch` that
  // mirror the output layout: 2 rules per step instead of 64 for most groups.
  auto scratch = TempDir::Create("modelwatch-check");
  std::size_t part_dirs = 0;
  // Writes a split file under a directory of its own; returns the test file's path there.
  auto write_part = [&](const OutputFiles& part, const std::string& path) {
    const fs::path part_dir = fs::path(scratch->path()) / std::to_string(part_dirs++);
    for (const auto& [part_path, text] : part) {
      std::error_code ec;
      fs::create_directories((part_dir / part_path).parent_path(), ec);
      std::ofstream(part_dir / part_path, std::ios::binary) << text;
    }
    return (part_dir / path).string();
  };
  // The split files run so far, by RenamedPartKey, with the step that runs each. A fleet of
  // models of one shape (same alerts, thresholds, features, tier) gives the same split files
  // up to the model's name: each runs once.
  std::unordered_map<std::string, std::size_t> run_parts;
  std::size_t parts_total = 0, parts_borrowed = 0;
  for (const std::string& path : test_files) {
    Step step{"promtool test rules", {tools.promtool, "test", "rules"}, path};
    const std::string name = fs::path(path).filename().string();
    const std::string model = name.substr(0, name.find('.'));
    auto parts = SplitTestFileByRules(files, path);
    if (parts && scratch) {
      for (const OutputFiles& part : *parts) {
        ++parts_total;
        std::string key = RenamedPartKey(part, model);
        if (!key.empty()) {
          const auto [it, added] = run_parts.try_emplace(std::move(key), steps.size());
          if (!added) {
            step.borrowed.insert(it->second);
            ++parts_borrowed;
            continue;
          }
        }
        step.argv.push_back(write_part(part, path));
      }
      step.run = step.argv.size() > 3;
    } else {
      // An unreadable file or no scratch space: promtool on the file as it is.
      step.argv.push_back((dir / path).string());
    }
    steps.push_back(std::move(step));
  }
  run_parts.clear();
  for (Step step :
       std::vector<Step>{{"amtool check-config", {tools.amtool, "check-config", am}, ""},
                         // Executes the notification templates on amtool's example alerts.
                         {"amtool template render",
                          {tools.amtool, "template", "render",
                           "--template.glob=" + (dir / "alertmanager/templates/*.tmpl").string(),
                           "--template.text={{ template \"modelwatch.title\" . }}\n"
                           "{{ template \"modelwatch.text\" . }}"},
                          ""}}) {
    steps.push_back(std::move(step));
  }
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> run_steps;  // the steps behind the first commands
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!steps[i].run) continue;
    run_steps.push_back(i);
    commands.push_back(steps[i].argv);
  }
  // The routing cases: amtool tests one label set per run. When no route matches on the
  // model label, a case routes the same whatever its model: cases that differ only in it run
  // once (RoutesIgnore).
  auto cases = ParseRouteCases(Get(files, "tests/routes.txt"));
  std::vector<const RouteCase*> route_cases;
  std::vector<std::size_t> route_command;  // per case: its index in `commands`
  std::vector<std::size_t> route_source;   // per case: the case whose run stands for it
  std::map<std::pair<std::string, Labels>, std::size_t> route_keys;
  const bool model_blind = RoutesIgnore(Get(files, "alertmanager/alertmanager.yml"), "model");
  std::size_t skipped_routes = 0, borrowed_routes = 0;
  auto route_argv = [&](const RouteCase& c) {
    std::vector<std::string> argv = {tools.amtool,
                                     "config",
                                     "routes",
                                     "test",
                                     "--config.file=" + am,
                                     "--verify.receivers=" + c.receiver};
    for (const auto& [k, v] : c.labels) argv.push_back(k + "=" + v);
    return argv;
  };
  if (cases) {
    for (const RouteCase& c : *cases) {
      if (c.kind != RouteCase::Kind::kRoute) continue;
      if (auto m = c.labels.find("model");
          m != c.labels.end() && unchanged_models.count(m->second)) {
        ++skipped_routes;
        continue;
      }
      Labels key = c.labels;
      if (model_blind) key.erase("model");
      const auto [it, added] =
          route_keys.try_emplace({c.receiver, std::move(key)}, route_cases.size());
      route_source.push_back(it->second);
      route_cases.push_back(&c);
      if (!added) {
        route_command.push_back(commands.size());  // none: it borrows
        ++borrowed_routes;
        continue;
      }
      route_command.push_back(commands.size());
      commands.push_back(route_argv(c));
    }
  }
  std::vector<CommandResult> results = RunCommands(commands, jobs);
  std::vector<CommandResult> step_results(steps.size(), CommandResult{0, ""});
  for (std::size_t k = 0; k < run_steps.size(); ++k) {
    step_results[run_steps[k]] = std::move(results[k]);
  }
  std::vector<CommandResult> route_results(route_cases.size(), CommandResult{0, ""});
  for (std::size_t i = 0; i < route_cases.size(); ++i) {
    if (route_source[i] == i) route_results[i] = std::move(results[route_command[i]]);
  }
  // A failed run says nothing about which of its split files failed: a test file that
  // borrowed a verdict from it runs again, whole, so its failures are its own.
  std::vector<std::size_t> rerun_steps;
  std::vector<std::vector<std::string>> reruns;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    bool doubtful = false;
    for (std::size_t j : steps[i].borrowed) doubtful |= step_results[j].status != 0;
    if (!doubtful) continue;
    std::vector<std::string> argv = {tools.promtool, "test", "rules"};
    // It was split before (it borrowed a verdict), so it splits again.
    const auto parts = SplitTestFileByRules(files, steps[i].file);
    for (const OutputFiles& part : *parts) argv.push_back(write_part(part, steps[i].file));
    rerun_steps.push_back(i);
    reruns.push_back(std::move(argv));
  }
  // Likewise a routing case whose stand-in failed runs on its own.
  std::vector<std::size_t> rerun_routes;
  for (std::size_t i = 0; i < route_cases.size(); ++i) {
    if (route_source[i] == i || route_results[route_source[i]].status == 0) continue;
    rerun_routes.push_back(i);
    reruns.push_back(route_argv(*route_cases[i]));
  }
  std::vector<CommandResult> rerun_results = RunCommands(reruns, jobs);
  for (std::size_t k = 0; k < rerun_steps.size(); ++k) {
    step_results[rerun_steps[k]] = std::move(rerun_results[k]);
  }
  for (std::size_t k = 0; k < rerun_routes.size(); ++k) {
    route_results[rerun_routes[k]] = std::move(rerun_results[rerun_steps.size() + k]);
  }
  // One line per step (the test shares are one step).
  std::vector<std::pair<std::string, bool>> passed;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const CommandResult& r = step_results[i];
    if (passed.empty() || passed.back().first != steps[i].what) {
      passed.emplace_back(steps[i].what, true);
    }
    if (r.status != 0) {
      err << steps[i].what << " failed (exit " << r.status << ")";
      if (!steps[i].file.empty()) {
        err << " on " << steps[i].file << ", run split by the rules its test groups read";
      }
      err << ":\n" << r.output << "\n";
      passed.back().second = ok = false;
    }
  }
  for (const auto& [what, step_ok] : passed) {
    if (step_ok) out << what << ": ok\n";
  }
  if (parts_borrowed > 0) {
    out << "promtool test rules: " << parts_total - parts_borrowed << " of " << parts_total
        << " split test files run; the other " << parts_borrowed
        << " are the same as one of them but for the model's name\n";
  }
  const int routes = static_cast<int>(route_cases.size());
  int failed = 0;
  for (int i = 0; i < routes; ++i) {
    const CommandResult& r = route_results[static_cast<std::size_t>(i)];
    if (r.status != 0) {
      ++failed;
      err << "routing test failed: " << LabelsText(route_cases[i]->labels) << " should go to "
          << route_cases[i]->receiver << ":\n"
          << r.output << "\n";
    }
  }
  if (failed) {
    ok = false;
  } else {
    out << "amtool config routes test: " << routes << " cases ok";
    if (borrowed_routes > 0) {
      out << " (" << routes - static_cast<int>(borrowed_routes)
          << " amtool runs: no route matches on the model label, so cases that differ only in "
             "it run once)";
    }
    out << "\n";
  }
  if (!unchanged_models.empty()) {
    out << "skipped as unchanged: " << skipped_files << " rule and test files, " << skipped_routes
        << " routing cases of " << unchanged_models.size() << " models\n";
  }
  return ok;
}

}  // namespace modelwatch
