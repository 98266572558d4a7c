#include "rulegen/templates.h"

namespace modelwatch {

// EmbeddedTemplates() is generated from templates/ by cmake/embed_files.cmake.
std::string_view TemplateText(const std::string& name) { return EmbeddedTemplates().at(name); }

}  // namespace modelwatch
