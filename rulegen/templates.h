// The text templates of templates/ (runbooks, Alertmanager notification templates), compiled
// into the binary so that an installed modelwatch-rulegen needs no data files.
#ifndef MODELWATCH_RULEGEN_TEMPLATES_H_
#define MODELWATCH_RULEGEN_TEMPLATES_H_

#include <map>
#include <string>
#include <string_view>

namespace modelwatch {

// Relative path under templates/ (e.g. "runbook.md.tmpl") -> file content, as of the build.
const std::map<std::string, std::string_view>& EmbeddedTemplates();

// Returns the named template. Throws std::out_of_range for an unknown name (a build bug).
std::string_view TemplateText(const std::string& name);

}  // namespace modelwatch

#endif  // MODELWATCH_RULEGEN_TEMPLATES_H_
