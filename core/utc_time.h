// Unix seconds written as UTC calendar time: the RFC 3339 stamps of the backtest's JSON
// result and the times of its HTML report.
#ifndef MODELWATCH_CORE_UTC_TIME_H_
#define MODELWATCH_CORE_UTC_TIME_H_

#include <string>

namespace modelwatch {

// `t` (Unix seconds; the fraction is dropped, rounding down) in UTC, formatted by strftime's
// `format` (at most 31 characters of output).
std::string FormatUtc(double t, const char* format);

// RFC 3339 to the second, in UTC: "2026-11-22T10:00:00Z".
std::string Rfc3339(double t);

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_UTC_TIME_H_
