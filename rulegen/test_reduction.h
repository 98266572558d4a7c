// Splits a promtool unit-test file by the rules its test groups read. promtool evaluates every
// rule of every loaded rule file at every evaluation step of every test group, whatever the
// group tests: a ModelDown group of a model with 64 rules pays for 64 rule evaluations per
// step where 2 decide its outcome. A rule's result depends only on the series it reads, and a
// rule writes only its own series (a record its name, an alert ALERTS and ALERTS_FOR_STATE),
// so a test group gives the same results against the rules it reads, directly or through
// records, as against the whole files.
#ifndef MODELWATCH_RULEGEN_TEST_REDUCTION_H_
#define MODELWATCH_RULEGEN_TEST_REDUCTION_H_

#include <string>
#include <vector>

#include "core/error.h"
#include "rulegen/emitter.h"

namespace modelwatch {

// The test file `test_path` of `files` as one or more parts, each holding a test file at
// `test_path` and the rule files it references at their own output paths (so its relative
// `rule_files` entries stay valid when a part is written under a directory of its own). A
// part's test file has the test groups, in their order, that read the same rules; its rule
// files keep those rules only, in their groups and order (a group or file without any is
// left out). The rules a group reads are the alerts its `alert_rule_test` cases name, the
// records its `promql_expr_test` expressions name, and every record these read, transitively;
// an expression that reads ALERTS or ALERTS_FOR_STATE reads every alert of the files, one
// with a matcher on __name__ every rule.
// Returns an error when the test file or a rule file it references cannot be parsed or does
// not exist in `files` (promtool reports those on the original file).
Result<std::vector<OutputFiles>> SplitTestFileByRules(const OutputFiles& files,
                                                      const std::string& test_path);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_TEST_REDUCTION_H_
