#include "rulegen/mutation.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/temp_dir.h"
#include "rulegen/checker.h"
#include "rulegen/test_reduction.h"
#include "rulegen/text.h"

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// A PromQL lexer, just enough to find numbers, durations, identifiers and parentheses.

enum class Tok {
  kIdent,
  kNumber,
  kDuration,
  kString,
  kOp,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kColon,
};

struct Token {
  Tok kind;
  std::size_t begin;  // character offsets into the expression
  std::size_t end;
  int depth;         // unclosed '(' before the token; a ')' has its '(''s depth
  bool in_braces;    // inside a label matcher list
  bool in_brackets;  // inside a range or subquery
  std::string_view text;
};

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  int depth = 0;
  bool braces = false;
  bool brackets = false;
  std::size_t i = 0;
  auto push = [&](Tok kind, std::size_t b, std::size_t e, int d) {
    out.push_back({kind, b, e, d, braces, brackets, s.substr(b, e - b)});
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const std::size_t b = i;
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < s.size() && s[i] != c) i += (s[i] == '\\' && c != '`') ? 2 : 1;
      i = std::min(i + 1, s.size());
      push(Tok::kString, b, i, depth);
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < s.size() &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      if (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])) &&
          !((s[i] == 'e' || s[i] == 'E') && i + 1 < s.size() &&
            (std::isdigit(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '+' ||
             s[i + 1] == '-'))) {
        while (i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]))) ++i;
        push(Tok::kDuration, b, i, depth);
        continue;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      push(Tok::kNumber, b, i, depth);
    } else if (IsIdentStart(c) || (c == ':' && !brackets)) {
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      push(Tok::kIdent, b, i, depth);
    } else if (c == '(') {
      push(Tok::kLParen, b, ++i, depth++);
    } else if (c == ')') {
      depth = std::max(0, depth - 1);
      push(Tok::kRParen, b, ++i, depth);
    } else if (c == '{') {
      push(Tok::kLBrace, b, ++i, depth);
      braces = true;
    } else if (c == '}') {
      braces = false;
      push(Tok::kRBrace, b, ++i, depth);
    } else if (c == '[') {
      push(Tok::kLBracket, b, ++i, depth);
      brackets = true;
    } else if (c == ']') {
      brackets = false;
      push(Tok::kRBracket, b, ++i, depth);
    } else if (c == ',') {
      push(Tok::kComma, b, ++i, depth);
    } else if (c == ':') {
      push(Tok::kColon, b, ++i, depth);
    } else {
      // Operators: two-character ones first.
      static constexpr std::string_view kTwo[] = {"==", "!=", ">=", "<=", "=~", "!~"};
      std::size_t len = 1;
      for (auto op : kTwo) {
        if (s.substr(i, 2) == op) len = 2;
      }
      i += len;
      push(Tok::kOp, b, i, depth);
    }
  }
  return out;
}

bool IsSetOp(const Token& t) {
  return t.kind == Tok::kIdent && !t.in_braces &&
         (t.text == "and" || t.text == "or" || t.text == "unless");
}

std::string Collapse(std::string_view s, std::size_t max = 70) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) out = out.substr(0, max - 3) + "...";
  return out;
}

std::string Replace(std::string_view s, std::size_t b, std::size_t e, std::string_view with) {
  std::string out(s.substr(0, b));
  out += with;
  out += s.substr(e);
  return out;
}

// The index of the ')' that closes the '(' at `open`.
std::size_t MatchingParen(const std::vector<Token>& t, std::size_t open) {
  for (std::size_t i = open + 1; i < t.size(); ++i) {
    if (t[i].kind == Tok::kRParen && t[i].depth == t[open].depth) return i;
  }
  return t.size();
}

// The token index just past a set operator at `op`, including an on(...)/ignoring(...)
// modifier.
std::size_t SetOpEnd(const std::vector<Token>& t, std::size_t op) {
  std::size_t next = op + 1;
  if (next + 1 < t.size() && t[next].kind == Tok::kIdent &&
      (t[next].text == "on" || t[next].text == "ignoring") && t[next + 1].kind == Tok::kLParen) {
    next = MatchingParen(t, next + 1) + 1;
  }
  return next;
}

// Drops each operand of a chain of operators in [b, e) at depth `depth` whose names are in
// `names`. `ops` are the operator token indices, in order.
void DropOperands(std::string_view expr, const std::vector<Token>& t, std::size_t b, std::size_t e,
                  const std::vector<std::size_t>& ops, const std::string& kind,
                  std::vector<ExprMutation>& out) {
  if (ops.empty()) return;
  // Operand k spans tokens [starts[k], ends[k]).
  std::vector<std::size_t> starts{b}, ends;
  for (std::size_t op : ops) {
    ends.push_back(op);
    starts.push_back(SetOpEnd(t, op));
  }
  ends.push_back(e);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    if (starts[k] >= ends[k]) continue;
    std::size_t cut_b, cut_e;
    if (k == 0) {
      // The operand, its operator and up to the next operand.
      if (starts[1] >= t.size()) continue;
      cut_b = t[starts[0]].begin;
      cut_e = t[starts[1]].begin;
    } else {
      // From the end of the previous operand through this one.
      cut_b = t[ends[k - 1] - 1].end;
      cut_e = t[ends[k] - 1].end;
    }
    const std::string_view operand =
        expr.substr(t[starts[k]].begin, t[ends[k] - 1].end - t[starts[k]].begin);
    const std::string op_name(t[ops[k == 0 ? 0 : k - 1]].text);
    out.push_back({kind, "drop `" + Collapse(operand) + "` of `" + op_name + "`",
                   Replace(expr, cut_b, cut_e, "")});
  }
}

// Set-operator mutations of the group of tokens [b, e) at `depth`, and of nested groups.
void MutateSetOps(std::string_view expr, const std::vector<Token>& t, std::size_t b, std::size_t e,
                  int depth, std::vector<ExprMutation>& out) {
  std::vector<std::size_t> or_ops;
  for (std::size_t i = b; i < e; ++i) {
    if (t[i].depth == depth && IsSetOp(t[i]) && t[i].text == "or") or_ops.push_back(i);
  }
  DropOperands(expr, t, b, e, or_ops, "drop-or", out);
  // Inside each branch of the `or`, the `and`/`unless` chain.
  std::size_t branch_b = b;
  for (std::size_t k = 0; k <= or_ops.size(); ++k) {
    const std::size_t branch_e = k < or_ops.size() ? or_ops[k] : e;
    std::vector<std::size_t> and_ops;
    for (std::size_t i = branch_b; i < branch_e; ++i) {
      if (t[i].depth == depth && IsSetOp(t[i]) && t[i].text != "or") and_ops.push_back(i);
    }
    DropOperands(expr, t, branch_b, branch_e, and_ops, "drop-and", out);
    if (k < or_ops.size()) branch_b = SetOpEnd(t, or_ops[k]);
  }
  for (std::size_t i = b; i < e; ++i) {
    if (t[i].kind == Tok::kLParen && t[i].depth == depth) {
      const std::size_t close = MatchingParen(t, i);
      MutateSetOps(expr, t, i + 1, std::min(close, e), depth + 1, out);
      i = close;
    }
  }
}

// The metric and record names an expression reads (identifiers followed by '{' or used as
// bare selectors; function names and keywords also appear, which is harmless for lookups).
std::set<std::string> Identifiers(std::string_view expr) {
  std::set<std::string> out;
  for (const Token& t : Lex(expr)) {
    if (t.kind == Tok::kIdent && !t.in_braces) out.emplace(t.text);
  }
  return out;
}

}  // namespace

std::set<std::string> ExprIdentifiers(std::string_view expr) { return Identifiers(expr); }

long long ParsePromDuration(std::string_view s) {
  static const std::pair<std::string_view, long long> kUnits[] = {
      {"ms", 1},         {"s", 1000},        {"m", 60'000},        {"h", 3'600'000},
      {"d", 86'400'000}, {"w", 604'800'000}, {"y", 31'536'000'000}};
  if (s.empty()) return -1;
  long long total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    long long n = 0;
    const std::size_t digits = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      n = n * 10 + (s[i++] - '0');
    if (i == digits) return -1;
    bool found = false;
    for (auto [unit, ms] : kUnits) {
      // "ms" before "m": the table lists it first.
      if (s.substr(i, unit.size()) == unit &&
          !(unit == "m" && i + 1 < s.size() && s[i + 1] == 's')) {
        total += n * ms;
        i += unit.size();
        found = true;
        break;
      }
    }
    if (!found) return -1;
  }
  return total;
}

std::string FormatPromDuration(long long ms) {
  if (ms <= 0) return "0s";
  static const std::pair<const char*, long long> kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}};
  std::string out;
  for (auto [unit, size] : kUnits) {
    if (ms >= size) {
      out += std::to_string(ms / size) + unit;
      ms %= size;
    }
  }
  return out;
}

std::vector<ExprMutation> MutateExpr(std::string_view expr, RuleKind kind) {
  const std::vector<Token> t = Lex(expr);
  std::vector<ExprMutation> out;
  MutateSetOps(expr, t, 0, t.size(), 0, out);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Token& tok = t[i];
    if (tok.in_braces) continue;
    const bool after_offset = i > 0 && t[i - 1].kind == Tok::kIdent && t[i - 1].text == "offset";
    if (tok.kind == Tok::kNumber && !tok.in_brackets) {
      double v = 0;
      const std::string text(tok.text);
      try {
        v = std::stod(text);
      } catch (...) {
        continue;
      }
      // Shown with what precedes it, so that each occurrence can be told apart.
      const std::size_t ctx_b = tok.begin >= 40 ? tok.begin - 40 : 0;
      const std::string before =
          Collapse(expr.substr(ctx_b, tok.begin - ctx_b), 1000) + (tok.begin > 0 ? " " : "");
      const std::string lead = ctx_b > 0 ? "..." : "";
      std::vector<double> changed =
          v == 0 ? std::vector<double>{1} : std::vector<double>{v / 2, v * 2};
      for (double c : changed) {
        const std::string to = FormatNumber(c);
        out.push_back({"threshold", "`" + lead + before + text + "` -> `" + to + "`",
                       Replace(expr, tok.begin, tok.end, to)});
      }
    } else if (tok.kind == Tok::kDuration && (tok.in_brackets || after_offset)) {
      // In a subquery [range:step] only the range is a window; the step is a resolution.
      if (tok.in_brackets && i > 0 && t[i - 1].kind == Tok::kColon) continue;
      const long long ms = ParsePromDuration(tok.text);
      if (ms <= 0) continue;
      const std::string what = after_offset ? "offset " : "[";
      const std::string close = after_offset ? "" : "]";
      // A recording rule has one window, written in each of its ranges: all of them change
      // together (a record named ..._rate5m reading rate(x[5m]) / rate(y[5m])), once.
      if (kind == RuleKind::kRecord && !after_offset &&
          std::any_of(t.begin(), t.begin() + static_cast<long>(i), [&](const Token& p) {
            return p.kind == Tok::kDuration && p.in_brackets && p.text == tok.text;
          })) {
        continue;
      }
      for (long long c : {ms / 2, ms * 2}) {
        if (c <= 0) continue;
        const std::string to = FormatPromDuration(c);
        std::string mutated(expr);
        std::string where = "`" + what + std::string(tok.text) + close + "`";
        if (kind == RuleKind::kRecord && !after_offset) {
          // Every range of this length, from the last so that offsets stay valid.
          for (std::size_t j = t.size(); j-- > 0;) {
            if (t[j].kind == Tok::kDuration && t[j].in_brackets && t[j].text == tok.text &&
                !(j > 0 && t[j - 1].kind == Tok::kColon)) {
              mutated = Replace(mutated, t[j].begin, t[j].end, to);
            }
          }
          where = "every `[" + std::string(tok.text) + "]`";
        } else {
          mutated = Replace(expr, tok.begin, tok.end, to);
          const std::size_t ctx_b = tok.begin >= 40 ? tok.begin - 40 : 0;
          where = "`" + std::string(ctx_b > 0 ? "..." : "") +
                  Collapse(expr.substr(ctx_b, tok.begin - ctx_b), 1000) +
                  (after_offset ? " " : "") + std::string(tok.text) + close + "`";
        }
        out.push_back({"window", where + " -> `" + what + to + close + "`", std::move(mutated)});
      }
    }
  }
  return out;
}

namespace {

struct RuleRef {
  std::string file;
  std::size_t group;
  std::size_t rule;
  std::string name;
  bool is_alert;
  std::string expr;
  bool has_for;
  bool has_keep_firing_for;
};

std::vector<RuleRef> ReadRules(const OutputFiles& files) {
  std::vector<RuleRef> out;
  for (const auto& [path, text] : files) {
    if (path.rfind("rules/", 0) != 0) continue;
    const YAML::Node root = YAML::Load(text);
    std::size_t g = 0;
    for (const auto& group : root["groups"]) {
      std::size_t r = 0;
      for (const auto& rule : group["rules"]) {
        const bool alert = static_cast<bool>(rule["alert"]);
        out.push_back({path, g, r, rule[alert ? "alert" : "record"].as<std::string>(), alert,
                       rule["expr"].as<std::string>(), static_cast<bool>(rule["for"]),
                       static_cast<bool>(rule["keep_firing_for"])});
        ++r;
      }
      ++g;
    }
  }
  return out;
}

// For every rule, the record names it reads, directly or through other records of the same
// file (every model's file defines the same record names for its own model label).
std::vector<std::set<std::string>> RecordClosures(const std::vector<RuleRef>& rules) {
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> records;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i].is_alert) records[{rules[i].file, rules[i].name}].push_back(i);
  }
  std::vector<std::set<std::string>> direct(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    for (const auto& id : Identifiers(rules[i].expr)) {
      if (records.count({rules[i].file, id})) direct[i].insert(id);
    }
  }
  std::vector<std::set<std::string>> closure(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    std::vector<std::string> pending(direct[i].begin(), direct[i].end());  // worklist
    while (!pending.empty()) {
      const std::string name = pending.back();
      pending.pop_back();
      if (!closure[i].insert(name).second) continue;
      for (std::size_t j : records[{rules[i].file, name}]) {
        for (const auto& d : direct[j]) pending.push_back(d);
      }
    }
  }
  return closure;
}

// "tests/x.test.yml" + "../rules/y.yml" -> "rules/y.yml".
std::string ResolveRuleFile(const std::string& test_path, const std::string& rule_file) {
  return (fs::path(test_path).parent_path() / rule_file).lexically_normal().string();
}

struct TestFile {
  std::string path;
  YAML::Node root;
  std::vector<std::string> rule_files;  // output paths
};

std::vector<TestFile> ReadTests(const OutputFiles& files) {
  std::vector<TestFile> out;
  for (const auto& [path, text] : files) {
    if (path.rfind("tests/", 0) != 0 || path.size() < 9 ||
        path.compare(path.size() - 9, 9, ".test.yml") != 0) {
      continue;
    }
    TestFile f{path, YAML::Load(text), {}};
    for (const auto& r : f.root["rule_files"]) {
      f.rule_files.push_back(ResolveRuleFile(path, r.as<std::string>()));
    }
    out.push_back(std::move(f));
  }
  return out;
}

// Does test group `g` exercise a rule named `name`? An alert is exercised by a case with its
// alertname; a record by a case of an alert that reads it or a PromQL case that reads it.
bool Exercises(const YAML::Node& g, const Mutant& m, const std::vector<RuleRef>& rules,
               const std::vector<std::set<std::string>>& closures) {
  for (const auto& c : g["alert_rule_test"]) {
    const std::string alert = c["alertname"].as<std::string>();
    if (m.is_alert) {
      if (alert == m.rule_name) return true;
      continue;
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (rules[i].is_alert && rules[i].file == m.rule_file && rules[i].name == alert &&
          closures[i].count(m.rule_name)) {
        return true;
      }
    }
  }
  if (!m.is_alert) {
    for (const auto& c : g["promql_expr_test"]) {
      const auto ids = Identifiers(c["expr"].as<std::string>());
      if (ids.count(m.rule_name)) return true;
      for (std::size_t i = 0; i < rules.size(); ++i) {
        if (!rules[i].is_alert && rules[i].file == m.rule_file && ids.count(rules[i].name) &&
            closures[i].count(m.rule_name)) {
          return true;
        }
      }
    }
  }
  return false;
}

bool WriteFile(const fs::path& p, const std::string& text) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream f(p, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

}  // namespace

const char* MutantOutcomeName(MutantOutcome o) {
  switch (o) {
    case MutantOutcome::kKilled:
      return "killed";
    case MutantOutcome::kSurvived:
      return "survived";
    case MutantOutcome::kUntested:
      return "untested";
    case MutantOutcome::kInvalid:
      return "invalid";
  }
  return "?";
}

std::vector<Mutant> EnumerateMutants(const OutputFiles& files, const std::string& only,
                                     const std::set<std::string>& alerts) {
  const std::vector<RuleRef> rules = ReadRules(files);
  const auto closures = RecordClosures(rules);
  std::set<std::pair<std::string, std::string>> read_by_alerts;  // (file, record)
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i].is_alert || (!alerts.empty() && !alerts.count(rules[i].name))) continue;
    for (const auto& name : closures[i]) read_by_alerts.insert({rules[i].file, name});
  }
  std::vector<Mutant> out;
  for (const RuleRef& r : rules) {
    if (!only.empty() && r.file.find(only) == std::string::npos) continue;
    if (!r.is_alert && !read_by_alerts.count({r.file, r.name})) continue;
    if (r.is_alert && !alerts.empty() && !alerts.count(r.name)) continue;
    Mutant base{r.file, r.group, r.rule, r.name, r.is_alert, "", "", r.expr};
    for (auto& e : MutateExpr(r.expr, r.is_alert ? RuleKind::kAlert : RuleKind::kRecord)) {
      Mutant m = base;
      m.kind = e.kind;
      m.description = e.description;
      m.expr = std::move(e.expr);
      out.push_back(std::move(m));
    }
    if (r.has_for) {
      Mutant m = base;
      m.kind = "drop-for";
      m.description = "remove `for`";
      out.push_back(std::move(m));
    }
    if (r.has_keep_firing_for) {
      Mutant m = base;
      m.kind = "drop-keep-firing-for";
      m.description = "remove `keep_firing_for`";
      out.push_back(std::move(m));
    }
  }
  return out;
}

std::string ApplyMutant(const std::string& rule_file_yaml, const Mutant& m) {
  YAML::Node root = YAML::Load(rule_file_yaml);
  YAML::Node rule = root["groups"][m.group]["rules"][m.rule];
  if (!rule.IsMap()) throw YAML::Exception(YAML::Mark::null_mark(), "no such rule");
  if (m.kind == "drop-for") {
    rule.remove("for");
  } else if (m.kind == "drop-keep-firing-for") {
    rule.remove("keep_firing_for");
  } else {
    rule["expr"] = m.expr;
  }
  YAML::Emitter e;
  e << root;
  return std::string(e.c_str()) + "\n";
}

Result<std::vector<MutantResult>> RunMutationTests(const OutputFiles& files,
                                                   const MutationOptions& options,
                                                   std::ostream& progress) {
  std::vector<RuleRef> rules;
  std::vector<TestFile> tests;
  std::vector<Mutant> mutants;
  try {
    rules = ReadRules(files);
    tests = ReadTests(files);
    mutants = EnumerateMutants(files, options.only, options.alerts);
  } catch (const YAML::Exception& e) {
    return MakeError(std::string("cannot read the generated files: ") + e.what());
  }
  const auto closures = RecordClosures(rules);
  auto scratch = TempDir::Create("modelwatch-mutants");
  if (!scratch) return tl::unexpected(scratch.error());
  const fs::path root(scratch->path());

  // The unmutated tests must pass, or every mutant would look killed. They run as the
  // mutants' tests do, split by the rules their groups read (part k under original/p<k>/).
  {
    std::vector<std::string> argv = {options.promtool, "test", "rules"};
    std::set<std::string> needed;
    for (const auto& m : mutants) needed.insert(m.rule_file);
    std::size_t k = 0;
    for (const TestFile& t : tests) {
      for (const auto& r : t.rule_files) {
        if (!needed.count(r)) continue;
        auto parts = SplitTestFileByRules(files, t.path);
        if (!parts) {
          return MakeError("cannot read the generated files: " + parts.error().ToString());
        }
        for (const OutputFiles& part : *parts) {
          const fs::path dir = root / "original" / ("p" + std::to_string(k++));
          for (const auto& [path, text] : part) {
            if (!WriteFile(dir / path, text)) {
              return MakeError("cannot write " + (dir / path).string());
            }
          }
          argv.push_back((dir / t.path).string());
        }
        break;
      }
    }
    if (argv.size() > 3) {
      const CommandResult r = RunCommand(argv);
      if (r.status != 0) {
        return MakeError("the generated tests fail before any mutation:\n" + r.output);
      }
    }
  }

  // Everything YAML is prepared here, on one thread (yaml-cpp nodes are not safe to share
  // between threads); the workers only write files and run promtool.
  struct Job {
    OutputFiles files;  // the reduced test files and the rule files they need
    std::vector<std::string> tests;
    // The reduced test files split by the rules their groups read (test_reduction.h), as
    // promtool runs them: part k under "p<k>/".
    OutputFiles parts;
    std::vector<std::string> part_tests;
  };
  std::vector<Job> jobs(mutants.size());
  std::vector<MutantResult> results(mutants.size());
  try {
    for (std::size_t i = 0; i < mutants.size(); ++i) {
      const Mutant& m = mutants[i];
      results[i].mutant = m;
      std::set<std::string> rule_files;
      for (const TestFile& t : tests) {
        if (std::find(t.rule_files.begin(), t.rule_files.end(), m.rule_file) ==
            t.rule_files.end()) {
          continue;
        }
        YAML::Node groups(YAML::NodeType::Sequence);
        for (const auto& g : t.root["tests"]) {
          if (Exercises(g, m, rules, closures)) groups.push_back(g);
        }
        if (groups.size() == 0) continue;
        YAML::Node reduced = YAML::Clone(t.root);
        reduced["tests"] = groups;
        YAML::Emitter e;
        e << reduced;
        jobs[i].files[t.path] = std::string(e.c_str()) + "\n";
        jobs[i].tests.push_back(t.path);
        rule_files.insert(t.rule_files.begin(), t.rule_files.end());
      }
      for (const auto& rf : rule_files) {
        auto it = files.find(rf);
        if (it != files.end()) {
          jobs[i].files[rf] = rf == m.rule_file ? ApplyMutant(it->second, m) : it->second;
        }
      }
      for (const auto& t : jobs[i].tests) {
        auto parts = SplitTestFileByRules(jobs[i].files, t);
        if (!parts) return MakeError("cannot prepare the mutants: " + parts.error().ToString());
        for (const OutputFiles& part : *parts) {
          const std::string prefix = "p" + std::to_string(jobs[i].part_tests.size()) + "/";
          for (const auto& [path, text] : part) jobs[i].parts[prefix + path] = text;
          jobs[i].part_tests.push_back(prefix + t);
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return MakeError(std::string("cannot prepare the mutants: ") + e.what());
  }

  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex progress_mu;
  auto work = [&] {
    for (std::size_t i = next++; i < mutants.size(); i = next++) {
      const Mutant& m = mutants[i];
      MutantResult& res = results[i];
      const fs::path dir = root / ("m" + std::to_string(i));
      if (jobs[i].tests.empty()) {
        res.outcome = MutantOutcome::kUntested;
      } else {
        for (const auto& [path, text] : jobs[i].files) WriteFile(dir / path, text);
        for (const auto& [path, text] : jobs[i].parts) WriteFile(dir / path, text);
        std::vector<std::string> argv = {options.promtool, "test", "rules"};
        for (const auto& t : jobs[i].part_tests) argv.push_back((dir / t).string());
        const CommandResult r = RunCommand(argv);
        if (r.status == 0) {
          res.outcome = MutantOutcome::kSurvived;
        } else {
          const CommandResult check =
              RunCommand({options.promtool, "check", "rules", (dir / m.rule_file).string()});
          res.outcome = check.status == 0 ? MutantOutcome::kKilled : MutantOutcome::kInvalid;
        }
      }
      std::error_code ec;
      fs::remove_all(dir, ec);
      const std::size_t n = ++done;
      std::lock_guard<std::mutex> lock(progress_mu);
      progress << "[" << n << "/" << mutants.size() << "] " << MutantOutcomeName(res.outcome)
               << "  " << m.rule_name << ": " << m.description << "\n";
    }
  };
  std::vector<std::thread> workers;
  for (int j = 0; j < std::max(1, options.jobs); ++j) workers.emplace_back(work);
  for (auto& w : workers) w.join();
  return results;
}

double MutationScore(const std::vector<MutantResult>& results) {
  std::size_t killed = 0, counted = 0;
  for (const auto& r : results) {
    if (r.outcome == MutantOutcome::kInvalid) continue;
    ++counted;
    killed += r.outcome == MutantOutcome::kKilled;
  }
  return counted == 0 ? 100.0 : 100.0 * static_cast<double>(killed) / static_cast<double>(counted);
}

void WriteMutationReport(const std::vector<MutantResult>& results, std::ostream& out) {
  // Per rule file and rule: killed / all counted.
  std::map<std::string, std::map<std::string, std::pair<int, int>>> by_rule;
  for (const auto& r : results) {
    if (r.outcome == MutantOutcome::kInvalid) continue;
    auto& [killed, all] = by_rule[r.mutant.rule_file][r.mutant.rule_name];
    killed += r.outcome == MutantOutcome::kKilled;
    ++all;
  }
  for (const auto& [file, rules] : by_rule) {
    out << file << "\n";
    for (const auto& [name, counts] : rules) {
      out << "  " << name << ": " << counts.first << "/" << counts.second << " killed\n";
    }
  }
  int lived = 0, invalid = 0;
  for (const auto& r : results) {
    if (r.outcome == MutantOutcome::kInvalid) {
      ++invalid;
      continue;
    }
    if (r.outcome == MutantOutcome::kKilled) continue;
    if (lived++ == 0) out << "\nmutants the generated tests did not catch:\n";
    out << "  " << MutantOutcomeName(r.outcome) << "  " << r.mutant.rule_file << " "
        << r.mutant.rule_name << " (group " << r.mutant.group << ", rule " << r.mutant.rule
        << "): " << r.mutant.description << "\n";
  }
  const std::size_t counted = results.size() - static_cast<std::size_t>(invalid);
  char score[32];
  std::snprintf(score, sizeof score, "%.1f", MutationScore(results));
  out << "\nmutation score: " << score << "% (" << (counted - static_cast<std::size_t>(lived))
      << " of " << counted << " mutants killed";
  if (invalid) out << "; " << invalid << " invalid mutants not counted";
  out << ")\n";
}

}  // namespace modelwatch
