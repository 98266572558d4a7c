// libFuzzer target: replay's OpenMetrics writer. The input chooses, step after step, which of
// the exporter's metric families are written, their label values (any bytes, as logged
// versions and classes may be), sample values (NaN and infinities too) and non-decreasing
// timestamps. The file written must be OpenMetrics text that `promtool tsdb
// create-blocks-from openmetrics` reads: each family once (HELP, TYPE, then its samples),
// every sample line `name{labels} value timestamp` with its label values escaped (they read
// back as written; a NUL byte as U+FFFD, as on /metrics), each series in time order, no NUL
// byte anywhere, and `# EOF` last.
#include <fuzzer/FuzzedDataProvider.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/replay/openmetrics_writer.h"

namespace {

using prometheus::MetricType;
using Labels = std::vector<prometheus::ClientMetric::Label>;

struct Catalogued {
  const char* name;
  MetricType type;
};
// Families as the exporter names them (a counter's name ends in _total).
constexpr Catalogued kFamilies[] = {
    {"model_predictions_total", MetricType::Counter},
    {"model_prediction_score", MetricType::Histogram},
    {"model_feature_drift_psi", MetricType::Gauge},
    {"model_performance_auc", MetricType::Gauge},
    {"modelwatch_lines_rejected_total", MetricType::Counter},
};
constexpr const char* kLabelNames[] = {"model", "version", "class", "window", "reason"};
constexpr double kBounds[] = {0.1, 0.5, 1, std::numeric_limits<double>::infinity()};

[[noreturn]] void Fail(const std::string& why, const std::string& line) {
  std::fprintf(stderr, "openmetrics_fuzz: %s: \"%s\"\n", why.c_str(), line.c_str());
  std::abort();
}

double Number(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0:
      return std::numeric_limits<double>::quiet_NaN();
    case 1:
      return std::numeric_limits<double>::infinity();
    case 2:
      return -std::numeric_limits<double>::infinity();
    default:
      return in.ConsumeFloatingPoint<double>();
  }
}

// A NUL byte in a label value is written as U+FFFD.
std::string Expected(std::string value) {
  for (std::size_t pos; (pos = value.find('\0')) != std::string::npos;) {
    value.replace(pos, 1, "\xEF\xBF\xBD");
  }
  return value;
}

bool ParseNumber(const std::string& text, double& v) {
  if (text == "NaN" || text == "+Inf" || text == "-Inf") {
    v = text == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                      : (text[0] == '+' ? 1 : -1) * std::numeric_limits<double>::infinity();
    return true;
  }
  if (text.empty() || text.find_first_not_of("0123456789+-.e") != std::string::npos) return false;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Parses `{a="x",b="y"}` at `pos` (nothing when there is no brace) into unescaped labels.
bool ParseLabels(const std::string& line, std::size_t& pos, Labels& out) {
  if (pos >= line.size() || line[pos] != '{') return true;
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    if (!out.empty()) {
      if (line[pos] != ',') return false;
      ++pos;
    }
    const std::size_t eq = line.find('=', pos);
    if (eq == std::string::npos || eq == pos) return false;
    const std::string name = line.substr(pos, eq - pos);
    for (std::size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
            (i > 0 && std::isdigit(static_cast<unsigned char>(c))))) {
        return false;
      }
    }
    pos = eq + 1;
    if (pos >= line.size() || line[pos] != '"') return false;
    ++pos;
    std::string value;
    for (;;) {
      if (pos >= line.size()) return false;
      const char c = line[pos++];
      if (c == '"') break;
      if (c == '\\') {
        if (pos >= line.size()) return false;
        const char e = line[pos++];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return false;
        }
      } else {
        value += c;
      }
    }
    out.push_back({name, value});
  }
  if (pos >= line.size()) return false;
  ++pos;  // '}'
  return true;
}

struct Family {
  std::string name;  // as written: a counter's without _total
  MetricType type;
  std::set<Labels> series;  // label sets written, values as expected in the output
  std::uint64_t samples = 0;
};

void Check(const std::string& text, std::map<std::string, Family>& expected,
           std::uint64_t samples) {
  if (text.find('\0') != std::string::npos) Fail("NUL byte in the output", "");
  if (text.size() < 6 || text.compare(text.size() - 6, 6, "# EOF\n") != 0) {
    Fail("the output does not end with # EOF",
         text.substr(text.size() > 40 ? text.size() - 40 : 0));
  }
  std::istringstream lines(text.substr(0, text.size() - 6));
  std::string line;
  Family* family = nullptr;
  std::set<std::string> families_seen;
  std::map<std::string, double> last_ts;  // series -> its last timestamp
  std::uint64_t sample_lines = 0;
  std::string pending_help;  // the family a # HELP line opened, waiting for its # TYPE
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      pending_help = rest.substr(0, rest.find(' '));
      if (!families_seen.insert(pending_help).second) Fail("family written twice", line);
      for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '\\' &&
            (i + 1 == rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
          Fail("bad escape in HELP", line);
        if (rest[i] == '\\') ++i;
      }
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      if (name != pending_help) Fail("TYPE without its HELP", line);
      family = nullptr;
      for (auto& [key, f] : expected) {
        if (f.name == name) family = &f;
      }
      if (family == nullptr) Fail("a family that was never added", line);
      const char* types[] = {"counter", "gauge", "summary", "untyped", "histogram", "info"};
      const std::string type = rest.substr(name.size() + 1);
      if (type != types[static_cast<int>(family->type)]) Fail("wrong TYPE", line);
      continue;
    }
    if (line.empty() || line[0] == '#') Fail("unexpected line", line);
    if (family == nullptr) Fail("sample before any TYPE", line);
    // name{labels} value timestamp
    std::size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) Fail("no value", line);
    const std::string name = line.substr(0, pos);
    std::string suffix;
    if (name.rfind(family->name, 0) != 0) Fail("sample outside its family", line);
    suffix = name.substr(family->name.size());
    const bool suffix_ok = family->type == MetricType::Counter ? suffix == "_total"
                           : family->type == MetricType::Histogram
                               ? (suffix == "_bucket" || suffix == "_count" || suffix == "_sum")
                               : suffix.empty();
    if (!suffix_ok) Fail("wrong sample name", line);
    Labels labels;
    if (!ParseLabels(line, pos, labels)) Fail("label set does not parse", line);
    if (suffix == "_bucket") {
      if (labels.empty() || labels.back().name != "le") Fail("bucket without le", line);
      double le;
      if (!ParseNumber(labels.back().value, le) || std::isnan(le)) Fail("bad le", line);
      labels.pop_back();
    }
    if (!family->series.count(labels)) Fail("label values do not read back as written", line);
    if (pos >= line.size() || line[pos] != ' ') Fail("no space before the value", line);
    const std::size_t space = line.find(' ', pos + 1);
    if (space == std::string::npos) Fail("no timestamp", line);
    double value, ts;
    if (!ParseNumber(line.substr(pos + 1, space - pos - 1), value)) Fail("bad value", line);
    if (!ParseNumber(line.substr(space + 1), ts) || !std::isfinite(ts)) Fail("bad timestamp", line);
    const std::string series = line.substr(0, pos);
    auto [it, first] = last_ts.try_emplace(series, ts);
    if (!first && ts < it->second) Fail("a series goes back in time", line);
    it->second = ts;
    ++sample_lines;
    ++family->samples;
  }
  if (sample_lines != samples) Fail("sample lines differ from samples()", std::to_string(samples));
  for (const auto& [key, f] : expected) {
    if (!f.series.empty() && !families_seen.count(f.name)) Fail("a family is missing", f.name);
  }
}

struct SpoolDir {
  std::string path;
  SpoolDir() {
    // On a tmpfs where there is one: Finish() fsyncs the file it writes.
    const bool shm = std::filesystem::is_directory("/dev/shm");
    std::string tmpl =
        std::string(shm ? "/dev/shm" : "/tmp") + "/modelwatch-openmetrics-fuzz.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path = tmpl;
  }
  ~SpoolDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SpoolDir spool;  // one per input, removed after it: libFuzzer's exit runs no destructors
  FuzzedDataProvider in(data, size);
  std::map<std::string, Family> expected;
  std::uint64_t samples = 0;
  {
    modelwatch::OpenMetricsWriter writer(spool.path);
    double ts = in.ConsumeFloatingPointInRange<double>(0, 4e9);
    const int steps = in.ConsumeIntegralInRange(1, 4);
    for (int step = 0; step < steps; ++step) {
      ts += in.ConsumeIntegralInRange<std::uint32_t>(0, 86400);
      std::vector<prometheus::MetricFamily> families;
      const int n = in.ConsumeIntegralInRange(0, 4);
      for (int i = 0; i < n; ++i) {
        const Catalogued& c = kFamilies[in.ConsumeIntegralInRange<std::size_t>(0, 4)];
        // HELP texts are the exporter's own: any bytes but NUL.
        std::string help = in.ConsumeRandomLengthString(40);
        help.erase(std::remove(help.begin(), help.end(), '\0'), help.end());
        prometheus::MetricFamily f{c.name, std::move(help), c.type, {}};
        Family& e = expected[c.name];
        e.type = c.type;
        e.name = c.name;
        if (c.type == MetricType::Counter) e.name.resize(e.name.size() - 6);
        const int metrics = in.ConsumeIntegralInRange(0, 3);
        for (int m = 0; m < metrics; ++m) {
          prometheus::ClientMetric metric;
          const int labels = in.ConsumeIntegralInRange(0, 3);
          Labels written;
          for (int l = 0; l < labels; ++l) {
            std::string value = in.ConsumeRandomLengthString(24);
            written.push_back({kLabelNames[l], Expected(value)});
            metric.label.push_back({kLabelNames[l], std::move(value)});
          }
          metric.counter.value = metric.gauge.value = Number(in);
          if (c.type == MetricType::Histogram) {
            const int buckets = in.ConsumeIntegralInRange(0, 4);
            std::uint64_t cumulative = 0;
            for (int b = 0; b < buckets; ++b) {
              cumulative += in.ConsumeIntegral<std::uint32_t>();
              metric.histogram.bucket.push_back({cumulative, kBounds[b]});
            }
            metric.histogram.sample_count = cumulative + in.ConsumeIntegral<std::uint32_t>();
            metric.histogram.sample_sum = Number(in);
          }
          e.series.insert(written);
          f.metric.push_back(std::move(metric));
        }
        families.push_back(std::move(f));
      }
      if (auto ok = writer.Add(families, ts); !ok) Fail("Add failed", ok.error().message);
    }
    if (auto ok = writer.Finish(spool.path + "/out.om"); !ok) {
      Fail("Finish failed", ok.error().message);
    }
    samples = writer.samples();
  }
  std::ifstream file(spool.path + "/out.om", std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  Check(text.str(), expected, samples);
  return 0;
}
