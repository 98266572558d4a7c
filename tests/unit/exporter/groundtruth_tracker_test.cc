#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

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
constexpr double kDay = 86400;

GroundTruthOptions Immediate() {
  GroundTruthOptions o;
  o.recompute_interval = std::chrono::seconds(0);
  return o;
}

std::unique_ptr<GroundTruthTracker> OpenTracker(const ModelConfig& m, const std::string& dir,
                                                GroundTruthOptions o = Immediate()) {
  auto t = GroundTruthTracker::Open(m, dir, o);
  EXPECT_TRUE(t) << (t ? "" : t.error().ToString());
  return t ? std::move(*t) : nullptr;
}

// The value of the series `name` whose labels include every pair in `labels`.
std::optional<double> Find(const std::vector<prometheus::MetricFamily>& families,
                           const std::string& name,
                           const std::map<std::string, std::string>& labels) {
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      std::size_t hits = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++hits;
      }
      if (hits == labels.size()) {
        return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
  }
  return std::nullopt;
}

// As Find(), for a series the test needs: a missing one fails the test and reads NaN.
double Value(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  const std::optional<double> v = Find(families, name, labels);
  if (!v) ADD_FAILURE() << "series not served: " << name;
  return v.value_or(std::numeric_limits<double>::quiet_NaN());
}

std::vector<prometheus::MetricFamily> Scrape(const GroundTruthTracker& t) {
  std::vector<prometheus::MetricFamily> out;
  t.Collect(out);
  return out;
}

void Observe(GroundTruthTracker& t, const OwnedRecord& r) { t.ObservePrediction(r.View()); }

TEST(GroundTruthTrackerTest, JoinsByRequestIdAndComputesPerformance) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel(), dir.path());
  Observe(*t, Scored("a", kT0, 0.9));
  Observe(*t, Scored("b", kT0 + 1, 0.2));
  Observe(*t, Scored("c", kT0 + 2, 0.7));
  Observe(*t, Scored("d", kT0 + 3, 0.4));
  t->ObserveLabelLine(LabelLine("a", kT0 + 100, 1));
  t->ObserveLabelLine(LabelLine("b", kT0 + 100, 0));
  t->ObserveLabelLine(LabelLine("c", kT0 + 100, 0));
  auto f = Scrape(*t);
  // Labelled: (0.9,1) (0.2,0) (0.7,0): AUC 1; precision 1/2; recall 1.
  EXPECT_EQ(Find(f, "model_performance", {{"version", "v1"}, {"metric", "auc"}, {"window", "30d"}}),
            1.0);
  EXPECT_EQ(Find(f, "model_performance", {{"metric", "precision"}}), 0.5);
  EXPECT_EQ(Find(f, "model_performance", {{"metric", "recall"}}), 1.0);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"version", "v1"}}), 3.0);
  EXPECT_EQ(Find(f, "model_label_match_ratio", {{"model", "fraud"}, {"window", "30d"}}), 0.75);
  EXPECT_EQ(Find(f, "model_labels_matched_total", {}), 3.0);
  EXPECT_EQ(Find(f, "model_labels_unmatched_total", {}), 0.0);
}

TEST(GroundTruthTrackerTest, LabelsThatNeverArriveLeaveRatioAtZeroAndNoPerformance) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel(), dir.path());
  for (int i = 0; i < 20; ++i) Observe(*t, Scored("r" + std::to_string(i), kT0 + i * 60, 0.3));
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_label_match_ratio", {{"window", "30d"}}), 0.0);
  EXPECT_FALSE(Find(f, "model_performance", {{"metric", "auc"}}));
  EXPECT_FALSE(Find(f, "model_performance", {{"metric", "precision"}}));
}

TEST(GroundTruthTrackerTest, MatchRatioOnlyCountsPredictionsOlderThanDelay) {
  ScratchDir dir;
  ModelConfig m = BinaryModel();
  m.ground_truth->delay = Seconds(static_cast<long>(kDay));
  auto t = OpenTracker(m, dir.path());
  // Two old predictions (one labelled), then ten recent unlabelled ones within the delay.
  Observe(*t, Scored("old1", kT0, 0.8));
  Observe(*t, Scored("old2", kT0 + 60, 0.8));
  for (int i = 0; i < 10; ++i) {
    Observe(*t, Scored("new" + std::to_string(i), kT0 + 2 * kDay + i * 60, 0.8));
  }
  t->ObserveLabelLine(LabelLine("old1", kT0 + 2 * kDay, 1));
  EXPECT_EQ(Find(Scrape(*t), "model_label_match_ratio", {{"window", "30d"}}), 0.5);
  // A window shorter than the delay has no eligible predictions: no ratio.
  ModelConfig short_window = BinaryModel({{"1h", Seconds(3600)}});
  short_window.name = "short";
  short_window.ground_truth->delay = Seconds(static_cast<long>(kDay));
  auto s = OpenTracker(short_window, dir.path());
  Observe(*s, Scored("x", kT0, 0.8));
  EXPECT_FALSE(Find(Scrape(*s), "model_label_match_ratio", {}));
}

TEST(GroundTruthTrackerTest, MatchRatioBoundariesAreExactWithinAMinute) {
  ScratchDir dir;
  ModelConfig m = BinaryModel({{"1h", Seconds(3600)}, {"5m", Seconds(300)}});
  m.ground_truth->delay = Seconds(20);
  auto t = OpenTracker(m, dir.path());
  // One prediction every 5 s for 10 minutes; all labelled except the last 30 s of traffic.
  const int n = 120;
  for (int i = 0; i < n; ++i) Observe(*t, Scored("r" + std::to_string(i), kT0 + 7 + 5 * i, 0.8));
  for (int i = 0; i < n - 6; ++i) {
    t->ObserveLabelLine(LabelLine("r" + std::to_string(i), kT0 + 7 + 5 * i + 1, 1));
  }
  // newest = kT0 + 602; eligible: ts <= kT0 + 582, i.e. i <= 115 (116 predictions), of which
  // 114 are labelled. A minute-resolution count would take the whole last minute.
  const auto families = Scrape(*t);
  EXPECT_DOUBLE_EQ(Value(families, "model_label_match_ratio", {{"window", "1h"}}), 114.0 / 116.0);
  // 5m: from kT0 + 302, i >= 59: 57 eligible, 55 labelled.
  EXPECT_DOUBLE_EQ(Value(families, "model_label_match_ratio", {{"window", "5m"}}), 55.0 / 57.0);
}

TEST(GroundTruthTrackerTest, LabelsForUnknownRequestsCountAsUnmatched) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel(), dir.path());
  Observe(*t, Scored("a", kT0 + kDay, 0.9));
  // Older than the newest prediction by more than the grace: given up on at once.
  t->ObserveLabelLine(LabelLine("ghost", kT0, 1));
  EXPECT_EQ(t->unmatched(), 1u);
  // Recent: waits for its prediction, then is given up on once predictions move on.
  t->ObserveLabelLine(LabelLine("ghost2", kT0 + kDay, 1));
  EXPECT_EQ(t->unmatched(), 1u);
  Observe(*t, Scored("b", kT0 + 2 * kDay, 0.9));
  ASSERT_TRUE(t->Flush());
  EXPECT_EQ(t->unmatched(), 2u);
  EXPECT_EQ(Find(Scrape(*t), "model_labels_unmatched_total", {{"model", "fraud"}}), 2.0);
  // Re-reading the same line (e.g. after a restart) does not count it again.
  t->ObserveLabelLine(LabelLine("ghost", kT0, 1));
  EXPECT_EQ(t->unmatched(), 2u);
}

TEST(GroundTruthTrackerTest, TheSameLabelLineWrittenTwiceIsADuplicateButARereadIsNot) {
  ScratchDir dir;
  using Source = GroundTruthTracker::LineSource;
  const Source first{7, 42, 100}, second{7, 42, 200}, waiting{7, 42, 300}, again{7, 42, 400};
  {
    auto t = OpenTracker(BinaryModel(), dir.path());
    Observe(*t, Scored("a", kT0, 0.9));
    t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1), &first);
    t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1), &second);   // the same line, written twice
    t->ObserveLabelLine(LabelLine("b", kT0 + 10, 1), &waiting);  // no prediction yet
    t->ObserveLabelLine(LabelLine("b", kT0 + 10, 1), &again);    // ... and written twice too
    EXPECT_EQ(t->labels(), 4u);
    EXPECT_EQ(t->matched(), 1u);
    EXPECT_EQ(t->duplicates(), 2u);
  }
  // A restart re-reads the lines after the last checkpoint: the store already counted them.
  auto t = OpenTracker(BinaryModel(), dir.path());
  for (const Source* s : {&first, &second, &waiting, &again}) {
    t->ObserveLabelLine(LabelLine(s == &waiting || s == &again ? "b" : "a", kT0 + 10, 1), s);
  }
  EXPECT_EQ(t->labels(), 4u);
  EXPECT_EQ(t->duplicates(), 2u);
  // A third copy further on in the file is new, and so is one in another file.
  const Source third{7, 42, 500}, other_file{7, 43, 100};
  t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1), &third);
  t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1), &other_file);
  EXPECT_EQ(t->labels(), 6u);
  EXPECT_EQ(t->duplicates(), 4u);
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_labels_duplicate_total", {}), 4.0);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"version", "v1"}}), 1.0);
}

TEST(GroundTruthTrackerTest, AnInvalidLabelLineReadAgainAfterARestartCountsOnce) {
  ScratchDir dir;
  const GroundTruthTracker::LineSource bad{3, 9, 10}, label{3, 9, 80};
  {
    auto t = OpenTracker(BinaryModel(), dir.path());
    Observe(*t, Scored("a", kT0, 0.9));
    t->ObserveLabelLine("not json", &bad);
    t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1), &label);
    EXPECT_EQ(t->rejected(LabelReject::kInvalidJson), 1u);
  }
  auto t = OpenTracker(BinaryModel(), dir.path());
  t->ObserveLabelLine("not json", &bad);  // read again from an older checkpoint
  t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1), &label);
  EXPECT_EQ(t->rejected(LabelReject::kInvalidJson), 1u);
  EXPECT_EQ(t->labels(), 1u);
  EXPECT_EQ(t->duplicates(), 0u);
}

TEST(GroundTruthTrackerTest, EntityLabelWrittenTwiceIsADuplicate) {
  ScratchDir dir;
  ModelConfig m = BinaryModel();
  m.ground_truth->join_on = JoinKey::kEntityId;
  m.ground_truth->join_tolerance = Seconds(3600);
  auto t = OpenTracker(m, dir.path());
  OwnedRecord r = Scored("", kT0, 0.9);
  r.entity_id = "e1";
  Observe(*t, r);
  const std::string line = R"({"ts": )" + std::to_string(static_cast<long long>(kT0 + 10)) +
                           R"(, "entity_id": "e1", "label": 1})";
  const GroundTruthTracker::LineSource first{1, 1, 50}, second{1, 1, 100};
  t->ObserveLabelLine(line, &first);
  t->ObserveLabelLine(line, &second);
  t->ObserveLabelLine(line, &second);  // read again: not counted
  EXPECT_EQ(t->labels(), 2u);
  EXPECT_EQ(t->matched(), 1u);
  EXPECT_EQ(t->duplicates(), 1u);
}

TEST(GroundTruthTrackerTest, DuplicateLabelsCountOnce) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel(), dir.path());
  Observe(*t, Scored("a", kT0, 0.9));
  Observe(*t, Scored("b", kT0 + 1, 0.1));
  t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1));
  t->ObserveLabelLine(LabelLine("a", kT0 + 20, 0));  // a later, conflicting duplicate
  t->ObserveLabelLine(LabelLine("a", kT0 + 10, 1));  // the first line again: not counted
  EXPECT_EQ(t->labels(), 2u);
  EXPECT_EQ(t->matched(), 1u);
  EXPECT_EQ(t->duplicates(), 1u);
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_label_match_ratio", {}), 0.5);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"version", "v1"}}), 1.0);
  // The first label stands: a positive predicted at 0.9 is a true positive.
  EXPECT_EQ(Find(f, "model_performance", {{"metric", "recall"}}), 1.0);
}

TEST(GroundTruthTrackerTest, LabelsBeforePredictionsWaitAndJoin) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel(), dir.path());
  t->ObserveLabelLine(LabelLine("a", kT0 + 50, 1));
  t->ObserveLabelLine(LabelLine("b", kT0 + 50, 0));
  EXPECT_EQ(t->matched(), 0u);
  Observe(*t, Scored("a", kT0, 0.8));
  Observe(*t, Scored("b", kT0 + 1, 0.3));
  EXPECT_EQ(t->matched(), 2u);
  ASSERT_TRUE(t->Flush());
  EXPECT_EQ(t->unmatched(), 0u);
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_performance", {{"metric", "auc"}}), 1.0);
  EXPECT_EQ(Find(f, "model_label_match_ratio", {}), 1.0);
}

TEST(GroundTruthTrackerTest, EarlyLabelJoinsEveryVersionOfTheRequest) {
  ScratchDir dir;
  ModelConfig m = BinaryModel();
  auto t = OpenTracker(m, dir.path());
  t->ObserveLabelLine(LabelLine("a", kT0 + 50, 1));
  Observe(*t, Scored("a", kT0, 0.8, "v3"));
  Observe(*t, Scored("a", kT0, 0.4, "v4"));
  EXPECT_EQ(t->matched(), 1u);  // one label, joined to both versions
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"version", "v3"}}), 1.0);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"version", "v4"}}), 1.0);
  EXPECT_EQ(Find(f, "model_performance", {{"version", "v4"}, {"metric", "recall"}}), 0.0);
}

TEST(GroundTruthTrackerTest, RestartInTheMiddleOfAJoin) {
  ScratchDir dir;
  {
    auto t = OpenTracker(BinaryModel(), dir.path());
    Observe(*t, Scored("a", kT0, 0.9));
    Observe(*t, Scored("b", kT0 + 1, 0.2));
    t->ObserveLabelLine(LabelLine("a", kT0 + 100, 1));
    t->ObserveLabelLine(LabelLine("early", kT0 + 100, 0));  // its prediction comes later
    ASSERT_TRUE(t->Flush());
  }
  const std::string key_before = [&] {
    std::ifstream in(dir.path() + "/groundtruth.key", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto t = OpenTracker(BinaryModel(), dir.path());
  // The exporter re-reads lines after its last checkpoint: nothing is stored twice.
  Observe(*t, Scored("b", kT0 + 1, 0.2));
  t->ObserveLabelLine(LabelLine("a", kT0 + 100, 1));
  EXPECT_EQ(t->StoredRows(), 2);
  t->ObserveLabelLine(LabelLine("b", kT0 + 200, 0));
  Observe(*t, Scored("early", kT0 + 2, 0.1));
  // Counters are kept across the restart and re-read lines do not count again: a (before),
  // b, and early (waiting across the restart).
  EXPECT_EQ(t->labels(), 3u);
  EXPECT_EQ(t->matched(), 3u);
  EXPECT_EQ(t->duplicates(), 0u);
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"version", "v1"}}), 3.0);
  EXPECT_EQ(Find(f, "model_performance", {{"metric", "auc"}}), 1.0);
  EXPECT_EQ(Find(f, "model_label_match_ratio", {}), 1.0);
  std::ifstream in(dir.path() + "/groundtruth.key", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), key_before);
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/groundtruth.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 16);
}

TEST(GroundTruthTrackerTest, NoIdentifierIsStoredInClear) {
  ScratchDir dir;
  {
    auto t = OpenTracker(BinaryModel(), dir.path());
    OwnedRecord r = Scored("request-secret-123", kT0, 0.9);
    r.entity_id = "customer-secret-456";
    Observe(*t, r);
    t->ObserveLabelLine(LabelLine("pending-secret-789", kT0 + 10, 1));
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(bytes.find("secret"), std::string::npos) << entry.path();
  }
}

TEST(GroundTruthTrackerTest, SurvivesKill9AfterFlush) {
  ScratchDir dir;
  const ModelConfig m = BinaryModel();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto t = GroundTruthTracker::Open(m, dir.path(), Immediate());
    if (!t) ::_exit(3);
    for (int i = 0; i < 500; ++i) {
      (*t)->ObservePrediction(Scored("r" + std::to_string(i), kT0 + i, 0.7).View());
    }
    (*t)->ObserveLabelLine(LabelLine("r1", kT0 + 900, 1));
    (*t)->Flush();  // the exporter checkpoints positions after this
    for (int i = 500; i < 800; ++i) {
      (*t)->ObservePrediction(Scored("r" + std::to_string(i), kT0 + i, 0.7).View());
    }
    ::kill(::getpid(), SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  auto t = OpenTracker(m, dir.path());
  EXPECT_GE(t->StoredRows(), 500);
  // Replay from the checkpoint: everything after it again.
  for (int i = 500; i < 800; ++i) Observe(*t, Scored("r" + std::to_string(i), kT0 + i, 0.7));
  EXPECT_EQ(t->StoredRows(), 800);
  t->ObserveLabelLine(LabelLine("r1", kT0 + 900, 1));
  // The label joined before the kill is kept, and the counters match the store exactly:
  // nothing lost, nothing counted twice.
  EXPECT_EQ(t->labels(), 1u);
  EXPECT_EQ(t->matched(), 1u);
  EXPECT_EQ(t->duplicates(), 0u);
  EXPECT_EQ(t->stored(), 800u);
  EXPECT_EQ(t->observed(), 800u);
  EXPECT_EQ(Find(Scrape(*t), "model_performance_samples", {}), 1.0);
}

TEST(GroundTruthTrackerTest, RetentionDropsUnlabelledAfterDelayPlusBuffer) {
  ScratchDir dir;
  ModelConfig m = BinaryModel({{"7d", Seconds(7 * 86400)}});
  m.ground_truth->delay = Seconds(86400);
  m.ground_truth->retention_buffer = Seconds(86400);
  auto t = OpenTracker(m, dir.path());
  Observe(*t, Scored("old-unlabelled", kT0, 0.9));
  Observe(*t, Scored("old-labelled", kT0, 0.9));
  t->ObserveLabelLine(LabelLine("old-labelled", kT0 + 10, 1));
  Observe(*t, Scored("mid", kT0 + 1.5 * kDay, 0.9));
  ASSERT_TRUE(t->Flush());
  EXPECT_EQ(t->StoredRows(), 3);
  // 3 days later: the unlabelled prediction is past delay + buffer (2 days); the labelled one
  // is kept for the 7d window.
  Observe(*t, Scored("now", kT0 + 3 * kDay, 0.9));
  ASSERT_TRUE(t->Flush());
  EXPECT_EQ(t->StoredRows(), 3);
  // A label for the dropped prediction no longer joins.
  t->ObserveLabelLine(LabelLine("old-unlabelled", kT0 + 3 * kDay, 1));
  ASSERT_TRUE(t->Flush());
  Observe(*t, Scored("later", kT0 + 3 * kDay + 7200, 0.9));
  ASSERT_TRUE(t->Flush());
  EXPECT_EQ(t->unmatched(), 1u);
  // Past the window, the labelled prediction goes too.
  Observe(*t, Scored("much-later", kT0 + 8 * kDay, 0.9));
  ASSERT_TRUE(t->Flush());
  EXPECT_FALSE(Find(Scrape(*t), "model_performance_samples", {}));
}

// Labels for requests this model never predicts (another model's, on a shared label file)
// wait, are given up on and purged: the in-memory filter of keys with waiting labels must
// not keep them all.
TEST(GroundTruthTrackerTest, TheWaitingLabelFilterStaysBoundedByWhatTheStoreKeeps) {
  ScratchDir dir;
  ModelConfig m = BinaryModel({{"1h", Seconds(3600)}});
  m.ground_truth->delay = Seconds(60);
  m.ground_truth->retention_buffer = Seconds(600);
  auto t = OpenTracker(m, dir.path());
  for (int i = 0; i < 20000; ++i) {
    t->ObserveLabelLine(LabelLine("other-" + std::to_string(i), kT0 + i, 1));
    Observe(*t, Scored("r" + std::to_string(i), kT0 + i, 0.9));
    if (i % 60 == 59) {
      ASSERT_TRUE(t->Flush());
    }
  }
  // The store keeps the labels of the last hour (the longest window): about 3,600.
  EXPECT_LT(t->pending_key_filter_size(), 2 * 3700 + 1024u);
  EXPECT_GT(t->pending_key_filter_size(), 3000u);  // the live ones stay in
  // A label waiting through a rebuild still joins its late prediction.
  t->ObserveLabelLine(LabelLine("late", kT0 + 20000, 0));
  for (int i = 20001; i < 20300; ++i) {
    t->ObserveLabelLine(LabelLine("other-" + std::to_string(i), kT0 + i, 1));
    Observe(*t, Scored("r" + std::to_string(i), kT0 + i, 0.9));
    ASSERT_TRUE(t->Flush());
  }
  const std::uint64_t before = t->matched();
  Observe(*t, Scored("late", kT0 + 20300, 0.2));
  EXPECT_EQ(t->matched(), before + 1);
}

TEST(GroundTruthTrackerTest, WindowsEndAtNewestEventTime) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel({{"1h", Seconds(3600)}, {"1d", Seconds(86400)}}), dir.path());
  Observe(*t, Scored("a", kT0, 0.9));
  Observe(*t, Scored("b", kT0 + 7200, 0.2));
  Observe(*t, Scored("c", kT0 + 7300, 0.8));
  for (const char* id : {"a", "b", "c"}) t->ObserveLabelLine(LabelLine(id, kT0 + 8000, 1));
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"window", "1h"}}), 2.0);
  EXPECT_EQ(Find(f, "model_performance_samples", {{"window", "1d"}}), 3.0);
  EXPECT_EQ(Find(f, "model_performance", {{"window", "1h"}, {"metric", "recall"}}), 0.5);
}

TEST(GroundTruthTrackerTest, SegmentsAndEntityJoinNearestInTime) {
  ScratchDir dir;
  ModelConfig m = BinaryModel();
  m.ground_truth->join_on = JoinKey::kEntityId;
  m.ground_truth->join_tolerance = Seconds(3600);
  m.ground_truth->segments = {"region"};
  auto t = OpenTracker(m, dir.path());
  auto rec = [](const std::string& entity, double ts, double score, const std::string& region) {
    OwnedRecord r = Scored("", ts, score);
    r.entity_id = entity;
    r.segment = {{"region", region}, {"device", "ios"}};
    return r;
  };
  Observe(*t, rec("cust-1", kT0, 0.9, "eu"));
  Observe(*t, rec("cust-1", kT0 + 1800, 0.2, "eu"));
  Observe(*t, rec("cust-2", kT0, 0.8, "us"));
  auto label = [](const std::string& entity, double ts, int y) {
    return "{\"ts\":" + std::to_string(ts) + ",\"entity_id\":\"" + entity +
           "\",\"label\":" + std::to_string(y) + "}";
  };
  // Both cust-1 predictions are within the tolerance: each takes this label.
  t->ObserveLabelLine(label("cust-1", kT0 + 1700, 0));
  t->ObserveLabelLine(label("cust-2", kT0 + 5000, 1));  // outside the tolerance: waits
  // Nearer to neither prediction than the first label (distances 1900 > 1700, 100 = 100 but
  // later): a duplicate.
  t->ObserveLabelLine(label("cust-1", kT0 + 1900, 1));
  EXPECT_EQ(t->matched(), 1u);
  EXPECT_EQ(t->duplicates(), 1u);
  auto f = Scrape(*t);
  // eu: scores 0.9 and 0.2, both labelled 0: one false positive, precision 0.
  EXPECT_EQ(Find(f, "model_segment_performance",
                 {{"segment", "region"}, {"value", "eu"}, {"metric", "precision"}}),
            0.0);
  EXPECT_EQ(Find(f, "model_performance_samples", {}), 2.0);
  EXPECT_FALSE(Find(f, "model_segment_performance", {{"value", "us"}}));
  EXPECT_FALSE(Find(f, "model_segment_performance", {{"segment", "device"}}));
  // A later prediction close to the waiting label joins it.
  Observe(*t, rec("cust-2", kT0 + 4000, 0.7, "us"));
  EXPECT_EQ(t->matched(), 2u);
  EXPECT_EQ(Find(Scrape(*t), "model_segment_performance",
                 {{"segment", "region"}, {"value", "us"}, {"metric", "recall"}}),
            1.0);
}

// Entity joins: every prediction takes the label nearest in time to it, whatever the order in
// which predictions and labels arrive.
TEST(GroundTruthTrackerTest, EntityJoinTakesNearestLabelInAnyOrder) {
  ModelConfig m = BinaryModel();
  m.ground_truth->join_on = JoinKey::kEntityId;
  m.ground_truth->join_tolerance = Seconds(3 * 86400);
  auto pred = [](double ts, double score) {
    OwnedRecord r = Scored("", ts, score);
    r.entity_id = "acct-7";
    return r;
  };
  auto label = [](double ts, int y) {
    return "{\"ts\":" + std::to_string(ts) +
           ",\"entity_id\":\"acct-7\",\"label\":" + std::to_string(y) + "}";
  };
  // Predictions on days 0, 1, 2, 4; labels on day 0.5 (y=1) and day 4.2 (y=0).
  // Nearest label: days 0, 1 -> 0.5 (y=1); day 2 -> 0.5 (distance 1.5 < 2.2); day 4 -> 4.2.
  const double days[] = {0, 1, 2, 4};
  const double scores[] = {0.9, 0.8, 0.3, 0.1};
  for (int order = 0; order < 3; ++order) {
    ScratchDir dir;
    auto t = OpenTracker(m, dir.path());
    auto predictions = [&] {
      for (int i = 0; i < 4; ++i) Observe(*t, pred(kT0 + days[i] * kDay, scores[i]));
    };
    auto labels = [&](bool reversed) {
      if (reversed) {
        t->ObserveLabelLine(label(kT0 + 4.2 * kDay, 0));
        t->ObserveLabelLine(label(kT0 + 0.5 * kDay, 1));
      } else {
        t->ObserveLabelLine(label(kT0 + 0.5 * kDay, 1));
        t->ObserveLabelLine(label(kT0 + 4.2 * kDay, 0));
      }
    };
    if (order == 0) {
      predictions();
      labels(false);
    } else if (order == 1) {
      predictions();
      labels(true);
    } else {
      labels(false);  // labels first: they wait, then each prediction takes the nearest
      EXPECT_EQ(t->WaitingLabels(), 2);
      predictions();
    }
    SCOPED_TRACE("order " + std::to_string(order));
    EXPECT_EQ(t->matched(), 2u);
    EXPECT_EQ(t->unmatched(), 0u);
    EXPECT_EQ(t->WaitingLabels(), 0);
    auto f = Scrape(*t);
    EXPECT_EQ(Find(f, "model_performance_samples", {}), 4.0);
    EXPECT_EQ(Find(f, "model_label_match_ratio", {}), 1.0);
    // Labels 1, 1, 1, 0 for scores 0.9, 0.8, 0.3, 0.1: at 0.5, precision 1 and recall 2/3.
    EXPECT_DOUBLE_EQ(Value(f, "model_performance", {{"metric", "recall"}}), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(Value(f, "model_performance", {{"metric", "precision"}}), 1.0);
    EXPECT_DOUBLE_EQ(Value(f, "model_performance", {{"metric", "auc"}}), 1.0);
  }
}

TEST(GroundTruthTrackerTest, SamplingKeepsExtremesAndWeightsTheRest) {
  ScratchDir dir;
  ModelConfig m = BinaryModel();
  m.ground_truth->sample_rate = 0.25;
  auto t = OpenTracker(m, dir.path());
  int extremes = 0;
  for (int i = 0; i < 4000; ++i) {
    const double score = (i % 10 == 0) ? 0.99 : (i % 10 == 1 ? 0.01 : 0.1 + 0.08 * (i % 10));
    if (score > 0.95 || score < 0.05) ++extremes;
    Observe(*t, Scored("r" + std::to_string(i), kT0 + i, score));
  }
  const std::int64_t rows = t->StoredRows();
  const double middle_kept = static_cast<double>(rows - extremes) / (4000 - extremes);
  EXPECT_NEAR(middle_kept, 0.25, 0.04);
  EXPECT_GE(rows, extremes);
  auto f = Scrape(*t);
  EXPECT_NEAR(Value(f, "model_ground_truth_sample_rate", {}), double(rows) / 4000, 1e-12);
  // Label everything: the weighted match ratio is 1, and every extreme score joined.
  for (int i = 0; i < 4000; ++i)
    t->ObserveLabelLine(LabelLine("r" + std::to_string(i), kT0 + 5000, i % 2));
  EXPECT_EQ(t->matched(), static_cast<std::uint64_t>(rows));
  Observe(*t, Scored("tick", kT0 + 4 * kDay, 0.99));
  ASSERT_TRUE(t->Flush());
  EXPECT_EQ(t->unmatched() + t->sampled_out(), static_cast<std::uint64_t>(4000 - rows));
  EXPECT_GT(t->sampled_out(), 0u);
  f = Scrape(*t);
  EXPECT_NEAR(Value(f, "model_label_match_ratio", {}), 4000.0 * 1 / 4001, 0.02);
  // Weighted sample count vs raw: samples are raw rows.
  EXPECT_EQ(Find(f, "model_performance_samples", {}), double(rows));
}

TEST(GroundTruthTrackerTest, CollectIgnoresErrorsAndRecordsWithoutKey) {
  ScratchDir dir;
  auto t = OpenTracker(BinaryModel(), dir.path());
  OwnedRecord failed = Scored("a", kT0, 0.9);
  failed.ok = false;
  Observe(*t, failed);
  Observe(*t, Scored("", kT0, 0.9));
  EXPECT_EQ(t->StoredRows(), 0);
  t->ObserveLabelLine("garbage");
  t->ObserveLabelLine(R"({"ts":1,"request_id":"a","label":7})");
  auto f = Scrape(*t);
  EXPECT_EQ(Find(f, "model_label_lines_rejected_total", {{"reason", "invalid_json"}}), 1.0);
  EXPECT_EQ(Find(f, "model_label_lines_rejected_total", {{"reason", "bad_label"}}), 1.0);
  EXPECT_EQ(Find(f, "model_labels_total", {}), 0.0);
}

TEST(GroundTruthTrackerTest, SegmentOverflowIsCountedOnceAcrossRestarts) {
  ScratchDir dir;
  ModelConfig m = BinaryModel();
  m.ground_truth->segments = {"region"};
  m.ground_truth->max_segment_values = 2;
  auto rec = [](int i, const std::string& region) {
    OwnedRecord r = Scored("r" + std::to_string(i), kT0 + i, 0.5);
    r.segment = {{"region", region}};
    return r;
  };
  const char* regions[] = {"eu", "us", "apac", "latam", "eu"};
  {
    auto t = OpenTracker(m, dir.path());
    for (int i = 0; i < 5; ++i) Observe(*t, rec(i, regions[i]));
    EXPECT_EQ(Find(Scrape(*t), "modelwatch_cardinality_overflow_total", {{"label", "segment"}}),
              2.0);
  }
  auto t = OpenTracker(m, dir.path());
  for (int i = 0; i < 5; ++i) Observe(*t, rec(i, regions[i]));  // read again after a restart
  EXPECT_EQ(Find(Scrape(*t), "modelwatch_cardinality_overflow_total", {{"label", "segment"}}), 2.0);
}

}  // namespace
}  // namespace modelwatch
