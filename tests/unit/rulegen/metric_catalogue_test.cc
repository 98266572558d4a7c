// Every metric name rulegen writes into rules, dashboards, tests, runbooks and the
// Alertmanager configuration is a family of the catalogue (core/metric_catalogue.h), the one
// the exporter builds its families from: a family renamed in one program and not the other
// fails here. Reads examples/generated, which rulegen.golden keeps equal to what `generate`
// writes for examples/models.
#include "core/metric_catalogue.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace modelwatch {
namespace {

namespace fs = std::filesystem;

// Words in the generated prose that look like metric names and are config keys.
const std::set<std::string> kConfigKeys = {"model_down_after"};
// Quantities rulegen derives and names itself (the metric part of its recording rules), not
// served by the exporter.
const std::set<std::string> kDerived = {"model_features_drifting", "model_predictions_successful"};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(MetricCatalogueTest, EveryMetricRulegenWritesIsCatalogued) {
  const fs::path generated = fs::path(MODELWATCH_SOURCE_DIR) / "examples" / "generated";
  ASSERT_TRUE(fs::is_directory(generated)) << generated;
  // A name not glued to a recording rule's colons; recording rules (level:metric:operations)
  // are checked through their metric part.
  const std::regex name(R"((^|[^\w:])((model|modelwatch)_[a-z0-9_]+)(?![\w:]))");
  const std::regex record(R"(record:\s*([a-z_]+):([a-z0-9_]+):([a-z0-9_]+))");
  std::set<std::string> missing;
  std::size_t files = 0, uses = 0, records = 0;
  for (const auto& entry : fs::recursive_directory_iterator(generated)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string text = Slurp(entry.path());
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name);
         it != std::sregex_iterator(); ++it) {
      const std::string metric = (*it)[2];
      ++uses;
      if (FindMetric(metric) == nullptr && !kConfigKeys.count(metric)) {
        missing.insert(metric + " (" + entry.path().filename().string() + ")");
      }
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), record);
         it != std::sregex_iterator(); ++it) {
      const std::string metric = (*it)[2];
      ++records;
      if (FindMetric(metric) == nullptr && FindMetric(metric + "_total") == nullptr &&
          !kDerived.count(metric)) {
        missing.insert(metric + " (in recording rule " + (*it)[0].str() + ")");
      }
    }
  }
  EXPECT_GT(files, 20u);
  EXPECT_GT(uses, 500u);
  EXPECT_GT(records, 10u);
  std::string list;
  for (const auto& m : missing) list += "\n  " + m;
  EXPECT_TRUE(missing.empty()) << "not in core/metric_catalogue.h:" << list;
}

}  // namespace
}  // namespace modelwatch
