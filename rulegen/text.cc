#include "rulegen/text.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>

namespace modelwatch {

std::string YamlQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  std::size_t plain = 0;  // start of the characters not yet copied, which need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const char* escaped = nullptr;
    char buf[8];
    switch (c) {
      case '"':
        escaped = "\\\"";
        break;
      case '\\':
        escaped = "\\\\";
        break;
      case '\n':
        escaped = "\\n";
        break;
      case '\t':
        escaped = "\\t";
        break;
      case '\r':
        escaped = "\\r";
        break;
      default:
        if (c < 0x20) {
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          escaped = buf;
        }
    }
    if (escaped == nullptr) continue;
    out.append(s.data() + plain, i - plain);
    out += escaped;
    plain = i + 1;
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
  return out;
}

std::string YamlScalar(std::string_view s) {
  static const std::set<std::string, std::less<>> kReserved = {
      "y",  "Y",    "yes",  "Yes",  "YES",   "n",     "N",     "no", "No",
      "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
      "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL",  "~"};
  if (s.empty() || kReserved.count(s)) return YamlQuote(s);
  const unsigned char first = s.front();
  if (std::string_view("-?:,[]{}#&*!|>'\"%@` .").find(static_cast<char>(first)) !=
          std::string_view::npos ||
      (first >= '0' && first <= '9') || s.back() == ' ') {
    return YamlQuote(s);
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) return YamlQuote(s);
    if (c == '#' && i > 0 && s[i - 1] == ' ') return YamlQuote(s);
    if (c == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return YamlQuote(s);
    if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',') return YamlQuote(s);
  }
  return std::string(s);
}

std::string FormatNumber(double v) {
  // Integers (most sample values and thresholds) without printf: %.15g prints every integer
  // below 1e15 in full, as std::to_string does (but -0 as "-0").
  if (v == std::trunc(v) && std::fabs(v) < 1e15 && !(v == 0 && std::signbit(v))) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string GoFormat(const char* format, double v) {
  char buf[128];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string HumanizePercentage(double v) { return GoFormat("%.4g", v * 100) + "%"; }

std::string RenderTemplate(std::string_view text, const std::map<std::string, std::string>& vars,
                           std::string* missing) {
  if (missing) missing->clear();
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t open = text.find("@@", pos);
    if (open == std::string_view::npos) break;
    std::size_t close = text.find("@@", open + 2);
    if (close == std::string_view::npos) break;
    std::string key(text.substr(open + 2, close - open - 2));
    auto it = vars.find(key);
    out.append(text.substr(pos, open - pos));
    if (it == vars.end()) {
      if (missing && missing->empty()) *missing = key;
      out.append(text.substr(open, close + 2 - open));
    } else {
      out += it->second;
    }
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

std::string Indent(std::string_view text, int spaces) {
  std::string pad(static_cast<std::size_t>(spaces), ' ');
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty()) out += pad;
    out.append(line);
    if (nl == std::string_view::npos) break;
    out += '\n';
    pos = nl + 1;
  }
  return out;
}

}  // namespace modelwatch
