#include "rulegen/text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>

namespace modelwatch {

namespace {

// The YAML double-quoted escape of byte `c`, or nullptr when it is copied as it is.
const char* QuoteEscape(unsigned char c, char (&buf)[8]) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    default:
      if (c < 0x20) {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        return buf;
      }
      return nullptr;
  }
}

}  // namespace

void AppendYamlQuote(std::string& out, std::string_view s) {
  out += '"';
  std::size_t plain = 0;  // start of the characters not yet copied, which need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    // Most characters need no escape: one comparison for them (control characters are below
    // 0x20, and '"' and '\\' are the only others escaped).
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    char buf[8];
    const char* escaped = QuoteEscape(c, buf);
    if (escaped == nullptr) continue;
    out.append(s.data() + plain, i - plain);
    out += escaped;
    plain = i + 1;
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

std::string YamlQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendYamlQuote(out, s);
  return out;
}

namespace {

// Whether YamlScalar must quote `s`.
bool NeedsYamlQuotes(std::string_view s) {
  static const std::set<std::string, std::less<>> kReserved = {
      "y",  "Y",    "yes",  "Yes",  "YES",   "n",     "N",     "no", "No",
      "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
      "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL",  "~"};
  if (s.empty() || kReserved.count(s)) return true;
  const unsigned char first = s.front();
  if (std::string_view("-?:,[]{}#&*!|>'\"%@` .").find(static_cast<char>(first)) !=
          std::string_view::npos ||
      (first >= '0' && first <= '9') || s.back() == ' ') {
    return true;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) return true;
    if (c == '#' && i > 0 && s[i - 1] == ' ') return true;
    if (c == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return true;
    if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',') return true;
  }
  return false;
}

}  // namespace

void AppendYamlScalar(std::string& out, std::string_view s) {
  if (NeedsYamlQuotes(s)) {
    AppendYamlQuote(out, s);
  } else {
    out.append(s);
  }
}

std::string YamlScalar(std::string_view s) {
  std::string out;
  AppendYamlScalar(out, s);
  return out;
}

void AppendNumber(std::string& out, double v) {
  char buf[64];
  char* end = buf;
  // Integers (most sample values and thresholds) as integers: %.15g prints every integer
  // below 1e15 in full (but -0 as "-0").
  if (v == std::trunc(v) && std::fabs(v) < 1e15 && !(v == 0 && std::signbit(v))) {
    end = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v)).ptr;
  } else if (std::isfinite(v)) {
    // std::to_chars with a precision is printf's %.*g in the "C" locale, without the format
    // string and the locale.
    end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 15).ptr;
  } else {
    end = buf + std::snprintf(buf, sizeof buf, "%.15g", v);
  }
  out.append(buf, end);
}

std::string FormatNumber(double v) {
  std::string out;
  AppendNumber(out, v);
  return out;
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
