#include "exporter/http/http_request.h"

#include <algorithm>
#include <cctype>

namespace modelwatch {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 32 && u < 127 && c != ':' && c != '(' && c != ')' && c != ',' && c != '/' &&
           c != ';' && c != '<' && c != '>' && c != '=' && c != '?' && c != '@' && c != '[' &&
           c != ']' && c != '{' && c != '}' && c != '"' && c != '\\';
  });
}

// True when a comma-separated header value lists `token` (case-insensitive).
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = Trim(value.substr(0, comma));
    if (Lower(item) == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view HttpRequestHead::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

bool HttpRequestHead::HasBody() const {
  if (!Header("transfer-encoding").empty()) return true;
  const std::string_view length = Header("content-length");
  return !length.empty() && length.find_first_not_of('0') != std::string_view::npos;
}

bool HttpRequestHead::KeepAlive() const {
  if (HasBody()) return false;
  const std::string_view connection = Header("connection");
  if (minor_version == 0) return ListsToken(connection, "keep-alive");
  return !ListsToken(connection, "close");
}

HeadParse ParseRequestHead(std::string_view data, HttpRequestHead& out) {
  // Leading empty lines before a request are tolerated (RFC 9112 §2.2).
  std::size_t start = 0;
  while (start < data.size() && (data[start] == '\r' || data[start] == '\n')) ++start;
  std::size_t end = std::string_view::npos;
  std::size_t head_end = 0;
  for (std::size_t i = start; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    // A line end followed by an empty line (\n\n or \n\r\n).
    if (i + 1 < data.size() && data[i + 1] == '\n') {
      end = i;
      head_end = i + 2;
      break;
    }
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') {
      end = i;
      head_end = i + 3;
      break;
    }
  }
  if (end == std::string_view::npos) {
    // Nothing sent yet, or a start that can still be a request line: wait for more. A
    // first line that already cannot be one (e.g. a TLS handshake) is bad at once.
    std::string_view first = data.substr(start, data.find('\n', start) - start);
    const auto space = first.find(' ');
    if (space != std::string_view::npos) {
      if (!IsToken(first.substr(0, space))) return HeadParse::kBad;
    } else if (!first.empty() && !IsToken(first)) {
      return HeadParse::kBad;
    }
    return HeadParse::kIncomplete;
  }
  out = HttpRequestHead{};
  out.head_bytes = head_end;
  std::string_view head = data.substr(start, end - start);
  const auto line_end = head.find('\n');
  std::string_view line = Trim(head.substr(0, line_end));
  head = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 1);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return HeadParse::kBad;
  out.method = std::string(line.substr(0, sp1));
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(out.method) || target.empty() || target.find(' ') != std::string_view::npos) {
    return HeadParse::kBad;
  }
  if (version == "HTTP/1.1") {
    out.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    out.minor_version = 0;
  } else {
    return HeadParse::kBad;
  }
  out.path = std::string(target.substr(0, target.find('?')));
  while (!head.empty()) {
    const auto nl = head.find('\n');
    std::string_view h = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view{} : head.substr(nl + 1);
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    if (h.empty()) continue;
    const auto colon = h.find(':');
    if (colon == std::string_view::npos || !IsToken(h.substr(0, colon))) return HeadParse::kBad;
    out.headers.emplace_back(Lower(h.substr(0, colon)), std::string(Trim(h.substr(colon + 1))));
  }
  return HeadParse::kComplete;
}

}  // namespace modelwatch
