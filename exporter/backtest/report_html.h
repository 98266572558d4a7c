// The backtest's HTML report: one self-contained page (inline CSS and SVG, no script, no
// network) drawn from the JSON result.
#ifndef MODELWATCH_EXPORTER_BACKTEST_REPORT_HTML_H_
#define MODELWATCH_EXPORTER_BACKTEST_REPORT_HTML_H_

#include <nlohmann/json.hpp>
#include <string>

namespace modelwatch {

// `result` is the document `backtest --output` writes (docs/backtest.md).
std::string RenderBacktestHtml(const nlohmann::ordered_json& result);

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_BACKTEST_REPORT_HTML_H_
