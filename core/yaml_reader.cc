#include "core/yaml_reader.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "core/flags.h"

namespace modelwatch {
namespace {

// Quoted scalars ("0.1", '1') carry the non-specific tag "!": they are strings, never numbers.
bool IsQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

std::string FormatNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::string DescribeNode(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "?";
}

SourceLocation YamlReader::Locate(const YAML::Node& node) const {
  SourceLocation loc{file_, 0, 0};
  if (node.IsDefined()) {
    YAML::Mark m = node.Mark();
    if (m.line >= 0) {
      loc.line = m.line + 1;
      loc.column = m.column + 1;
    }
  }
  return loc;
}

void YamlReader::AddError(const YAML::Node& at, std::string message) {
  AddError(Locate(at), std::move(message));
}

void YamlReader::AddError(SourceLocation at, std::string message) {
  errors_.push_back(Error{std::move(at), std::move(message)});
}

bool YamlReader::CheckMapping(const YAML::Node& node, const std::vector<std::string>& allowed,
                              const std::string& what) {
  if (!node.IsMap()) {
    AddError(node, what + " must be a mapping, got " + DescribeNode(node));
    return false;
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      AddError(kv.first, "keys of " + what + " must be plain names");
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      AddError(kv.first, "duplicate key \"" + key + "\" in " + what);
      continue;
    }
    bool known = false;
    for (const auto& a : allowed) known = known || a == key;
    if (!known) {
      std::string msg = "unknown key \"" + key + "\" in " + what;
      if (auto s = Suggest(key, allowed)) msg += " (did you mean \"" + *s + "\"?)";
      AddError(kv.first, msg);
    }
  }
  return true;
}

YAML::Node YamlReader::Child(const YAML::Node& parent, const std::string& key,
                             const std::string& what, bool required) {
  if (!parent.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  // Iterate rather than parent[key]: operator[] on a const node is fine, but iterating keeps
  // the first of duplicate keys, matching the duplicate-key error above.
  for (const auto& kv : parent) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  if (required) AddError(parent, "missing required key \"" + key + "\" in " + what);
  return YAML::Node(YAML::NodeType::Undefined);
}

std::optional<std::string> YamlReader::String(const YAML::Node& node, const std::string& key_path) {
  if (!node.IsDefined()) return std::nullopt;
  if (!node.IsScalar()) {
    AddError(node, "\"" + key_path + "\" must be a string, got " + DescribeNode(node));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<double> YamlReader::Number(const YAML::Node& node, const std::string& key_path) {
  if (!node.IsDefined()) return std::nullopt;
  if (node.IsScalar() && !IsQuoted(node)) {
    const std::string& s = node.Scalar();
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0 && std::isfinite(v)) return v;
  }
  AddError(node, "\"" + key_path + "\" must be a number, got " + DescribeNode(node));
  return std::nullopt;
}

std::optional<std::int64_t> YamlReader::Integer(const YAML::Node& node,
                                                const std::string& key_path) {
  if (!node.IsDefined()) return std::nullopt;
  if (node.IsScalar() && !IsQuoted(node)) {
    const std::string& s = node.Scalar();
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return v;
  }
  AddError(node, "\"" + key_path + "\" must be an integer, got " + DescribeNode(node));
  return std::nullopt;
}

std::optional<bool> YamlReader::Bool(const YAML::Node& node, const std::string& key_path) {
  if (!node.IsDefined()) return std::nullopt;
  if (node.IsScalar() && !IsQuoted(node)) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  AddError(node, "\"" + key_path + "\" must be true or false, got " + DescribeNode(node));
  return std::nullopt;
}

std::optional<Seconds> YamlReader::Duration(const YAML::Node& node, const std::string& key_path) {
  auto text = String(node, key_path);
  if (!text) return std::nullopt;
  auto d = ParseDuration(*text);
  if (!d) {
    AddError(node, "\"" + key_path + "\": " + d.error().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<Seconds> YamlReader::DurationOrZero(const YAML::Node& node,
                                                  const std::string& key_path) {
  if (node.IsDefined() && node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text == "0" || (text.size() == 2 && text[0] == '0' &&
                        std::string_view("smhdw").find(text[1]) != std::string_view::npos)) {
      return Seconds(0);
    }
  }
  return Duration(node, key_path);
}

std::optional<std::vector<std::string>> YamlReader::StringList(const YAML::Node& node,
                                                               const std::string& key_path) {
  if (!node.IsDefined()) return std::nullopt;
  if (!node.IsSequence()) {
    AddError(node, "\"" + key_path + "\" must be a list, got " + DescribeNode(node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : node) {
    auto s = String(item, key_path + "[]");
    if (s) {
      out.push_back(*s);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

bool YamlReader::InRange(const YAML::Node& node, const std::string& key_path, double value,
                         double lo, double hi, bool lo_open, bool hi_open) {
  bool ok = (lo_open ? value > lo : value >= lo) && (hi_open ? value < hi : value <= hi);
  if (!ok) {
    AddError(node, "\"" + key_path + "\" must be in " + (lo_open ? "(" : "[") + FormatNumber(lo) +
                       ", " + FormatNumber(hi) + (hi_open ? ")" : "]") + ", got " +
                       FormatNumber(value));
  }
  return ok;
}

std::optional<std::string> YamlReader::Choice(const YAML::Node& node, const std::string& key_path,
                                              const std::vector<std::string>& choices) {
  auto s = String(node, key_path);
  if (!s) return std::nullopt;
  for (const auto& c : choices) {
    if (c == *s) return s;
  }
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  std::string msg = "\"" + key_path + "\" must be one of " + list + ", got \"" + *s + "\"";
  if (auto sug = Suggest(*s, choices)) msg += " (did you mean \"" + *sug + "\"?)";
  AddError(node, msg);
  return std::nullopt;
}

}  // namespace modelwatch
