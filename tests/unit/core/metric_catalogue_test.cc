#include "core/metric_catalogue.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace modelwatch {
namespace {

TEST(MetricCatalogueTest, FindsFamiliesAndTheSeriesOfHistograms) {
  ASSERT_NE(FindMetric("model_predictions_total"), nullptr);
  EXPECT_EQ(FindMetric("model_predictions_total"), &metric::kModelPredictionsTotal);
  EXPECT_EQ(FindMetric("model_request_duration_seconds_bucket"),
            &metric::kModelRequestDurationSeconds);
  EXPECT_EQ(FindMetric("model_request_duration_seconds_count"),
            &metric::kModelRequestDurationSeconds);
  EXPECT_EQ(FindMetric("model_predictions_total_count"), nullptr);  // not a histogram
  // A summary by its _sum and _count (it has no buckets).
  EXPECT_EQ(FindMetric("model_prediction_confidence_sum"), &metric::kModelPredictionConfidence);
  EXPECT_EQ(FindMetric("model_prediction_entropy_count"), &metric::kModelPredictionEntropy);
  EXPECT_EQ(FindMetric("model_prediction_confidence_bucket"), nullptr);
  EXPECT_EQ(FindMetric("model_predictions"), nullptr);
  EXPECT_EQ(FindMetric(""), nullptr);
}

// Prometheus naming conventions (what `promtool check metrics` enforces on the exposition,
// checked once here for every family): snake case under the project's two prefixes, counters
// and only counters end in _total, a help text that is a sentence.
TEST(MetricCatalogueTest, EveryFamilyFollowsTheNamingConventions) {
  const std::regex snake("(model|modelwatch)_[a-z0-9]+(_[a-z0-9]+)*");
  ASSERT_GT(AllMetrics().size(), 70u);
  for (const MetricSpec* m : AllMetrics()) {
    const std::string name(m->name);
    EXPECT_TRUE(std::regex_match(name, snake)) << name;
    EXPECT_EQ(name.ends_with("_total"), m->kind == MetricKind::kCounter) << name;
    EXPECT_FALSE(m->help.empty()) << name;
    EXPECT_TRUE(m->help.ends_with(".") || m->help.ends_with(")")) << name << ": " << m->help;
    EXPECT_EQ(FindMetric(m->name), m) << name;
  }
}

// Label names: snake case, none twice, no `le` (a histogram's own), no `__` prefix
// (reserved), `model` first where a family has it, and every model_* family has it.
TEST(MetricCatalogueTest, LabelsAreValidNamesWithModelFirst) {
  const std::regex label("[a-z][a-z0-9_]*");
  for (const MetricSpec* m : AllMetrics()) {
    const std::string name(m->name);
    std::istringstream in{std::string(m->labels)};
    std::vector<std::string> labels;
    for (std::string l; in >> l;) labels.push_back(l);
    std::set<std::string> unique(labels.begin(), labels.end());
    EXPECT_EQ(unique.size(), labels.size()) << name << ": " << m->labels;
    for (const std::string& l : labels) {
      EXPECT_TRUE(std::regex_match(l, label)) << name << ": " << l;
      EXPECT_NE(l, "le") << name;
    }
    if (unique.count("model")) {
      EXPECT_EQ(labels.front(), "model") << name;
    }
    if (name.starts_with("model_")) {
      EXPECT_TRUE(unique.count("model")) << name;
    }
  }
}

}  // namespace
}  // namespace modelwatch
