#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "exporter/replay/openmetrics_writer.h"

namespace modelwatch {
namespace {

class OpenMetricsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/openmetrics_writer_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Written(const std::vector<prometheus::MetricFamily>& families) {
    OpenMetricsWriter writer(dir_);
    EXPECT_TRUE(writer.Add(families, 1795341600).has_value());
    EXPECT_TRUE(writer.Finish(dir_ + "/out.om").has_value());
    std::ifstream in(dir_ + "/out.om", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string dir_;
};

prometheus::MetricFamily Counter(std::string version) {
  prometheus::ClientMetric m;
  m.label = {{"model", "m"}, {"version", std::move(version)}};
  m.counter.value = 2;
  return {"model_predictions_total", "Predictions.", prometheus::MetricType::Counter, {m}};
}

// Found by openmetrics_fuzz: a logged version "v\u0000x" reached replay's output raw.
TEST_F(OpenMetricsWriterTest, NulBytesInLabelValuesAreWrittenAsReplacementCharacters) {
  const std::string text = Written({Counter(std::string("v\0x", 3))});
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_NE(text.find("model_predictions_total{model=\"m\",version=\"v\xEF\xBF\xBDx\"} 2 "
                      "1795341600\n"),
            std::string::npos)
      << text;
}

TEST_F(OpenMetricsWriterTest, LabelValuesAreEscaped) {
  const std::string text = Written({Counter("a\\b\"c\nd")});
  EXPECT_NE(text.find("version=\"a\\\\b\\\"c\\nd\"} 2 1795341600\n"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
}

}  // namespace
}  // namespace modelwatch
