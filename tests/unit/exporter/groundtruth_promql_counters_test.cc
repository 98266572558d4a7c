// drift.engine: promql — the counters of joined predictions a replica serves for Prometheus to
// sum (binary: model_labelled_predictions_total by outcome; regression: the absolute and
// squared error summaries): counted once per joined prediction, whatever the order of
// predictions and labels, across restarts (kill -9 included), and the model_performance
// gauges Prometheus records from them left out of the replica's own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/metric_catalogue.h"
#include "core/promql_performance.h"
#include "exporter/groundtruth/ground_truth_tracker.h"
#include "tests/unit/exporter/groundtruth_test_util.h"

namespace modelwatch {
namespace {

using testing::BinaryModel;
using testing::LabelLine;
using testing::OwnedRecord;
using testing::Scored;
using testing::ScratchDir;

constexpr double kT0 = 1795939200;  // 2026-11-29T08:00:00Z

GroundTruthOptions Immediate() {
  GroundTruthOptions o;
  o.recompute_interval = std::chrono::seconds(0);
  return o;
}

std::unique_ptr<GroundTruthTracker> OpenTracker(const ModelConfig& m, const std::string& dir) {
  auto t = GroundTruthTracker::Open(m, dir, Immediate());
  EXPECT_TRUE(t) << (t ? "" : t.error().ToString());
  return t ? std::move(*t) : nullptr;
}

ModelConfig PromqlBinary() {
  ModelConfig m = BinaryModel({{"1h", Seconds(3600)}});
  m.drift.engine = DriftEngine::kPromql;
  return m;
}

ModelConfig PromqlRegression() {
  ModelConfig m = PromqlBinary();
  m.name = "eta";
  m.task = Task::kRegression;
  return m;
}

OwnedRecord Predicted(const std::string& id, double ts, double prediction,
                      const std::string& version = "v1") {
  OwnedRecord r;
  r.request_id = id;
  r.ts = ts;
  r.version = version;
  r.has_score = false;
  r.has_prediction = true;
  r.prediction = prediction;
  return r;
}

std::string ValueLabel(const std::string& id, double ts, double label) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", label);
  return "{\"ts\":" + std::to_string(ts) + ",\"request_id\":\"" + id + "\",\"label\":" + buf + "}";
}

std::vector<prometheus::MetricFamily> Scrape(const GroundTruthTracker& t) {
  std::vector<prometheus::MetricFamily> out;
  t.Collect(out);
  return out;
}

const prometheus::MetricFamily* Family(const std::vector<prometheus::MetricFamily>& families,
                                       const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The series of `name` with exactly `labels`; a missing one fails the test.
const prometheus::ClientMetric* Series(const std::vector<prometheus::MetricFamily>& families,
                                       const std::string& name,
                                       const std::map<std::string, std::string>& labels) {
  const prometheus::MetricFamily* f = Family(families, name);
  if (f != nullptr) {
    for (const auto& m : f->metric) {
      std::map<std::string, std::string> have;
      for (const auto& l : m.label) have[l.name] = l.value;
      if (have == labels) return &m;
    }
  }
  ADD_FAILURE() << "series not served: " << name;
  return nullptr;
}

double Counter(const std::vector<prometheus::MetricFamily>& families, const std::string& version,
               const std::string& outcome) {
  const auto* m = Series(families, "model_labelled_predictions_total",
                         {{"model", "fraud"}, {"version", version}, {"outcome", outcome}});
  return m ? m->counter.value : std::numeric_limits<double>::quiet_NaN();
}

// The model_performance metrics served for `version`.
std::set<std::string> PerformanceMetrics(const std::vector<prometheus::MetricFamily>& families,
                                         const std::string& version) {
  std::set<std::string> out;
  const prometheus::MetricFamily* f = Family(families, "model_performance");
  if (f == nullptr) return out;
  for (const auto& m : f->metric) {
    std::map<std::string, std::string> have;
    for (const auto& l : m.label) have[l.name] = l.value;
    if (have["version"] == version) out.insert(have["metric"]);
  }
  return out;
}

std::optional<double> SnapshotValue(const GroundTruthSnapshot& s, const std::string& version,
                                    const std::string& metric) {
  for (const PerformanceValue& v : s.performance) {
    if (v.version == version && v.segment.empty() && v.metric == metric) return v.value_number;
  }
  return std::nullopt;
}

TEST(GroundTruthPromqlCountersTest, BinaryOutcomesAtTheThresholdCountedOncePerJoin) {
  ScratchDir dir;
  auto t = OpenTracker(PromqlBinary(), dir.path());
  // v1: tp (0.9, 1), tp at the threshold (0.5, 1), fp (0.7, 0), fn (0.2, 1), tn (0.1, 0),
  // tn (0.49, 0); v2: fp (0.8, 0). r-wait's label arrives before its prediction (tp).
  t->ObserveLabelLine(LabelLine("r-wait", kT0 + 5, 1));
  const std::vector<std::tuple<std::string, double, int, std::string>> rows = {
      {"a", 0.9, 1, "v1"}, {"b", 0.5, 1, "v1"},  {"c", 0.7, 0, "v1"}, {"d", 0.2, 1, "v1"},
      {"e", 0.1, 0, "v1"}, {"f", 0.49, 0, "v1"}, {"g", 0.8, 0, "v2"}, {"r-wait", 0.95, 1, "v1"}};
  for (const auto& [id, score, label, version] : rows) {
    t->ObservePrediction(Scored(id, kT0, score, version).View());
  }
  for (const auto& [id, score, label, version] : rows) {
    if (id != "r-wait") t->ObserveLabelLine(LabelLine(id, kT0 + 10, label));
  }
  // A second copy of a label, a conflicting correction and a label of an unknown request
  // change nothing; neither does an unlabelled prediction.
  t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1));
  t->ObserveLabelLine(LabelLine("c", kT0 + 20, 1));
  t->ObserveLabelLine(LabelLine("nobody", kT0 + 10, 1));
  t->ObservePrediction(Scored("unlabelled", kT0, 0.9).View());
  ASSERT_TRUE(t->Flush());
  const auto families = Scrape(*t);
  EXPECT_EQ(Counter(families, "v1", "tp"), 3);
  EXPECT_EQ(Counter(families, "v1", "fp"), 1);
  EXPECT_EQ(Counter(families, "v1", "fn"), 1);
  EXPECT_EQ(Counter(families, "v1", "tn"), 2);
  EXPECT_EQ(Counter(families, "v2", "fp"), 1);
  EXPECT_EQ(Counter(families, "v2", "tp"), 0);  // every outcome of a version is served
  EXPECT_EQ(Counter(families, "v2", "tn"), 0);
  EXPECT_EQ(Counter(families, "v2", "fn"), 0);
  // The counters agree with the exporter's own computation over the same rows.
  const GroundTruthSnapshot snap = t->ComputeSnapshot();
  EXPECT_DOUBLE_EQ(*SnapshotValue(snap, "v1", "precision"), 3.0 / 4);
  EXPECT_DOUBLE_EQ(*SnapshotValue(snap, "v1", "recall"), 3.0 / 4);
  EXPECT_DOUBLE_EQ(*SnapshotValue(snap, "v1", "accuracy"), 5.0 / 7);
  // The replica leaves the summable metrics to Prometheus and serves the rest itself.
  EXPECT_EQ(PerformanceMetrics(families, "v1"), (std::set<std::string>{"auc", "log_loss", "ece"}));
  const auto* family = Family(families, "model_labelled_predictions_total");
  ASSERT_NE(family, nullptr);
  EXPECT_EQ(family->type, prometheus::MetricType::Counter);
  EXPECT_EQ(family->help, metric::kModelLabelledPredictionsTotal.help);
}

TEST(GroundTruthPromqlCountersTest, RegressionErrorSums) {
  ScratchDir dir;
  auto t = OpenTracker(PromqlRegression(), dir.path());
  // Errors (prediction - label): v1 +2, -3, +0.5; v2 -1.
  t->ObservePrediction(Predicted("a", kT0, 12).View());
  t->ObservePrediction(Predicted("b", kT0, 7).View());
  t->ObserveLabelLine(ValueLabel("c", kT0 + 1, 4.5));  // before its prediction
  t->ObservePrediction(Predicted("c", kT0, 5).View());
  t->ObservePrediction(Predicted("d", kT0, 1, "v2").View());
  t->ObserveLabelLine(ValueLabel("a", kT0 + 1, 10));
  t->ObserveLabelLine(ValueLabel("b", kT0 + 1, 10));
  t->ObserveLabelLine(ValueLabel("b", kT0 + 2, 99));  // a correction: the first label stands
  t->ObserveLabelLine(ValueLabel("d", kT0 + 1, 2));
  ASSERT_TRUE(t->Flush());
  const auto families = Scrape(*t);
  const auto* abs1 =
      Series(families, "model_prediction_absolute_error", {{"model", "eta"}, {"version", "v1"}});
  const auto* sq1 =
      Series(families, "model_prediction_squared_error", {{"model", "eta"}, {"version", "v1"}});
  const auto* abs2 =
      Series(families, "model_prediction_absolute_error", {{"model", "eta"}, {"version", "v2"}});
  ASSERT_TRUE(abs1 && sq1 && abs2);
  EXPECT_EQ(abs1->summary.sample_count, 3u);
  EXPECT_DOUBLE_EQ(abs1->summary.sample_sum, 5.5);
  EXPECT_EQ(sq1->summary.sample_count, 3u);
  EXPECT_DOUBLE_EQ(sq1->summary.sample_sum, 4 + 9 + 0.25);
  EXPECT_EQ(abs2->summary.sample_count, 1u);
  EXPECT_DOUBLE_EQ(abs2->summary.sample_sum, 1);
  const GroundTruthSnapshot snap = t->ComputeSnapshot();
  EXPECT_DOUBLE_EQ(*SnapshotValue(snap, "v1", "mae"), 5.5 / 3);
  EXPECT_DOUBLE_EQ(*SnapshotValue(snap, "v1", "rmse"), std::sqrt(13.25 / 3));
  EXPECT_EQ(PerformanceMetrics(families, "v1"), (std::set<std::string>{"mape", "bias"}));
  EXPECT_EQ(Family(families, "model_labelled_predictions_total"), nullptr);
  EXPECT_EQ(Family(families, "model_prediction_absolute_error")->type,
            prometheus::MetricType::Summary);
}

// The counters are stored with the joins in one commit: closed and reopened, the counts stay,
// and the lines read again after the checkpoint count nowhere.
TEST(GroundTruthPromqlCountersTest, RestartKeepsTheCountsAndRereadLinesAddNothing) {
  ScratchDir dir;
  const ModelConfig m = PromqlBinary();
  {
    auto t = OpenTracker(m, dir.path());
    t->ObservePrediction(Scored("a", kT0, 0.9).View());
    t->ObservePrediction(Scored("b", kT0, 0.9).View());
    t->ObserveLabelLine(LabelLine("a", kT0 + 1, 1));
    t->ObserveLabelLine(LabelLine("b", kT0 + 1, 0));
    ASSERT_TRUE(t->Flush());
  }
  auto t = OpenTracker(m, dir.path());
  t->ObservePrediction(Scored("a", kT0, 0.9).View());  // read again
  t->ObserveLabelLine(LabelLine("a", kT0 + 1, 1));
  t->ObserveLabelLine(LabelLine("b", kT0 + 1, 0));
  t->ObservePrediction(Scored("c", kT0, 0.1).View());
  t->ObserveLabelLine(LabelLine("c", kT0 + 1, 1));
  ASSERT_TRUE(t->Flush());
  const auto families = Scrape(*t);
  EXPECT_EQ(Counter(families, "v1", "tp"), 1);
  EXPECT_EQ(Counter(families, "v1", "fp"), 1);
  EXPECT_EQ(Counter(families, "v1", "fn"), 1);
  EXPECT_EQ(Counter(families, "v1", "tn"), 0);
}

// kill -9 after a flush, with joins after it: the reopened tracker has the counts of the
// flushed joins only, and reading the lines after the checkpoint again makes them exact.
TEST(GroundTruthPromqlCountersTest, ExactAfterKill9AndReplayFromTheCheckpoint) {
  ScratchDir dir;
  const ModelConfig m = PromqlBinary();
  auto first = [](GroundTruthTracker& t) {
    for (int i = 0; i < 300; ++i) {
      t.ObservePrediction(Scored("r" + std::to_string(i), kT0 + i, i % 3 == 0 ? 0.8 : 0.3).View());
    }
    for (int i = 0; i < 200; ++i) {
      t.ObserveLabelLine(LabelLine("r" + std::to_string(i), kT0 + 400, i % 2));
    }
  };
  auto after_checkpoint = [](GroundTruthTracker& t) {
    for (int i = 200; i < 300; ++i) {
      t.ObserveLabelLine(LabelLine("r" + std::to_string(i), kT0 + 400, i % 2));
    }
  };
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto t = GroundTruthTracker::Open(m, dir.path(), Immediate());
    if (!t) ::_exit(3);
    first(**t);
    (*t)->Flush();  // the exporter checkpoints positions after this
    after_checkpoint(**t);
    ::kill(::getpid(), SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  auto t = OpenTracker(m, dir.path());
  // What the flush committed: labels of r0..r199.
  double want[4] = {0, 0, 0, 0};  // tp fp tn fn
  auto count = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      const bool predicted = i % 3 == 0, positive = i % 2 == 1;
      want[positive ? (predicted ? 0 : 3) : (predicted ? 1 : 2)] += 1;
    }
  };
  count(0, 200);
  auto families = Scrape(*t);
  EXPECT_EQ(Counter(families, "v1", "tp"), want[0]);
  EXPECT_EQ(Counter(families, "v1", "fp"), want[1]);
  EXPECT_EQ(Counter(families, "v1", "tn"), want[2]);
  EXPECT_EQ(Counter(families, "v1", "fn"), want[3]);
  // The exporter reads the lines after its checkpoint again.
  after_checkpoint(*t);
  ASSERT_TRUE(t->Flush());
  count(200, 300);
  families = Scrape(*t);
  EXPECT_EQ(Counter(families, "v1", "tp"), want[0]);
  EXPECT_EQ(Counter(families, "v1", "fp"), want[1]);
  EXPECT_EQ(Counter(families, "v1", "tn"), want[2]);
  EXPECT_EQ(Counter(families, "v1", "fn"), want[3]);
  EXPECT_EQ(want[0] + want[1] + want[2] + want[3], 300);
}

// Sampling weighs a kept mid-range score 1 / sample_rate: the counts are weighted, as the
// exporter's own precision and recall are.
TEST(GroundTruthPromqlCountersTest, SampledPredictionsCountWithTheirWeight) {
  ScratchDir dir;
  ModelConfig m = PromqlBinary();
  m.ground_truth->sample_rate = 0.5;
  auto t = OpenTracker(m, dir.path());
  int kept_mid = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "s" + std::to_string(i);
    t->ObservePrediction(Scored(id, kT0, i % 2 == 0 ? 0.99 : 0.6).View());  // extreme / mid
    t->ObserveLabelLine(LabelLine(id, kT0 + 1, 1));
  }
  ASSERT_TRUE(t->Flush());
  kept_mid = static_cast<int>(t->stored()) - 100;
  ASSERT_GT(kept_mid, 0);
  ASSERT_LT(kept_mid, 100);
  EXPECT_EQ(Counter(Scrape(*t), "v1", "tp"), 100 + 2.0 * kept_mid);
}

// Without the promql engine, or with entity joins (a nearer label may move a prediction from
// one outcome to another, which a counter cannot take back), no counters: the exporter
// serves every metric itself.
TEST(GroundTruthPromqlCountersTest, NoCountersForTheExporterEngineOrEntityJoins) {
  for (int variant = 0; variant < 2; ++variant) {
    ScratchDir dir;
    ModelConfig m = PromqlBinary();
    if (variant == 0) m.drift.engine = DriftEngine::kExporter;
    if (variant == 1) m.ground_truth->join_on = JoinKey::kEntityId;
    EXPECT_TRUE(PromqlPerformanceMetrics(m).empty());
    auto t = OpenTracker(m, dir.path());
    for (const auto& [id, score, label] :
         std::vector<std::tuple<std::string, double, int>>{{"a", 0.9, 1}, {"b", 0.2, 0}}) {
      OwnedRecord r = Scored(id, kT0, score);
      r.entity_id = "e-" + id;
      t->ObservePrediction(r.View());
      if (variant == 1) {
        t->ObserveLabelLine("{\"ts\":" + std::to_string(kT0 + 1) + ",\"entity_id\":\"e-" + id +
                            "\",\"label\":" + std::to_string(label) + "}");
      } else {
        t->ObserveLabelLine(LabelLine(id, kT0 + 1, label));
      }
    }
    ASSERT_TRUE(t->Flush());
    const auto families = Scrape(*t);
    EXPECT_EQ(Family(families, "model_labelled_predictions_total"), nullptr) << variant;
    EXPECT_TRUE(t->joined().empty());
    EXPECT_EQ(
        PerformanceMetrics(families, "v1"),
        (std::set<std::string>{"auc", "precision", "recall", "f1", "log_loss", "ece", "accuracy"}))
        << variant;
  }
}

}  // namespace
}  // namespace modelwatch
