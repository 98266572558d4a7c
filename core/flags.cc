#include "core/flags.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "core/command.h"

namespace modelwatch {

FlagParser::FlagParser(std::string usage, std::string description, std::vector<FlagSpec> specs)
    : usage_(std::move(usage)), description_(std::move(description)), specs_(std::move(specs)) {}

std::optional<int> FlagParser::ParseOrExit(const std::vector<std::string>& args,
                                           const std::string& command) {
  if (auto ok = Parse(args); !ok) {
    std::cerr << command << ": " << ok.error().ToString() << "\nTry --help.\n";
    return kExitUsage;
  }
  if (help_requested_) {
    std::cout << Help();
    return kExitOk;
  }
  return std::nullopt;
}

Result<void> FlagParser::Parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return {};
    }
    if (arg.rfind("--", 0) != 0) return MakeError("unexpected argument \"" + arg + "\"");
    std::string body = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body.resize(eq);
    }
    auto spec = std::find_if(specs_.begin(), specs_.end(),
                             [&](const FlagSpec& s) { return s.name == body; });
    if (spec == specs_.end()) {
      std::vector<std::string> names;
      for (const auto& s : specs_) names.push_back(s.name);
      std::string msg = "unknown flag --" + body;
      if (auto s = Suggest(body, names)) msg += " (did you mean --" + *s + "?)";
      return MakeError(msg);
    }
    if (spec->is_bool) {
      if (value && *value != "true" && *value != "false") {
        return MakeError("flag --" + body + " takes no value or true/false");
      }
      if (!value || *value == "true") values_[body] = "true";
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return MakeError("flag --" + body + " needs a value");
      value = args[++i];
    }
    values_[body] = *value;
  }
  for (const auto& s : specs_) {
    if (s.required && !Has(s.name)) return MakeError("missing required flag --" + s.name);
  }
  return {};
}

std::string FlagParser::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  for (const auto& s : specs_) {
    if (s.name == name) return s.default_value;
  }
  return "";
}

std::string FlagParser::Help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << description_ << "\n\nflags:\n";
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.is_bool ? "" : "=VALUE");
    out << left;
    out << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << s.help;
    if (s.required) out << " (required)";
    if (!s.default_value.empty()) out << " (default: " << s.default_value << ")";
    out << "\n";
  }
  out << "  --help                          show this help\n";
  return out.str();
}

int EditDistance(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      int sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> Suggest(const std::string& word,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  int best_distance = 0;
  for (const auto& c : candidates) {
    int d = EditDistance(word, c);
    if (!best || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  int limit = std::max<int>(2, static_cast<int>(word.size()) / 3);
  if (best && best_distance <= limit && best_distance < static_cast<int>(word.size())) {
    return best;
  }
  return std::nullopt;
}

}  // namespace modelwatch
