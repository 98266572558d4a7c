#include "rulegen/grafana_templates.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

namespace modelwatch {

namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("cannot read dashboard template", SourceLocation{path, 0, 0});
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads `name` from `dir`, or from the built-in copies when `dir` is empty.
Result<std::string> ReadTemplate(const std::string& dir, const std::string& name) {
  if (!dir.empty()) return ReadFile(dir + "/" + name);
  const auto& files = EmbeddedDashboardFiles();
  auto it = files.find(name);
  if (it == files.end()) {
    return MakeError("built-in dashboard template missing", SourceLocation{name, 0, 0});
  }
  return std::string(it->second);
}

Result<Json> ReadJson(const std::string& dir, const std::string& name) {
  const std::string path = dir.empty() ? name : dir + "/" + name;
  auto text = ReadTemplate(dir, name);
  if (!text) return tl::unexpected(text.error());
  Json doc = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return MakeError("dashboard template is not valid JSON", SourceLocation{path, 0, 0});
  }
  if (!doc.is_object()) {
    return MakeError("dashboard template must be a JSON object", SourceLocation{path, 0, 0});
  }
  return doc;
}

}  // namespace

std::string DefaultDashboardTemplateDir() {
  const char* env = std::getenv("MODELWATCH_DASHBOARD_TEMPLATES");
  if (env != nullptr && *env != '\0') return env;
  return "";
}

Result<DashboardTemplates> LoadDashboardTemplates(const std::string& dir) {
  DashboardTemplates t;
  auto model = ReadJson(dir, "model.json");
  if (!model) return tl::unexpected(model.error());
  t.model = std::move(*model);
  auto overview = ReadJson(dir, "overview.json");
  if (!overview) return tl::unexpected(overview.error());
  t.overview = std::move(*overview);
  auto panels = ReadJson(dir, "panels.json");
  if (!panels) return tl::unexpected(panels.error());
  for (const auto& [type, panel] : panels->items()) {
    if (!panel.is_object()) {
      return MakeError("panels.json: entry '" + type + "' must be an object",
                       SourceLocation{dir.empty() ? "panels.json" : dir + "/panels.json", 0, 0});
    }
  }
  t.panels = std::move(*panels);
  auto provisioning = ReadTemplate(dir, "provisioning.yml");
  if (!provisioning) return tl::unexpected(provisioning.error());
  t.provisioning = std::move(*provisioning);
  return t;
}

std::string FillTokens(std::string text, const std::map<std::string, std::string>& vars) {
  // One left-to-right pass, so that a replacement containing '@' is never re-expanded.
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t open = text.find('@', pos);
    if (open == std::string::npos) break;
    std::size_t close = text.find('@', open + 1);
    if (close == std::string::npos) break;
    auto it = vars.find(text.substr(open + 1, close - open - 1));
    if (it == vars.end()) {
      out.append(text, pos, close - pos);  // keep the first '@'; the second may open a token
      pos = close;
      continue;
    }
    out.append(text, pos, open - pos);
    out += it->second;
    pos = close + 1;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

void FillTokens(Json& doc, const std::map<std::string, std::string>& vars) {
  if (doc.is_string()) {
    doc = FillTokens(doc.get<std::string>(), vars);
  } else if (doc.is_structured()) {
    for (auto& child : doc) FillTokens(child, vars);
  }
}

Json PanelFromTemplate(const DashboardTemplates& templates, const std::string& type) {
  Json panel = Json::object();
  panel["type"] = type;
  auto it = templates.panels.find(type);
  if (it != templates.panels.end()) {
    for (const auto& [key, value] : it->items()) panel[key] = value;
  }
  return panel;
}

}  // namespace modelwatch
