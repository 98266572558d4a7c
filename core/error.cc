#include "core/error.h"

#include <algorithm>
#include <tuple>

namespace modelwatch {

std::string Error::ToString() const {
  std::string out = location.file;
  if (location.line > 0) {
    out += ":" + std::to_string(location.line);
    if (location.column > 0) out += ":" + std::to_string(location.column);
  }
  if (!out.empty()) out += ": ";
  out += "error: " + message;
  return out;
}

void SortErrors(std::vector<Error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const Error& a, const Error& b) {
    return std::tie(a.location.file, a.location.line, a.location.column) <
           std::tie(b.location.file, b.location.line, b.location.column);
  });
}

}  // namespace modelwatch
