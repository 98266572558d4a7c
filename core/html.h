#pragma once

#include <string>
#include <string_view>

namespace modelwatch {

// `text` with &, <, > and " replaced by their HTML entities: safe inside element content and
// double-quoted attribute values. Used by the landing page and the backtest report.
std::string HtmlEscape(std::string_view text);

}  // namespace modelwatch
