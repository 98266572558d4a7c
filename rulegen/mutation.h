// Mutation testing of the generated rules: can the generated promtool tests tell a broken
// rule from a good one? Each mutant is one deliberate mistake in one rule (a conjunct of an
// `and` dropped, a branch of an `or` dropped, a threshold halved or doubled, a range or
// offset halved or doubled, `for` or `keep_firing_for` removed). A mutant is killed when the
// generated tests that exercise that rule fail against it.
#ifndef MODELWATCH_RULEGEN_MUTATION_H_
#define MODELWATCH_RULEGEN_MUTATION_H_

#include <cstddef>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rulegen/emitter.h"

namespace modelwatch {

// One changed expression.
struct ExprMutation {
  std::string kind;         // "drop-and", "drop-or", "threshold", "window"
  std::string description;  // human-readable, e.g. "threshold 0.2 -> 0.1"
  std::string expr;         // the whole mutated expression
};

enum class RuleKind { kAlert, kRecord };

// Every mutation of one PromQL expression. Pure; understands the subset of PromQL that the
// generator writes (selectors, functions, aggregations, binary and set operators with
// on/ignoring/group_* modifiers, ranges, subqueries, offsets, strings). Numbers inside label
// matchers and strings are never touched. Thresholds: a non-zero number is halved and
// doubled, 0 becomes 1. Windows: each duration in a range, subquery range or offset is halved
// and doubled; in a recording rule (kind kRecord) all ranges of one length change together,
// as they are that record's one window. Set operators: each operand of an `and`/`unless` chain and
// each branch of an `or` chain is dropped in turn, at every nesting level.
std::vector<ExprMutation> MutateExpr(std::string_view expr, RuleKind kind);

// The metric and record names `expr` reads (function names and keywords may also appear;
// label names and values inside `{}` and strings do not).
std::set<std::string> ExprIdentifiers(std::string_view expr);

// Formats a PromQL duration from milliseconds with the largest units first ("1d11h30m").
std::string FormatPromDuration(long long ms);
// Parses a PromQL duration ("2d23h", "90s", "500ms"); -1 when it is not one.
long long ParsePromDuration(std::string_view s);

// One mutant of one rule of one generated rule file.
struct Mutant {
  std::string rule_file;  // output path, e.g. "rules/fraud-detector.rules.yml"
  std::size_t group = 0;  // index of the rule group in the file
  std::size_t rule = 0;   // index of the rule in the group
  std::string rule_name;  // the alert or record name
  bool is_alert = false;
  std::string kind;  // an ExprMutation kind, or "drop-for" / "drop-keep-firing-for"
  std::string description;
  std::string expr;  // the rule's expression after the mutation
};

// Every mutant of the rule files in `files` (paths under rules/; only those whose name
// contains `only` when it is not empty; only the alerts named in `alerts` when it is not
// empty). Recording rules are mutated only when a selected alert depends on them, directly
// or through other recording rules: a record that only feeds dashboards has nothing to
// alert on.
std::vector<Mutant> EnumerateMutants(const OutputFiles& files, const std::string& only,
                                     const std::set<std::string>& alerts = {});

// `rule_file_yaml` with the mutant applied (re-emitted YAML). Throws YAML::Exception if the
// text is not a rule file with the mutant's group and rule.
std::string ApplyMutant(const std::string& rule_file_yaml, const Mutant& m);

enum class MutantOutcome {
  kKilled,    // a generated test failed
  kSurvived,  // every test that exercises the rule passed
  kUntested,  // no generated test exercises the rule at all (counts as survived)
  kInvalid,   // promtool rejects the mutated rule file (not counted)
};
const char* MutantOutcomeName(MutantOutcome o);

struct MutantResult {
  Mutant mutant;
  MutantOutcome outcome = MutantOutcome::kSurvived;
};

struct MutationOptions {
  std::string promtool = "promtool";
  std::string only;  // restrict to rule files whose path contains this (e.g. a model name)
  std::set<std::string> alerts;  // restrict to these alerts (and the records they read)
  int jobs = 2;                  // promtool processes run at once
};

// Runs every mutant against the generated tests of `files` (promtool test rules on the test
// groups that exercise the mutated rule, split by the rules they read as `check` runs them,
// written to a temporary directory). First checks
// that the unmutated tests pass; returns an error if they do not. Progress goes to
// `progress` (one line per finished rule file).
Result<std::vector<MutantResult>> RunMutationTests(const OutputFiles& files,
                                                   const MutationOptions& options,
                                                   std::ostream& progress);

// Score = killed / (killed + survived + untested), in percent; 100 when there is no mutant.
double MutationScore(const std::vector<MutantResult>& results);

// A plain-text report: per rule file and rule the counts, then every mutant that lived.
void WriteMutationReport(const std::vector<MutantResult>& results, std::ostream& out);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_MUTATION_H_
