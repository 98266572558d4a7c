#include "exporter/drift/drift_tracker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/metric_catalogue.h"
#include "exporter/baseline/baseline_builder.h"

namespace modelwatch {
namespace {

constexpr double kT0 = 1.8e9;  // an hour boundary

ModelConfig BinaryModel() {
  ModelConfig m;
  m.name = "fraud";
  m.task = Task::kBinaryClassification;
  m.features = {{"amount", FeatureType::kNumeric, false, false, {}},
                {"country", FeatureType::kCategorical, false, false, {}},
                {"email", FeatureType::kCategorical, true, false, {}}};
  m.drift.windows = {{"1h", Seconds(3600)}, {"24h", Seconds(86400)}};
  m.drift.min_samples = 100;
  m.drift.sub_windows = 12;
  m.drift.lateness = Seconds(300);
  return m;
}

// Owns the strings a Record's views point at.
struct RecordMaker {
  std::string country;
  Record r;

  const Record& Make(double ts, std::optional<double> amount, std::string c, double score,
                     std::string_view version = "v1", bool ok = true) {
    country = std::move(c);
    r = Record();
    r.timestamp = ts;
    r.version = version;
    r.ok = ok;
    if (!ok) r.status = "timeout";
    r.has_score = ok;
    r.score = score;
    r.predicted_class = ok ? (score >= 0.5 ? "1" : "0") : "";
    r.features.resize(3);
    if (amount) {
      r.features[0].kind = FeatureValue::Kind::kNumber;
      r.features[0].number = *amount;
    }
    r.features[1].kind = FeatureValue::Kind::kString;
    r.features[1].text = country;
    r.features[2].kind = FeatureValue::Kind::kString;
    r.features[2].text = "a@b.c";
    return r;
  }
};

// 5,000 reference records; with `missing_every` > 0, every such record lacks `amount`.
std::shared_ptr<const BaselineProfile> MakeBaseline(const ModelConfig& m, std::uint32_t seed,
                                                    int missing_every = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> amount(100, 20);
  std::uniform_real_distribution<double> score(0, 1);
  const char* countries[] = {"DE", "FR", "US"};
  BaselineBuilder b(m);
  RecordMaker maker;
  for (int i = 0; i < 5000; ++i) {
    const double ts = kT0 - 10 * 86400 + i * 60.0;
    if (missing_every > 0 && i % missing_every == 0) {
      b.Add(maker.Make(ts, std::nullopt, countries[i % 3], score(rng)));
    } else {
      b.Add(maker.Make(ts, amount(rng), countries[i % 3], score(rng)));
    }
  }
  auto p = b.Finish();
  EXPECT_TRUE(p.has_value());
  return std::make_shared<const BaselineProfile>(std::move(*p));
}

const DriftSample* Find(const std::vector<DriftSample>& samples, const std::string& name,
                        std::vector<std::pair<std::string, std::string>> labels) {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) match = match && s.Label(k) == v;
    if (match) return &s;
  }
  return nullptr;
}

// The value of a series that must be there: a missing series fails the test (and reads NaN)
// instead of dereferencing a null pointer and crashing the whole test binary.
double Value(const std::vector<DriftSample>& samples, const std::string& name,
             std::vector<std::pair<std::string, std::string>> labels) {
  const DriftSample* s = Find(samples, name, labels);
  if (s == nullptr) {
    std::string text;
    for (const auto& [k, v] : labels) text += " " + k + "=" + v;
    ADD_FAILURE() << "series not exported: " << name << text;
    return std::numeric_limits<double>::quiet_NaN();
  }
  return s->value;
}

int Count(const std::vector<DriftSample>& samples, const std::string& name) {
  int n = 0;
  for (const auto& s : samples) n += s.name == name;
  return n;
}

// Feeds n records spread over the 50 minutes before `end`, amounts ~ N(mean, 20).
void Feed(DriftTracker& t, int n, double end, double mean, std::uint32_t seed,
          std::string_view version = "v1") {
  std::mt19937 rng(seed);
  std::normal_distribution<double> amount(mean, 20);
  std::uniform_real_distribution<double> score(0, 1);
  const char* countries[] = {"DE", "FR", "US"};
  RecordMaker maker;
  for (int i = 0; i < n; ++i) {
    t.Observe(maker.Make(end - 3000 + 3000.0 * (i + 1) / n, amount(rng), countries[i % 3],
                         score(rng), version));
  }
}

TEST(DriftTrackerTest, WithoutBaselineExportsOnlyBaselineFreeGauges) {
  const ModelConfig m = BinaryModel();
  DriftTracker t(m, nullptr);
  Feed(t, 200, kT0, 100, 1);
  const auto s = t.Snapshot();
  ASSERT_NE(Find(s, "model_window_samples", {{"window", "1h"}}), nullptr);
  EXPECT_EQ(Value(s, "model_window_samples", {{"window", "1h"}}), 200);
  EXPECT_NE(Find(s, "model_prediction_confidence_mean", {{"window", "1h"}, {"version", "v1"}}),
            nullptr);
  EXPECT_NE(Find(s, "model_prediction_entropy_mean", {{"window", "1h"}}), nullptr);
  EXPECT_NE(Find(s, "model_feature_missing_ratio", {{"feature", "amount"}}), nullptr);
  EXPECT_EQ(Count(s, "model_feature_drift"), 0);
  EXPECT_EQ(Count(s, "model_prediction_drift"), 0);
  EXPECT_EQ(Count(s, "model_degradation_score"), 0);
  EXPECT_EQ(Count(s, "model_baseline_info"), 0);
  EXPECT_EQ(Count(s, "model_baseline_prediction_entropy_mean"), 0);
  EXPECT_EQ(Count(s, "model_positive_rate_zscore"), 0);
  EXPECT_EQ(Count(s, "model_feature_missing_ratio_shift"), 0);
}

TEST(DriftTrackerTest, BelowMinSamplesOnlyTheSampleCountIsExported) {
  const ModelConfig m = BinaryModel();
  DriftTracker t(m, MakeBaseline(m, 7));
  Feed(t, 99, kT0, 100, 2);
  auto s = t.Snapshot();
  EXPECT_EQ(Value(s, "model_window_samples", {{"window", "1h"}}), 99);
  EXPECT_EQ(Count(s, "model_feature_drift"), 0);
  EXPECT_EQ(Count(s, "model_feature_missing_ratio"), 0);
  EXPECT_EQ(Count(s, "model_prediction_confidence_mean"), 0);
  EXPECT_EQ(Count(s, "model_degradation_score"), 0);
  RecordMaker maker;
  t.Observe(maker.Make(kT0, 100, "DE", 0.3));
  s = t.Snapshot();
  EXPECT_GT(Count(s, "model_feature_drift"), 0);
}

// EntropyRise's reference. Scores ~ U(0, 1) in the baseline and the window alike: the mean
// binary entropy is the integral of -p ln p - (1 - p) ln(1 - p) over [0, 1] = 1/2 nat, and
// the per-record standard deviation sqrt(E[H^2] - 1/4) = 0.1871 (scipy.integrate.quad).
TEST(DriftTrackerTest, ExportsTheBaselineEntropyBesideTheWindowsOwn) {
  const ModelConfig m = BinaryModel();
  const auto baseline = MakeBaseline(m, 7);
  DriftTracker t(m, baseline);
  Feed(t, 3000, kT0, 100, 3);
  const auto s = t.Snapshot();
  EXPECT_EQ(Count(s, "model_baseline_prediction_entropy_mean"), 1);
  const double mean = Value(s, "model_baseline_prediction_entropy_mean", {{"model", m.name}});
  const double sd = Value(s, "model_baseline_prediction_entropy_stddev", {{"model", m.name}});
  EXPECT_DOUBLE_EQ(mean, baseline->prediction.entropy.mean);
  EXPECT_DOUBLE_EQ(sd, baseline->prediction.entropy.std);
  EXPECT_NEAR(mean, 0.5, 0.01);
  EXPECT_NEAR(sd, 0.1871, 0.01);
  EXPECT_NEAR(Value(s, "model_prediction_entropy_mean", {{"window", "1h"}}), 0.5, 0.015);
}

TEST(DriftTrackerTest, DriftRisesWithShiftAndStaysLowWithout) {
  const ModelConfig m = BinaryModel();
  const auto baseline = MakeBaseline(m, 7);
  DriftTracker same(m, baseline);
  DriftTracker shifted(m, baseline);
  Feed(same, 3000, kT0, 100, 3);
  Feed(shifted, 3000, kT0, 130, 3);
  const auto a = same.Snapshot();
  const auto b = shifted.Snapshot();
  for (const char* method : {"psi", "js", "ks", "wasserstein"}) {
    const auto* x = Find(a, "model_feature_drift",
                         {{"feature", "amount"}, {"method", method}, {"window", "1h"}});
    const auto* y = Find(b, "model_feature_drift",
                         {{"feature", "amount"}, {"method", method}, {"window", "1h"}});
    ASSERT_NE(x, nullptr) << method;
    ASSERT_NE(y, nullptr) << method;
    EXPECT_LT(x->value, y->value) << method;
  }
  EXPECT_LT(Value(a, "model_feature_drift", {{"feature", "amount"}, {"method", "psi"}}), 0.05);
  EXPECT_GT(Value(b, "model_feature_drift", {{"feature", "amount"}, {"method", "psi"}}), 0.5);
  // Wasserstein is in reference standard deviations: a 1.5σ shift.
  EXPECT_NEAR(Value(b, "model_feature_drift", {{"feature", "amount"}, {"method", "wasserstein"}}),
              1.5, 0.1);
  // Categorical methods; chi2 never for numeric, ks never for categorical.
  EXPECT_NE(Find(a, "model_feature_drift", {{"feature", "country"}, {"method", "chi2"}}), nullptr);
  EXPECT_EQ(Find(a, "model_feature_drift", {{"feature", "country"}, {"method", "ks"}}), nullptr);
  EXPECT_EQ(Find(a, "model_feature_drift", {{"feature", "amount"}, {"method", "chi2"}}), nullptr);
  // Shifted amounts leave the training range more often.
  EXPECT_GT(Value(b, "model_anomalous_requests_ratio", {{"window", "1h"}}),
            Value(a, "model_anomalous_requests_ratio", {{"window", "1h"}}));
  for (const auto& s : b) EXPECT_NE(s.Label("feature"), "email");
}

TEST(DriftTrackerTest, MethodsFollowTheConfig) {
  ModelConfig m = BinaryModel();
  m.drift.methods = {DriftMethod::kPsi, DriftMethod::kChi2};
  DriftTracker t(m, MakeBaseline(m, 7));
  Feed(t, 300, kT0, 100, 4);
  const auto s = t.Snapshot();
  EXPECT_NE(Find(s, "model_feature_drift", {{"feature", "amount"}, {"method", "psi"}}), nullptr);
  EXPECT_EQ(Find(s, "model_feature_drift", {{"feature", "amount"}, {"method", "ks"}}), nullptr);
  EXPECT_NE(Find(s, "model_feature_drift", {{"feature", "country"}, {"method", "chi2"}}), nullptr);
  EXPECT_EQ(Find(s, "model_feature_drift", {{"feature", "country"}, {"method", "js"}}), nullptr);
}

// drift.engine: promql: Prometheus records the numeric features' PSI, JS and KS and the
// categorical features' PSI, JS and chi2 (and their critical values) from every replica's
// histograms and category counters; a replica serving its own would be a second, partial
// series. The output's drift likewise, from the model_prediction_output histograms.
// Wasserstein stays the replica's.
TEST(DriftTrackerTest, PromqlEngineLeavesFeatureDriftButWassersteinToPrometheus) {
  ModelConfig m = BinaryModel();
  m.drift.engine = DriftEngine::kPromql;
  DriftTracker t(m, MakeBaseline(m, 7));
  Feed(t, 300, kT0, 100, 4);
  const auto s = t.Snapshot();
  for (const char* feature : {"amount", "country"}) {
    for (const char* method : {"psi", "js", "ks", "chi2"}) {
      EXPECT_EQ(Find(s, "model_feature_drift", {{"feature", feature}, {"method", method}}), nullptr)
          << feature << " " << method;
      EXPECT_EQ(
          Find(s, "model_feature_drift_critical_value", {{"feature", feature}, {"method", method}}),
          nullptr)
          << feature << " " << method;
    }
  }
  EXPECT_NE(Find(s, "model_feature_drift", {{"feature", "amount"}, {"method", "wasserstein"}}),
            nullptr);
  for (const char* method : {"psi", "js", "ks"}) {
    EXPECT_EQ(Find(s, "model_prediction_drift", {{"method", method}}), nullptr) << method;
    EXPECT_EQ(Find(s, "model_prediction_drift_critical_value", {{"method", method}}), nullptr)
        << method;
  }
  EXPECT_NE(Find(s, "model_prediction_drift", {{"method", "wasserstein"}}), nullptr);
  // The exporter engine serves them.
  m.drift.engine = DriftEngine::kExporter;
  DriftTracker e(m, MakeBaseline(m, 7));
  Feed(e, 300, kT0, 100, 4);
  const auto es = e.Snapshot();
  for (const char* method : {"psi", "js", "ks"}) {
    EXPECT_NE(Find(es, "model_prediction_drift", {{"method", method}}), nullptr) << method;
    EXPECT_NE(Find(es, "model_prediction_drift_critical_value", {{"method", method}}), nullptr)
        << method;
  }
}

// drift.engine: promql: the proxy signals are recorded by Prometheus from every replica's
// counters (the serving aggregator's), so a replica serves none of its own; the exporter
// engine serves them all, and the z-score and the missing-ratio shift likewise.
TEST(DriftTrackerTest, PromqlEngineLeavesTheProxySignalsToPrometheus) {
  const char* const kSignals[] = {"model_prediction_confidence_mean",
                                  "model_prediction_entropy_mean",
                                  "model_positive_rate",
                                  "model_feature_missing_ratio",
                                  "model_feature_out_of_range_ratio",
                                  "model_anomalous_requests_ratio"};
  ModelConfig m = BinaryModel();
  const auto baseline = MakeBaseline(m, 7);
  DriftTracker exporter_engine(m, baseline);
  m.drift.engine = DriftEngine::kPromql;
  DriftTracker promql(m, baseline);
  Feed(exporter_engine, 300, kT0, 100, 4);
  Feed(promql, 300, kT0, 100, 4);
  const auto e = exporter_engine.Snapshot();
  const auto p = promql.Snapshot();
  for (const char* name : kSignals) {
    EXPECT_NE(Find(e, name, {{"window", "1h"}}), nullptr) << name;
    EXPECT_EQ(Find(p, name, {}), nullptr) << name;
  }
  // The shifts from the baseline too (the rules compute them with the fleet's n).
  for (const char* name : {"model_positive_rate_zscore", "model_feature_missing_ratio_shift",
                           "model_feature_missing_ratio_shift_critical_value"}) {
    EXPECT_NE(Find(e, name, {{"window", "1h"}}), nullptr) << name;
    EXPECT_EQ(Find(p, name, {}), nullptr) << name;
  }
  // And the degradation score, from the fleet's drift and signals
  // (rulegen/promql_degradation.h).
  for (const char* name : {"model_degradation_score", "model_degradation_signal"}) {
    EXPECT_NE(Find(e, name, {}), nullptr) << name;
    EXPECT_EQ(Find(p, name, {}), nullptr) << name;
  }
}

// A feature's own drift.method makes it one of the drift series the alerts' significance
// level is split over (Bonferroni), like a feature on the model's method.
TEST(DriftTrackerTest, FeatureWithItsOwnMethodCountsAmongTheAlertedSeries) {
  ModelConfig m = BinaryModel();
  m.drift.method = DriftMethod::kKs;  // numeric only: country alerts only with its own method
  const auto baseline = MakeBaseline(m, 7);
  m.features[1].alert = false;
  DriftTracker muted(m, baseline);
  m.features[1].alert = true;
  m.features[1].drift = FeatureDriftOverride{DriftMethod::kPsi, 0.2, 0.4, {}};
  DriftTracker own(m, baseline);
  Feed(muted, 3000, kT0, 100, 3);
  Feed(own, 3000, kT0, 100, 3);
  const auto a = muted.Snapshot();
  const auto b = own.Snapshot();
  const std::vector<std::pair<std::string, std::string>> amount_ks = {
      {"feature", "amount"}, {"method", "ks"}, {"window", "1h"}};
  // Three alerted series (amount, country, the output) instead of two: a stricter level.
  EXPECT_GT(Value(b, "model_feature_drift_critical_value", amount_ks),
            Value(a, "model_feature_drift_critical_value", amount_ks));
  // The override's method is exported with its critical value, which the alert compares.
  EXPECT_GT(Value(b, "model_feature_drift_critical_value",
                  {{"feature", "country"}, {"method", "psi"}, {"window", "1h"}}),
            0);
}

TEST(DriftTrackerTest, WindowsSlideOnEventTimeAndCountLateRecords) {
  const ModelConfig m = BinaryModel();
  DriftTracker t(m, nullptr);
  Feed(t, 200, kT0, 100, 5);
  RecordMaker maker;
  // Two hours later: the 1h window holds only the new record; the 24h window all.
  t.Observe(maker.Make(kT0 + 7200, 100, "DE", 0.2));
  auto s = t.Snapshot();
  EXPECT_EQ(Value(s, "model_window_samples", {{"window", "1h"}}), 1);
  EXPECT_EQ(Value(s, "model_window_samples", {{"window", "24h"}}), 201);
  // A record far older than the 1h window start minus lateness is late for 1h only.
  t.Observe(maker.Make(kT0, 100, "DE", 0.2));
  s = t.Snapshot();
  EXPECT_EQ(Value(s, "model_late_records_total", {{"window", "1h"}}), 1);
  EXPECT_EQ(Value(s, "model_late_records_total", {{"window", "24h"}}), 0);
  EXPECT_EQ(Value(s, "model_window_samples", {{"window", "24h"}}), 202);
  // Older than a day: late for both.
  t.Observe(maker.Make(kT0 - 2 * 86400, 100, "DE", 0.2));
  s = t.Snapshot();
  EXPECT_EQ(Value(s, "model_late_records_total", {{"window", "24h"}}), 1);
}

TEST(DriftTrackerTest, VersionsBeyondTheLimitShareOtherLabel) {
  ModelConfig m = BinaryModel();
  m.max_versions = 2;
  DriftTracker t(m, nullptr);
  Feed(t, 100, kT0, 100, 6, "v1");
  Feed(t, 100, kT0, 100, 7, "v2");
  Feed(t, 100, kT0, 100, 8, "v3");
  Feed(t, 100, kT0, 100, 9, "v4");
  const auto s = t.Snapshot();
  EXPECT_NE(Find(s, "model_positive_rate", {{"version", "v1"}, {"window", "1h"}}), nullptr);
  EXPECT_NE(Find(s, "model_positive_rate", {{"version", "v2"}, {"window", "1h"}}), nullptr);
  EXPECT_NE(Find(s, "model_positive_rate", {{"version", "__other__"}, {"window", "1h"}}), nullptr);
  EXPECT_EQ(Find(s, "model_positive_rate", {{"version", "v3"}}), nullptr);
  EXPECT_EQ(Count(s, "model_positive_rate"), 6);  // 3 versions × 2 windows
}

// A scrape takes the totals under the ingest lock and computes outside it, while records
// keep arriving (new versions included): what it computes must be what the totals held.
TEST(DriftTrackerTest, ComputeReadsOnlyTheTotalsTakenBefore) {
  ModelConfig m = BinaryModel();
  auto baseline = MakeBaseline(m, 1);
  DriftTracker t(m, baseline);
  Feed(t, 600, kT0, 100, 2, "v1");
  const auto before = t.Snapshot();
  const auto totals = t.TakeTotals();
  Feed(t, 600, kT0 + 1800, 160, 3, "v2");  // drift, a second version, a slid window
  Feed(t, 600, kT0 + 1800, 160, 4, "v3");
  const auto after = t.Compute(*totals);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].labels, before[i].labels);
    EXPECT_EQ(after[i].value, before[i].value) << before[i].name;
  }
  // And the tracker did move on: the same computation now gives other values.
  EXPECT_GT(Value(t.Snapshot(), "model_feature_drift",
                  {{"feature", "amount"}, {"method", "psi"}, {"window", "1h"}}),
            Value(before, "model_feature_drift",
                  {{"feature", "amount"}, {"method", "psi"}, {"window", "1h"}}) +
                0.5);
  EXPECT_NE(Find(t.Snapshot(), "model_positive_rate", {{"version", "v3"}}), nullptr);
  EXPECT_EQ(Find(after, "model_positive_rate", {{"version", "v3"}}), nullptr);
}

// Scrapes of a tracker that read nothing since reuse the samples computed last; every
// change of the windows (a record, a late record, a restored checkpoint) computes them anew.
TEST(DriftTrackerTest, ReusedSamplesFollowEveryChangeOfTheWindows) {
  ModelConfig m = BinaryModel();
  auto baseline = MakeBaseline(m, 1);
  auto same = [](const std::vector<DriftSample>& a, const std::vector<DriftSample>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].name != b[i].name || a[i].labels != b[i].labels || a[i].value != b[i].value) {
        return false;
      }
    }
    return true;
  };
  DriftTracker t(m, baseline);
  Feed(t, 600, kT0, 100, 2);
  const auto first = t.Snapshot();
  EXPECT_TRUE(same(t.Snapshot(), first));
  EXPECT_TRUE(same(t.Compute(*t.TakeTotals()), first));

  // One more record in the window: the sample count moves.
  RecordMaker maker;
  t.Observe(maker.Make(kT0 - 10, 100, "DE", 0.7));
  const auto second = t.Snapshot();
  EXPECT_EQ(Value(second, "model_window_samples", {{"window", "1h"}}), 601);
  // A record too late for the 1h window changes only its late count.
  t.Observe(maker.Make(kT0 - 3 * 3600, 100, "DE", 0.7));
  EXPECT_EQ(Value(t.Snapshot(), "model_late_records_total", {{"window", "1h"}}), 1);

  // A checkpoint of another tracker restored into this one: its samples, not the cached.
  DriftTracker other(m, baseline);
  Feed(other, 900, kT0, 150, 3);
  const auto others = other.Snapshot();
  ASSERT_TRUE(t.RestoreState(other.SaveState()).has_value());
  EXPECT_TRUE(same(t.Snapshot(), others));

  // Totals taken before a change and computed after it give the samples of their time, and
  // do not stand in for the newer ones.
  const auto old_totals = t.TakeTotals();
  Feed(t, 50, kT0 + 60, 100, 4);
  const auto newer = t.Snapshot();
  EXPECT_TRUE(same(t.Compute(*old_totals), others));
  EXPECT_TRUE(same(t.Snapshot(), newer));
  EXPECT_FALSE(same(newer, others));
}

// What a scrape serves of a model: the samples written as text, kept while nothing changes.
TEST(DriftTrackerTest, RenderWritesTheSamplesAndKeepsThemUntilTheWindowsChange) {
  ModelConfig m = BinaryModel();
  DriftTracker t(m, MakeBaseline(m, 1));
  Feed(t, 600, kT0, 100, 2);
  const RenderedFamilies first = t.Render(*t.TakeTotals());
  std::vector<prometheus::MetricFamily> families;
  DriftTracker::AppendToFamilies(t.Snapshot(), families);
  EXPECT_EQ(SerializeText({}, {first}), SerializeText(MergeFamilies(families)));
  EXPECT_EQ(t.Render(*t.TakeTotals()), first);  // the same object: nothing recomputed
  RecordMaker maker;
  t.Observe(maker.Make(kT0 - 10, 100, "DE", 0.7));
  const RenderedFamilies second = t.Render(*t.TakeTotals());
  EXPECT_NE(second, first);
  EXPECT_NE(
      SerializeText({}, {second}).find("model_window_samples{model=\"fraud\",window=\"1h\"} 601\n"),
      std::string::npos);
}

// What the statistics thread publishes: the newest text rendered, kept when the windows change
// and when an older copy is rendered after a newer one.
TEST(DriftTrackerTest, PublishedTextOnlyMovesForward) {
  ModelConfig m = BinaryModel();
  DriftTracker t(m, MakeBaseline(m, 1));
  EXPECT_EQ(t.LastPublished().text, nullptr);
  Feed(t, 600, kT0, 100, 2);
  const auto older = t.TakeTotals();
  RecordMaker maker;
  t.Observe(maker.Make(kT0 - 10, 100, "DE", 0.7));
  const auto newer = t.TakeTotals();
  const RenderedFamilies text = t.Render(*newer);
  EXPECT_EQ(t.LastPublished().text, text);
  EXPECT_EQ(t.LastPublished().generation, t.generation());
  ASSERT_NE(t.LastPublished().samples, nullptr);
  EXPECT_EQ(t.LastPublished().samples->size(), t.Snapshot().size());
  t.Render(*older);  // a slower reader finishing late
  EXPECT_EQ(t.LastPublished().text, text);
  t.Observe(maker.Make(kT0 - 5, 100, "DE", 0.7));
  EXPECT_EQ(t.LastPublished().text, text);  // changed windows: still the last published
  EXPECT_NE(t.LastPublished().generation, t.generation());
  t.Snapshot();  // computing samples (the landing page without an interval) publishes nothing
  EXPECT_EQ(t.LastPublished().text, text);
}

TEST(DriftTrackerTest, DegradationSignalsSumToTheScore) {
  ModelConfig m = BinaryModel();
  DriftTracker t(m, MakeBaseline(m, 7));
  Feed(t, 1000, kT0, 140, 10);
  RecordMaker maker;
  for (int i = 0; i < 100; ++i) t.Observe(maker.Make(kT0 - i, 100, "DE", 0, "v1", false));
  const auto s = t.Snapshot();
  const auto* score = Find(s, "model_degradation_score", {{"version", "v1"}});
  ASSERT_NE(score, nullptr);
  double sum = 0;
  for (const auto& x : s) {
    if (x.name == "model_degradation_signal") sum += x.value;
  }
  EXPECT_NEAR(sum, score->value, 1e-9);
  EXPECT_EQ(Count(s, "model_degradation_signal"), 5);
  // Drift of 2σ saturates the drift signal; errors 100/1100 ≈ 9 % of 10 % saturation.
  EXPECT_NEAR(Value(s, "model_degradation_signal", {{"signal", "drift"}}), 30, 1e-9);
  EXPECT_NEAR(Value(s, "model_degradation_signal", {{"signal", "errors"}}),
              0.1 * (100.0 / 1100 / 0.1) * 100, 1e-9);
}

// A window's count cells hold more than 32 bits: a slot of a 7-day window fills with
// billions of records on a busy model. Set through a checkpoint (feeding 5 billion records
// would take minutes): the restored count must come back whole, not modulo 2^32.
TEST(DriftTrackerTest, CountsPastFourBillionSurviveACheckpoint) {
  const ModelConfig m = BinaryModel();
  const auto baseline = MakeBaseline(m, 7);
  DriftTracker t(m, baseline);
  Feed(t, 200, kT0, 100, 1);
  nlohmann::json state = t.SaveState();
  constexpr std::uint64_t kBillions = 5'000'000'000;
  bool raised = false;
  for (auto& slot : state["windows"][0]["slots"]) {
    auto& counts = slot["counts"];
    for (std::size_t k = 0; k < counts["i"].size() && !raised; ++k) {
      if (counts["i"][k].get<std::uint64_t>() != 0) continue;  // the records cell
      counts["v"][k] = counts["v"][k].get<std::uint64_t>() + kBillions;
      raised = true;
    }
  }
  ASSERT_TRUE(raised);
  DriftTracker restored(m, baseline);
  ASSERT_TRUE(restored.RestoreState(state).has_value());
  const auto s = restored.Snapshot();
  ASSERT_NE(Find(s, "model_window_samples", {{"window", "1h"}}), nullptr);
  EXPECT_EQ(Value(s, "model_window_samples", {{"window", "1h"}}), 200.0 + kBillions);
  EXPECT_EQ(restored.SaveState(), state);
}

TEST(DriftTrackerTest, CheckpointRoundTripsAndRejectsAnotherLayout) {
  const ModelConfig m = BinaryModel();
  const auto baseline = MakeBaseline(m, 7);
  DriftTracker t(m, baseline);
  Feed(t, 500, kT0, 110, 11);
  Feed(t, 50, kT0, 110, 12, "v2");
  const nlohmann::json state = t.SaveState();
  DriftTracker restored(m, baseline);
  ASSERT_TRUE(restored.RestoreState(nlohmann::json::parse(state.dump())).has_value());
  const auto a = t.Snapshot();
  const auto b = restored.Snapshot();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].labels, b[i].labels);
    EXPECT_DOUBLE_EQ(a[i].value, b[i].value) << a[i].name;
  }
  // Continues where it left off.
  Feed(t, 10, kT0 + 100, 110, 13);
  Feed(restored, 10, kT0 + 100, 110, 13);
  EXPECT_EQ(t.SaveState(), restored.SaveState());

  DriftTracker other(m, MakeBaseline(m, 8));  // another baseline: other bins
  EXPECT_FALSE(other.RestoreState(state).has_value());
  ModelConfig changed = m;
  changed.drift.windows.pop_back();
  DriftTracker fewer(changed, baseline);
  EXPECT_FALSE(fewer.RestoreState(state).has_value());
  nlohmann::json broken = state;
  broken["windows"][0]["slots"][0]["counts"]["i"] = {1u << 30};
  broken["windows"][0]["slots"][0]["counts"]["v"] = {1};
  DriftTracker fresh(m, baseline);
  EXPECT_FALSE(fresh.RestoreState(broken).has_value());
  EXPECT_EQ(fresh.SaveState(), DriftTracker(m, baseline).SaveState());  // unchanged
}

TEST(DriftTrackerTest, CollectSharesFamiliesAcrossModels) {
  ModelConfig a = BinaryModel();
  ModelConfig b = BinaryModel();
  b.name = "churn";
  DriftTracker ta(a, nullptr);
  DriftTracker tb(b, nullptr);
  Feed(ta, 150, kT0, 100, 14);
  Feed(tb, 150, kT0, 100, 15);
  std::vector<prometheus::MetricFamily> families;
  ta.Collect(families);
  tb.Collect(families);
  int samples_families = 0;
  for (const auto& f : families) {
    if (f.name == "model_window_samples") {
      ++samples_families;
      EXPECT_EQ(f.metric.size(), 4u);  // 2 models × 2 windows
      EXPECT_EQ(f.type, prometheus::MetricType::Gauge);
    }
    if (f.name == "model_late_records_total") {
      EXPECT_EQ(f.type, prometheus::MetricType::Counter);
    }
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
  EXPECT_EQ(samples_families, 1);
}

// Every family the tracker serves (with a baseline, drifted, with errors: all of them) comes
// from the metric catalogue, type and help included: the names rulegen writes are checked
// against the same catalogue (tests/unit/rulegen/metric_catalogue_test.cc).
TEST(DriftTrackerTest, EveryFamilyServedIsCatalogued) {
  const ModelConfig m = BinaryModel();
  DriftTracker t(m, MakeBaseline(m, 7));
  Feed(t, 1000, kT0, 140, 16);
  RecordMaker maker;
  for (int i = 0; i < 100; ++i) t.Observe(maker.Make(kT0 - i, 100, "DE", 0, "v1", false));
  std::vector<prometheus::MetricFamily> families;
  t.Collect(families);
  ASSERT_GT(families.size(), 20u);
  for (const auto& f : families) {
    const MetricSpec* spec = FindMetric(f.name);
    ASSERT_NE(spec, nullptr) << f.name << " is not in core/metric_catalogue.h";
    EXPECT_EQ(f.help, spec->help) << f.name;
    EXPECT_EQ(f.type, spec->kind == MetricKind::kCounter ? prometheus::MetricType::Counter
                                                         : prometheus::MetricType::Gauge)
        << f.name;
  }
}

TEST(DriftTrackerTest, MulticlassConfidenceEntropyAndClassDrift) {
  ModelConfig m;
  m.name = "intent";
  m.task = Task::kMulticlassClassification;
  m.classes = {"a", "b", "c"};
  m.drift.windows = {{"1h", Seconds(3600)}};
  m.drift.min_samples = 10;
  auto make = [](double ts, std::vector<double> p) {
    Record r;
    r.timestamp = ts;
    r.version = "v1";
    r.probabilities = std::move(p);
    const std::size_t top =
        std::max_element(r.probabilities.begin(), r.probabilities.end()) - r.probabilities.begin();
    static const char* names[] = {"a", "b", "c"};
    r.predicted_class = names[top];
    return r;
  };
  BaselineBuilder builder(m);
  for (int i = 0; i < 300; ++i) {
    builder.Add(make(kT0 - 86400 + i, i % 3 == 0   ? std::vector<double>{0.8, 0.1, 0.1}
                                      : i % 3 == 1 ? std::vector<double>{0.1, 0.8, 0.1}
                                                   : std::vector<double>{0.1, 0.1, 0.8}));
  }
  auto profile = builder.Finish();
  ASSERT_TRUE(profile.has_value());
  DriftTracker t(m, std::make_shared<const BaselineProfile>(*profile));
  for (int i = 0; i < 100; ++i) t.Observe(make(kT0 + i, {0.5, 0.3, 0.2}));
  const auto s = t.Snapshot();
  EXPECT_NEAR(Value(s, "model_prediction_confidence_mean", {}), 0.5, 1e-12);
  EXPECT_NEAR(Value(s, "model_prediction_entropy_mean", {}),
              -(0.5 * std::log(0.5) + 0.3 * std::log(0.3) + 0.2 * std::log(0.2)), 1e-12);
  EXPECT_NEAR(Value(s, "model_estimated_performance", {{"metric", "accuracy"}}), 0.5, 1e-12);
  EXPECT_NE(Find(s, "model_estimated_performance", {{"metric", "auc"}}), nullptr);
  // Every prediction is now "a": the class distribution drifted.
  EXPECT_GT(Value(s, "model_prediction_drift", {{"method", "psi"}}), 1.0);
  EXPECT_NE(Find(s, "model_prediction_drift", {{"method", "chi2"}}), nullptr);
  EXPECT_EQ(Find(s, "model_prediction_drift", {{"method", "ks"}}), nullptr);
  EXPECT_EQ(Count(s, "model_positive_rate"), 0);
  // Lower confidence and higher entropy than the baseline feed the score.
  EXPECT_GT(Value(s, "model_degradation_signal", {{"signal", "confidence"}}), 0);
  EXPECT_GT(Value(s, "model_degradation_signal", {{"signal", "entropy"}}), 0);
}

TEST(DriftTrackerTest, RegressionOutputDriftWithoutConfidence) {
  ModelConfig m;
  m.name = "eta";
  m.task = Task::kRegression;
  m.drift.windows = {{"1h", Seconds(3600)}};
  m.drift.min_samples = 10;
  auto make = [](double ts, double y) {
    Record r;
    r.timestamp = ts;
    r.version = "v1";
    r.has_prediction = true;
    r.prediction = y;
    return r;
  };
  BaselineBuilder builder(m);
  for (int i = 0; i < 1000; ++i) builder.Add(make(kT0 - 86400 + i, i % 100));
  auto profile = builder.Finish();
  ASSERT_TRUE(profile.has_value());
  DriftTracker t(m, std::make_shared<const BaselineProfile>(*profile));
  for (int i = 0; i < 1000; ++i) t.Observe(make(kT0 + i, i % 100 + 10));
  const auto s = t.Snapshot();
  EXPECT_EQ(Count(s, "model_prediction_confidence_mean"), 0);
  EXPECT_EQ(Count(s, "model_estimated_performance"), 0);
  // Discrete reference: exact. Shift of 10 over a uniform 0..99: W = 10 / std(0..99).
  const double std99 = std::sqrt((100.0 * 100.0 - 1) / 12);
  EXPECT_NEAR(Value(s, "model_prediction_drift", {{"method", "wasserstein"}}), 10 / std99, 1e-9);
  EXPECT_NEAR(Value(s, "model_prediction_drift", {{"method", "ks"}}), 0.1, 1e-9);
}

// FeatureMissing's inputs. The baseline misses `amount` in 10 % of 5,000 records, the window in
// 30 % of 400: the shift is 0.2, and its noise floor is the one-sided pooled two-proportion
// z-test's at drift.alpha = 0.001 split over the two tracked features (email is PII). Expected
// from scipy: norm.isf(0.0005) = 3.2905267314918945; pooled p = (0.3·400 + 0.1·5000)/5400;
// 3.2905267314918945 * sqrt(p (1 - p) (1/400 + 1/5000)) = 0.05450838799142486.
TEST(DriftTrackerTest, MissingRatioShiftAgainstTheBaselineAndItsNoiseFloor) {
  const ModelConfig m = BinaryModel();
  auto baseline = MakeBaseline(m, 3, 10);
  ASSERT_NE(baseline->FindFeature("amount"), nullptr);
  ASSERT_DOUBLE_EQ(baseline->FindFeature("amount")->missing_rate, 0.1);
  DriftTracker t(m, baseline);
  std::mt19937 rng(4);
  std::normal_distribution<double> amount(100, 20);
  std::uniform_real_distribution<double> score(0, 1);
  const char* countries[] = {"DE", "FR", "US"};
  RecordMaker maker;
  for (int i = 0; i < 400; ++i) {
    const double ts = kT0 - 3000 + 7.5 * (i + 1);
    if (i % 10 < 3) {
      t.Observe(maker.Make(ts, std::nullopt, countries[i % 3], score(rng)));
    } else {
      t.Observe(maker.Make(ts, amount(rng), countries[i % 3], score(rng)));
    }
  }
  const auto s = t.Snapshot();
  for (const char* window : {"1h", "24h"}) {
    EXPECT_NEAR(
        Value(s, "model_feature_missing_ratio", {{"feature", "amount"}, {"window", window}}), 0.3,
        1e-12);
    EXPECT_NEAR(
        Value(s, "model_feature_missing_ratio_shift", {{"feature", "amount"}, {"window", window}}),
        0.2, 1e-12);
    EXPECT_NEAR(Value(s, "model_feature_missing_ratio_shift_critical_value",
                      {{"feature", "amount"}, {"window", window}}),
                0.05450838799142486, 1e-9);
    // Never missing on either side: no shift, and a zero floor.
    EXPECT_EQ(
        Value(s, "model_feature_missing_ratio_shift", {{"feature", "country"}, {"window", window}}),
        0);
    EXPECT_EQ(Value(s, "model_feature_missing_ratio_shift_critical_value",
                    {{"feature", "country"}, {"window", window}}),
              0);
  }
  EXPECT_EQ(Find(s, "model_feature_missing_ratio_shift", {{"feature", "email"}}), nullptr);
}

}  // namespace
}  // namespace modelwatch
