// The per-model configuration model shared by modelwatch-exporter and modelwatch-rulegen.
//
// Plain data: every field has its documented default (docs/config.md). The loader
// (config_loader.h) fills and validates it; nothing else constructs it from YAML.
// Paths are already resolved: relative paths in a YAML file are relative to that file.
#ifndef MODELWATCH_CORE_CONFIG_H_
#define MODELWATCH_CORE_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"
#include "core/error.h"

namespace modelwatch {

enum class Task { kBinaryClassification, kMulticlassClassification, kRegression };
enum class FeatureType { kNumeric, kCategorical };
enum class StartAt { kEnd, kBeginning };
enum class DriftMethod { kPsi, kJs, kKs, kWasserstein, kChi2 };
enum class JoinKey { kRequestId, kEntityId };

// The label value that stands for every value past a cardinality limit (max_versions,
// max_classes, max_error_types, max_segment_values, …): the exporter serves it, rulegen's
// dashboards and runbooks name it. Its series counts what overflowed.
inline constexpr std::string_view kOverflowLabelValue = "__other__";

// Label values and YAML spellings: "binary_classification", "numeric", "psi", ...
const char* TaskName(Task t);
const char* FeatureTypeName(FeatureType t);
const char* DriftMethodName(DriftMethod m);  // psi js ks wasserstein chi2
const char* StartAtName(StartAt s);
const char* JoinKeyName(JoinKey k);

// True if `method` is defined for features of `type` (chi2 only categorical; ks and
// wasserstein only numeric; psi and js both).
bool MethodApplies(DriftMethod method, FeatureType type);

// A window as configured: the original spelling is the `window` label value.
struct Window {
  std::string label;  // "1h"
  Seconds length{0};
};

struct Owner {
  std::string team;       // required; [a-z0-9_-]+, used in receiver names
  std::string slack;      // channel, e.g. "#fraud-ml-alerts"
  std::string pagerduty;  // service name (the routing key comes from modelwatch.yaml)
  std::string email;
};

// Canonical record field -> the name in the model's log records.
struct FieldMap {
  std::string model = "model";
  std::string timestamp = "ts";
  std::string request_id = "request_id";
  std::string entity_id = "entity_id";
  std::string version = "model_version";
  std::string score = "score";
  std::string probabilities = "probabilities";
  std::string prediction = "prediction";
  std::string latency_ms = "latency_ms";
  std::string status = "status";
  std::string features = "features";
  std::string segment = "segment";
};

struct SourceConfig {
  std::vector<std::string> paths;  // glob patterns, absolute after loading
  FieldMap fields;
  StartAt start_at = StartAt::kEnd;
  std::size_t max_line_bytes = 1 << 20;
};

// A feature's own FeatureDrift settings (`features[].drift`). Every key is optional; an unset
// one inherits the model's `drift` setting (EffectiveFeatureDrift).
struct FeatureDriftOverride {
  std::optional<DriftMethod> method;  // applies to the feature's type; in drift.methods if given
  std::optional<double> warn;
  std::optional<double> critical;
  std::vector<std::string> windows;  // labels of a subset of drift.windows; empty: all of them
};

struct FeatureConfig {
  std::string name;
  FeatureType type = FeatureType::kNumeric;
  bool pii = false;        // never exported, never stored in clear
  bool histogram = false;  // export model_feature_value (numeric only, not with pii)
  SourceLocation location;
  // false: drift still computed and exported, but no FeatureDrift alert for this feature
  // (e.g. a cyclical time feature that drifts against a longer baseline by construction).
  bool alert = true;
  // Per-feature alert settings; never together with alert: false or pii: true.
  std::optional<FeatureDriftOverride> drift = std::nullopt;
};

// Who computes the drift of the features: each exporter from the records it saw (`exporter`),
// or Prometheus from every replica's feature histograms and category counters, summed, with
// the recording rules rulegen generates (`promql`; docs/scale-out.md).
enum class DriftEngine { kExporter, kPromql };

// The baseline's coarse bins of one numeric feature: what drift.engine: promql's rules
// embed. Filled by rulegen from the baseline file (rulegen/promql_drift.h), not by the loader.
struct BinnedReference {
  std::string feature;
  std::vector<double> edges;        // the model_feature_value buckets' upper bounds
  std::vector<double> proportions;  // edges.size() + 1
  double count = 0;                 // non-missing reference values
};

// The baseline's categories of one categorical feature: what drift.engine: promql's rules
// embed. Filled by rulegen from the baseline file, not by the loader.
struct CategoricalReference {
  std::string feature;
  std::vector<std::string> categories;  // the model_feature_category_total categories
  std::vector<double> counts;           // categories.size() + 1, the last the other bin's
  std::vector<double> proportions;      // categories.size() + 1
  double count = 0;                     // non-missing reference values
};

// A feature's share of missing values in the baseline (the missing-ratio shift's reference).
struct MissingReference {
  std::string feature;
  double rate = 0;
};

// The baseline's positive rate, as the positive-rate z-score uses it (effect_size.h's
// PositiveRateZ): the rate, the effective number of records behind it, and τ², the
// overdispersion allowance max(between_std, kRateEffectFloor·sqrt(rate(1 − rate)))².
struct PositiveRateReference {
  double rate = 0;
  double records = 0;
  double tau_squared = 0;
};

struct PromqlDriftReference {
  std::vector<BinnedReference> features;          // the numeric features the baseline bins
  std::vector<CategoricalReference> categorical;  // the categorical features it profiles
  // The baseline's output profile, the reference of every version's output drift (as the
  // exporter bins it): the score's or the regression output's bins (at most one entry,
  // `feature` empty), or the predicted classes (multiclass; at most one entry).
  std::vector<BinnedReference> output;
  std::vector<CategoricalReference> output_classes;
  int drift_series = 0;  // the exporter's Bonferroni split of drift.alpha (SeriesLevel)
  // The non-PII features the baseline profiles with the configured type, and the effective
  // number of reference records behind their missing shares.
  std::vector<MissingReference> missing;
  double missing_records = 0;
  // Binary classifiers whose baseline holds records with a score.
  std::optional<PositiveRateReference> positive_rate;
};

struct DriftConfig {
  DriftEngine engine = DriftEngine::kExporter;
  std::vector<Window> windows;             // default [1h, 24h]
  DriftMethod method = DriftMethod::kPsi;  // the one that alerts
  std::vector<DriftMethod> methods;        // exported; default: all that apply
  double warn = 0.1;
  double critical = 0.2;
  std::int64_t min_samples = 500;
  int bins = 10;            // numeric quantile bins in the baseline
  int top_categories = 20;  // categorical categories kept in the baseline
  Seconds lateness{300};    // records older than window start - lateness are dropped
  int sub_windows = 12;     // ring resolution of each window
  // Significance level of the drift alerts: per window, the chance that sampling noise alone
  // takes any feature's (or the output's) statistic above its exported critical value
  // (Bonferroni over the model's drift series). In (0, 1).
  double alpha = 0.001;
};

struct SloConfig {
  std::optional<double> latency_p99_ms;  // HighLatency only when set
  std::optional<double> error_rate;      // HighErrorRate only when set, in (0,1)
  std::optional<double> availability;    // in (0,1), e.g. 0.999
  Seconds period{30 * 86400};
};

struct DegradationConfig {
  // Keys: drift, confidence, entropy, anomaly_rate, errors. Sum to 1.
  std::map<std::string, double> weights{{"drift", 0.3},
                                        {"confidence", 0.2},
                                        {"entropy", 0.2},
                                        {"anomaly_rate", 0.2},
                                        {"errors", 0.1}};
  double notify_at = 60;
  double page_at = 80;
};

struct RetrainConfig {
  std::string metric = "auc";  // a metric name valid for the task (docs/config.md)
  // Exactly one is set: fire when the metric stays below `below` (auc, f1, accuracy, ...)
  // or above `above` (mae, rmse, mape, log_loss, ece: lower is better; bias: either).
  double below = 0;
  std::optional<double> above;
  Seconds for_duration{3 * 86400};
  // The ground-truth window (label of one of ground_truth.windows) the alert watches;
  // default the first window listed.
  std::string window;
};

struct GroundTruthConfig {
  std::vector<std::string> paths;  // glob patterns, absolute after loading
  StartAt start_at = StartAt::kEnd;
  JoinKey join_on = JoinKey::kRequestId;
  Seconds join_tolerance{86400};  // entity_id joins: max |label ts - prediction ts|
  std::string timestamp_field = "ts";
  std::string request_id_field = "request_id";
  std::string entity_id_field = "entity_id";
  std::string label_field = "label";
  Seconds delay{0};
  double min_match_rate = 0.8;
  std::vector<Window> windows;        // default [30d]
  std::vector<std::string> segments;  // segment keys for per-segment performance
  std::optional<RetrainConfig> retrain_when;
  // Store and computation tunables (docs/ground-truth.md).
  Seconds retention_buffer{7 * 86400};  // unlabelled predictions kept for delay + this
  double sample_rate = 1.0;             // share of mid-range scores stored (extremes always)
  Seconds label_grace{3600};            // how long a label waits for its prediction
  Seconds recompute_interval{30};       // performance recomputed at most this often
  int max_segment_values = 50;          // per segment key; more go to "__other__"
  int recompute_memory_mb = 16;         // page cache + sort memory of one recomputation
};

struct ShadowConfig {
  std::string champion;  // version label values
  std::string challenger;
  Seconds pairing_timeout{60};
  double min_agreement = 0.9;
};

// What LowThroughput compares the short-window request rate with.
enum class ThroughputCompare {
  kHour,  // the average rate over the preceding hour (the default)
  kDay,   // the same window at the same time one day earlier
};

// `throughput`: LowThroughput fires when the request rate over `window` falls by more than
// `drop` below the reference (`compare`), while the reference is at least `min_rate`.
struct ThroughputConfig {
  ThroughputCompare compare = ThroughputCompare::kHour;
  double drop = 0.5;  // in (0, 1): fire below (1 - drop) x the reference
  // The short window; unset: max(5m, 4 x the tier's evaluation interval), chosen by rulegen.
  std::optional<Seconds> window;
  double min_rate = 0.1;  // predictions/s the reference must reach (traffic floor); >= 0
};

// `entropy`: EntropyRise (classifiers). `baseline` (the default when the model has a
// baseline) fires when the mean entropy over `window` exceeds the baseline's mean plus
// `sigmas` of its per-record standard deviation; `windows` when the shortest drift window's
// mean exceeds `max_ratio` times the longest's (one window: the same window a day earlier).
enum class EntropyCompare { kBaseline, kWindows };
struct EntropyConfig {
  std::optional<EntropyCompare> compare;  // unset: kBaseline with a baseline, else kWindows
  std::string window;                     // a drift window label; empty: the longest
  double sigmas = 1.0;
  double max_ratio = 1.2;
  EntropyCompare Effective(bool has_baseline) const {
    return compare.value_or(has_baseline ? EntropyCompare::kBaseline : EntropyCompare::kWindows);
  }
};

struct ModelConfig {
  std::string name;         // [a-z0-9_-]+, not "overview"
  std::string file;         // the YAML file, as given (config.dir joined with the file name)
  SourceLocation location;  // of the model name (the file start when absent)
  Owner owner;
  int tier = 2;  // 1 revenue-critical, 2 operational, 3 experimental
  Task task = Task::kBinaryClassification;
  std::string description;
  SourceConfig source;
  std::string baseline;  // resolved path; empty when not configured
  // drift.engine: promql only, set by rulegen after loading (LoadPromqlReferences).
  std::optional<PromqlDriftReference> promql_reference;
  std::vector<FeatureConfig> features;
  std::vector<std::string> classes;  // multiclass: class names, in probability-array order
  double threshold = 0.5;            // binary: score >= threshold predicts class 1
  DriftConfig drift;
  std::optional<SloConfig> slo;
  DegradationConfig degradation;
  std::optional<GroundTruthConfig> ground_truth;
  std::optional<ShadowConfig> shadow;
  ThroughputConfig throughput;  // LowThroughput (docs/alerts.md)
  // ConfidenceDrop fires when the mean confidence over the shortest drift window falls below
  // this share of its level over the longest (`confidence.min_ratio`).
  double confidence_min_ratio = 0.9;
  EntropyConfig entropy;
  // FeatureMissing (docs/alerts.md): a feature's missing ratio above the baseline's by at
  // least `missing.warn` (ticket) / `missing.critical` (page), and beyond sampling noise.
  double missing_warn = 0.1;
  double missing_critical = 0.5;
  int max_versions = 10;  // cardinality guards; overflow goes to "__other__"
  int max_classes = 50;
  int max_error_types = 20;
  // /api/v1/samples/<model>: every sample_every-th record, the newest sample_size kept
  // (0: no sample).
  int sample_size = 50;
  int sample_every = 10;
};

// The settings FeatureDrift applies to one feature: its override's keys, else the model's.
struct FeatureDriftSettings {
  DriftMethod method = DriftMethod::kPsi;
  double warn = 0.1;
  double critical = 0.2;
  std::vector<Window> windows;  // in drift.windows order
  // True if any setting differs from the model's (the feature needs its own alert rule).
  bool overridden = false;
};
FeatureDriftSettings EffectiveFeatureDrift(const DriftConfig& drift, const FeatureConfig& f);

// Evaluation and notification timings of one tier.
struct TierDefaults {
  Seconds evaluation_interval{60};
  Seconds for_duration{300};      // `for` of drift-style alerts
  Seconds model_down_after{600};  // ModelDown: no predictions for this long
  Seconds group_wait{30};
  Seconds group_interval{300};
  Seconds repeat_interval{4 * 3600};
};

// Built-in tier defaults (1 fastest, 3 slowest). See docs/config.md.
TierDefaults DefaultTier(int tier);

struct ReceiverSecrets {
  std::string pagerduty_routing_key_file;
  std::string pagerduty_url;  // empty: Alertmanager's default (the PagerDuty API)
  std::string slack_api_url_file;
  std::string email_smarthost = "localhost:25";
  std::string email_from = "modelwatch@localhost";
  std::string email_auth_username;  // required with email_auth_password_file
  std::string email_auth_password_file;
  bool email_require_tls = true;  // Alertmanager smtp_require_tls (STARTTLS required)
};

// modelwatch.yaml `teams.<team>`: one team's own secret files and escalation contact. An
// empty file falls back to the fleet-wide one in ReceiverSecrets (docs/config.md).
struct TeamReceivers {
  std::string pagerduty_routing_key_file;
  std::string slack_api_url_file;  // Slack app webhooks post to their own channel only
  // The team lead, paged by the escalation alert (routing.escalate_after).
  std::string lead_email;
  std::string lead_pagerduty_routing_key_file;
  SourceLocation location;  // of the team's key, for cross-file errors
};

// modelwatch.yaml `platform`: who owns the monitoring itself. Gets ExporterDown, the
// meta-alerts and every alert without a known `team` (the root route's receiver).
struct PlatformConfig {
  Owner owner{"platform", "", "", ""};
  std::string exporter_job = "modelwatch";  // Prometheus job scraping the exporters
  bool configured = false;                  // false: no `platform` section
};

// modelwatch.yaml `routing`.
struct RoutingConfig {
  int default_tier = 1;       // timings for a team's alert whose `tier` label is missing/unknown
  Seconds escalate_after{0};  // 0: no escalation alert
};

// modelwatch.yaml: fleet-wide settings. Every key optional.
struct FleetConfig {
  std::string file;  // empty when there is no modelwatch.yaml
  ReceiverSecrets receivers;
  std::map<std::string, TeamReceivers> teams;  // by team name
  PlatformConfig platform;
  RoutingConfig routing;
  std::map<int, TierDefaults> tiers;  // always holds 1, 2, 3 after loading
  // `drift.engine`: the engine of every model whose own file does not set one.
  DriftEngine drift_engine = DriftEngine::kExporter;
  SourceLocation drift_engine_location;  // of that key; line 0 when not set
  // `drift.tiers`: 1, every promql model's rules in one file per model; 2, split into a local
  // tier (rules/<model>.local.rules.yml, every Prometheus that scrapes exporters) and a global
  // tier (rules/<model>.global.rules.yml, a Thanos Ruler or Mimir ruler): docs/scale-out.md.
  int drift_tiers = 1;
  std::string runbook_base_url = "https://runbooks.example.com/modelwatch";
  std::string dashboard_base_url = "http://localhost:3000/d";
  std::string heartbeat_url = "http://127.0.0.1:9095/heartbeat";

  const TierDefaults& Tier(int tier) const { return tiers.at(tier); }
};

struct ConfigSet {
  std::string dir;
  FleetConfig fleet;
  std::vector<ModelConfig> models;  // sorted by name

  // Returns nullptr if there is no such model.
  const ModelConfig* Find(const std::string& name) const;
};

}  // namespace modelwatch

#endif  // MODELWATCH_CORE_CONFIG_H_
