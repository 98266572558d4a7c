#include "exporter/backtest/recorded_series.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace modelwatch {
namespace {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void RecordedSeriesWriter::Add(const std::string& record,
                               const std::map<std::string, std::string>& rule_labels,
                               const std::vector<RangeSeries>& result) {
  auto& family = families_[record];
  for (const RangeSeries& s : result) {
    auto labels = s.labels;
    labels.erase("__name__");
    for (const auto& [k, v] : rule_labels) labels[k] = v;
    auto& samples = family[labels];
    samples.insert(samples.end(), s.samples.begin(), s.samples.end());
    samples_ += s.samples.size();
  }
}

Result<void> RecordedSeriesWriter::Write(const std::string& path) const {
  std::ofstream out(path, std::ios::binary);
  if (!out) return MakeError(path + ": error: cannot write");
  for (const auto& [name, series] : families_) {
    out << "# TYPE " << name << " gauge\n";
    for (const auto& [labels, unsorted] : series) {
      auto samples = unsorted;
      std::sort(samples.begin(), samples.end());
      std::string head = name;
      if (!labels.empty()) {
        head += "{";
        bool first = true;
        for (const auto& [k, v] : labels) {
          head += (first ? "" : ",") + k + "=\"" + EscapeLabelValue(v) + "\"";
          first = false;
        }
        head += "}";
      }
      double previous = -INFINITY;
      for (const auto& [t, v] : samples) {
        if (t == previous) continue;  // one sample per timestamp
        previous = t;
        char ts[32];
        std::snprintf(ts, sizeof ts, "%.3f", t);
        out << head << " " << FormatValue(v) << " " << ts << "\n";
      }
    }
  }
  out << "# EOF\n";
  out.close();
  if (!out) return MakeError(path + ": error: write failed");
  return {};
}

}  // namespace modelwatch
