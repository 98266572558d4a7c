#include "core/duration.h"

#include <array>
#include <cctype>
#include <cstdint>

namespace modelwatch {
namespace {

struct Unit {
  char symbol;
  std::int64_t seconds;
};
constexpr std::array<Unit, 5> kUnits{
    {{'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};
constexpr std::int64_t kMaxSeconds = 100LL * 365 * 86400;

}  // namespace

Result<Seconds> ParseDuration(std::string_view text) {
  auto invalid = [&] {
    return MakeError("invalid duration \"" + std::string(text) +
                     "\": want a positive integer with a unit s, m, h, d or w, e.g. 30s, 5m, "
                     "24h, 30d (parts may combine: 1h30m)");
  };
  if (text.empty()) return invalid();
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must appear in decreasing order, once each
  std::size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return invalid();
    std::int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxSeconds) return invalid();
      ++i;
    }
    if (i == text.size()) return invalid();
    std::size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].symbol != text[i]) ++u;
    if (u == kUnits.size()) return invalid();
    total += value * kUnits[u].seconds;
    if (total > kMaxSeconds) return invalid();
    next_unit = u + 1;
    ++i;
  }
  if (total <= 0) return invalid();
  return Seconds(total);
}

std::string FormatDuration(Seconds d) {
  std::int64_t left = d.count();
  if (left <= 0) return "0s";
  std::string out;
  // Prometheus prints days and weeks only when they divide exactly; otherwise hours.
  for (const Unit& u : kUnits) {
    if (left >= u.seconds) {
      out += std::to_string(left / u.seconds) + u.symbol;
      left %= u.seconds;
    }
  }
  return out;
}

}  // namespace modelwatch
