#include "core/config_parse.h"

#include <filesystem>

namespace modelwatch::config_parse {

bool IsName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string Resolve(const std::string& file, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(file).parent_path() / path).lexically_normal().string();
}

std::optional<YAML::Node> ParseYaml(std::string_view text, YamlReader& r) {
  try {
    YAML::Node doc = YAML::Load(std::string(text));
    return doc;
  } catch (const YAML::ParserException& e) {
    SourceLocation loc{r.file(), e.mark.line >= 0 ? e.mark.line + 1 : 0,
                       e.mark.column >= 0 ? e.mark.column + 1 : 0};
    r.AddError(loc, "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    r.AddError(SourceLocation{r.file(), 0, 0}, std::string("invalid YAML: ") + e.what());
  }
  return std::nullopt;
}

}  // namespace modelwatch::config_parse
