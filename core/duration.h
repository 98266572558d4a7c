// Durations as written in configs: `30s`, `5m`, `1h`, `24h`, `7d`, `2w`, or compound `1h30m`.
#ifndef MODELWATCH_CORE_DURATION_H_
#define MODELWATCH_CORE_DURATION_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace modelwatch {

using Seconds = std::chrono::seconds;

// Parses a duration of one or more `<integer><unit>` parts, units s m h d w in strictly
// decreasing order. Returns an error message (no location) for anything else, including
// zero, negative values and results over 100 years.
Result<Seconds> ParseDuration(std::string_view text);

// Formats a duration the way Prometheus does: `1d`, `1h30m`, `90s` → `1m30s`; zero → `0s`.
std::string FormatDuration(Seconds d);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_DURATION_H_
