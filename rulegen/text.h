// Small text helpers shared by the rulegen emitters: YAML scalars, numbers as Prometheus and
// Go's fmt print them, and the `@@name@@` placeholders of the templates/ files.
#ifndef MODELWATCH_RULEGEN_TEXT_H_
#define MODELWATCH_RULEGEN_TEXT_H_

#include <map>
#include <string>
#include <string_view>

namespace modelwatch {

// Returns `s` as a YAML double-quoted scalar (JSON escapes, valid YAML 1.1 and 1.2).
std::string YamlQuote(std::string_view s);

// Appends YamlQuote(s) to `out` (no temporary string: the emitters' hot path).
void AppendYamlQuote(std::string& out, std::string_view s);

// Returns `s` unquoted when it is a plain YAML scalar that reads back as the same string
// (no indicators, not a number, bool or null lookalike), else YamlQuote(s).
std::string YamlScalar(std::string_view s);

// Appends YamlScalar(s) to `out`.
void AppendYamlScalar(std::string& out, std::string_view s);

// Shortest "%.15g" form: 0.01 -> "0.01", 14.4*0.01 -> "0.144", 3 -> "3".
std::string FormatNumber(double v);

// Appends FormatNumber(v) to `out`.
void AppendNumber(std::string& out, double v);

// Go's fmt.Sprintf(format, v) for the verbs the alert templates use (%.Ng, %.Nf, %+.Nf):
// identical to C's printf for finite values.
std::string GoFormat(const char* format, double v);

// Prometheus' humanizePercentage: fmt.Sprintf("%.4g%%", v*100).
std::string HumanizePercentage(double v);

// Replaces every `@@key@@` in `text` with vars[key]. Returns the text; `missing` receives
// the first unknown key (empty when all were known).
std::string RenderTemplate(std::string_view text, const std::map<std::string, std::string>& vars,
                           std::string* missing = nullptr);

// Indents every non-empty line of `text` by `spaces`.
std::string Indent(std::string_view text, int spaces);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_TEXT_H_
