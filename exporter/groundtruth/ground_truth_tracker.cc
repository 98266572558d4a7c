#include "exporter/groundtruth/ground_truth_tracker.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>
#include <utility>

#include "core/promql_performance.h"
#include "exporter/groundtruth/performance.h"
#include "exporter/metrics/metric_family.h"

namespace modelwatch {
namespace {

constexpr char kSegmentSeparator = '\x1f';

double UnitFromKey(std::uint64_t key) { return static_cast<double>(key >> 11) * 0x1p-53; }

// The `n` segment values of a stored row, into `out` (reused: no allocation once it holds n).
void SplitSegments(std::string_view s, std::size_t n, std::vector<std::string_view>& out) {
  out.clear();
  while (out.size() < n) {
    const std::size_t pos = s.find(kSegmentSeparator);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  while (out.size() < n) out.emplace_back();
}

prometheus::ClientMetric Metric(std::vector<prometheus::ClientMetric::Label> labels, double value,
                                prometheus::MetricType type) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// Commits a full batch when an operation ends, so that a commit never splits an operation
// from its counters.
struct CommitGuard {
  PredictionStore& store;
  ~CommitGuard() { store.MaybeCommit(); }
};

}  // namespace

// Runs recomputations requested by the owner's Flush() on a thread of its own, through a
// read-only connection, and keeps the last complete result for Collect(). At most one runs or
// waits at a time; a failed one (a read error, or cancelled at shutdown) serves nothing new.
class GroundTruthTracker::Background {
 public:
  Background(const GroundTruthTracker& tracker, std::unique_ptr<PredictionStoreReader> reader)
      : tracker_(tracker), reader_(std::move(reader)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Background() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    reader_->Cancel();  // a recomputation in progress stops within 1000 SQLite steps
    cv_.notify_all();
    thread_.join();
  }

  // Asks for the windows ending at `newest`, unless one is requested or running already, or
  // the last one finished less than `interval` ago. Returns true when requested.
  bool Request(double newest, std::chrono::steady_clock::duration interval) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_ || running_) return false;
    if (finished_at_ != std::chrono::steady_clock::time_point{} &&
        std::chrono::steady_clock::now() - finished_at_ < interval) {
      return false;
    }
    pending_ = newest;
    cv_.notify_all();
    return true;
  }
  // True once after a recomputation failed (its data still needs one).
  bool TakeFailed() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(failed_, false);
  }
  void Wait() const {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !pending_ && !running_; });
  }
  std::shared_ptr<const GroundTruthSnapshot> latest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return latest_;
  }
  double seconds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seconds_;
  }
  std::uint64_t errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || pending_; });
      if (stop_) return;
      const double newest = *pending_;
      pending_.reset();
      running_ = true;
      lock.unlock();
      const auto began = std::chrono::steady_clock::now();
      const std::uint64_t errors_before = reader_->errors();
      reader_->BeginRead();
      GroundTruthSnapshot snap = tracker_.Compute(*reader_, newest);
      reader_->EndRead();
      const bool ok = reader_->errors() == errors_before;
      const auto finished = std::chrono::steady_clock::now();
      lock.lock();
      running_ = false;
      finished_at_ = finished;
      if (ok) {
        latest_ = std::make_shared<const GroundTruthSnapshot>(std::move(snap));
        seconds_ = std::chrono::duration<double>(finished - began).count();
      } else {
        ++errors_;
        failed_ = true;
      }
      cv_.notify_all();
    }
  }

  const GroundTruthTracker& tracker_;
  std::unique_ptr<PredictionStoreReader> reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stop_ = false;
  std::optional<double> pending_;
  bool running_ = false;
  bool failed_ = false;
  std::chrono::steady_clock::time_point finished_at_{};
  std::shared_ptr<const GroundTruthSnapshot> latest_ = std::make_shared<GroundTruthSnapshot>();
  double seconds_ = 0;
  std::uint64_t errors_ = 0;
  std::thread thread_;  // last: starts once everything above is initialised
};

std::string GroundTruthTracker::StorePath(const std::string& state_dir, const std::string& model) {
  return (std::filesystem::path(state_dir) / "groundtruth" / (model + ".sqlite")).string();
}

Result<std::unique_ptr<GroundTruthTracker>> GroundTruthTracker::Open(
    const ModelConfig& model, const std::string& state_dir, const GroundTruthOptions& options) {
  auto hasher = KeyedHasher::FromStateDir(state_dir);
  if (!hasher) return tl::unexpected(hasher.error());
  const std::filesystem::path dir = std::filesystem::path(state_dir) / "groundtruth";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError("cannot create " + dir.string() + ": " + ec.message());
  PredictionStore::Options store_options;
  store_options.batch_size = options.batch_size;
  const GroundTruthConfig gt = model.ground_truth.value_or(GroundTruthConfig{});
  store_options.entity_index = gt.join_on == JoinKey::kEntityId;
  store_options.durable = options.durable_store;
  store_options.auto_commit = false;  // commits fall between operations (CommitGuard)
  auto store = PredictionStore::Open((dir / (model.name + ".sqlite")).string(), store_options);
  if (!store) return tl::unexpected(store.error());
  std::unique_ptr<GroundTruthTracker> tracker(
      new GroundTruthTracker(model, *hasher, std::move(*store), options));
  if (options.recompute == GroundTruthOptions::Recompute::kBackground) {
    tracker->store_->Commit();  // the reader opens a database with its schema in place
    auto reader =
        PredictionStoreReader::Open((dir / (model.name + ".sqlite")).string(),
                                    static_cast<std::size_t>(gt.recompute_memory_mb) * 1024 * 1024);
    if (!reader) return tl::unexpected(reader.error());
    tracker->background_ = std::make_unique<Background>(*tracker, std::move(*reader));
  }
  return tracker;
}

GroundTruthTracker::GroundTruthTracker(const ModelConfig& model, KeyedHasher hasher,
                                       std::unique_ptr<PredictionStore> store,
                                       const GroundTruthOptions& options)
    : model_(model),
      gt_(model.ground_truth.value_or(GroundTruthConfig{})),
      recompute_interval_(options.recompute_interval.value_or(gt_.recompute_interval)),
      hasher_(hasher),
      store_(std::move(store)),
      label_parser_(model) {
  for (std::size_t i = 0; i < model_.classes.size(); ++i) {
    class_index_.emplace(model_.classes[i], static_cast<int>(i));
  }
  windows_ = gt_.windows;
  if (windows_.empty()) windows_.push_back(Window{"30d", Seconds(30 * 86400)});
  segment_values_.resize(gt_.segments.size());
  double newest = store_->NewestTimestamp();
  if (!std::isnan(newest) && newest > options.max_event_time) {
    future_rows_deleted_ = store_->DeleteAfter(options.max_event_time);
    newest = store_->NewestTimestamp();
  }
  if (!std::isnan(newest)) {
    newest_ = newest;
    has_newest_ = true;
    last_purge_ = newest;
  }
  if (gt_.join_on == JoinKey::kRequestId) {  // entity joins look their labels up per prediction
    for (std::uint64_t key : store_->PendingKeys()) pending_keys_.insert(key);
  }
  promql_metrics_ = PromqlPerformanceMetrics(model_);
  if (options.sliding_performance && gt_.join_on == JoinKey::kRequestId &&
      options.recompute == GroundTruthOptions::Recompute::kInline && std::isnan(newest)) {
    std::vector<double> lengths;
    for (const Window& w : windows_) lengths.push_back(static_cast<double>(w.length.count()));
    sliding_ = std::make_unique<SlidingPerformance>(
        model_.task, model_.threshold, std::move(lengths), gt_.segments.size(),
        [n = gt_.segments.size()](std::string_view s, std::vector<std::string_view>& out) {
          SplitSegments(s, n, out);
        });
  }
  if (sliding_ || !promql_metrics_.empty()) {
    store_->SetOnLabelled([this](const LabelledRow& row) {
      if (sliding_) sliding_->Add(row);
      if (!promql_metrics_.empty()) CountJoined(row);
    });
  }
  // The counters are stored with the data, in the same transactions (see Counters()), so
  // after a restart, even kill -9, they match what the store holds.
  LoadCounters(store_->GetMeta("counters"));
  LoadLabelPositions(store_->GetMeta("label_positions"));
  store_->SetBeforeCommit([this] {
    store_->SetMeta("counters", Counters().dump());
    store_->SetMeta("label_positions", LabelPositions().dump());
  });
  // Cardinality caps survive restarts, so a version keeps its own series.
  const std::string caps = store_->GetMeta("caps");
  if (!caps.empty()) {
    nlohmann::json j = nlohmann::json::parse(caps, nullptr, false);
    if (j.is_object()) {
      for (const auto& v : j.value("versions", nlohmann::json::array())) {
        if (v.is_string()) versions_.insert(v.get<std::string>());
      }
      const nlohmann::json segs = j.value("segments", nlohmann::json::object());
      for (std::size_t i = 0; i < gt_.segments.size(); ++i) {
        if (!segs.contains(gt_.segments[i])) continue;
        for (const auto& v : segs[gt_.segments[i]]) {
          if (v.is_string()) segment_values_[i].insert(v.get<std::string>());
        }
      }
    }
  }
}

GroundTruthTracker::~GroundTruthTracker() {
  background_.reset();  // stops the thread before anything it reads goes
  Flush();
  store_->SetBeforeCommit(nullptr);  // the store may outlive the counters it would save
  store_->SetOnLabelled(nullptr);
}

void GroundTruthTracker::CountJoined(const LabelledRow& row) {
  JoinedCounts& c = joined_[std::string(row.version)];
  if (model_.task == Task::kBinaryClassification) {
    // The outcome as PerformanceSums counts it: label >= 0.5 is positive, score >= threshold
    // predicts positive.
    const bool positive = row.label >= 0.5;
    const bool predicted = row.prediction >= model_.threshold;
    (positive ? (predicted ? c.tp : c.fn) : (predicted ? c.fp : c.tn)) += row.weight;
  } else {
    // Unweighted, so that the summaries' _count stays a whole number: regression samples
    // uniformly (every stored row weighs 1 / sample_rate), so sum / count is the weighted mean.
    const double d = row.prediction - row.label;
    c.count += 1;
    c.abs_error += std::fabs(d);
    c.squared_error += d * d;
  }
}

nlohmann::json GroundTruthTracker::Counters() const {
  nlohmann::json counters = {{"labels", labels_},
                             {"matched", matched_},
                             {"duplicates", duplicates_},
                             {"unmatched", unmatched_},
                             {"sampled_out", sampled_out_},
                             {"observed", observed_},
                             {"stored", stored_},
                             {"rejected", rejected_},
                             {"segment_overflow", segment_overflow_}};
  if (!joined_.empty()) {
    nlohmann::json& joined = counters["joined"];
    for (const auto& [version, c] : joined_) {
      joined[version] = {c.tp, c.fp, c.tn, c.fn, c.count, c.abs_error, c.squared_error};
    }
  }
  return counters;
}

void GroundTruthTracker::LoadCounters(const std::string& text) {
  if (text.empty()) return;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  auto get = [&j](const char* name) {
    const auto it = j.find(name);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
  };
  labels_ = get("labels");
  matched_ = get("matched");
  duplicates_ = get("duplicates");
  unmatched_ = get("unmatched");
  sampled_out_ = get("sampled_out");
  observed_ = get("observed");
  stored_ = get("stored");
  segment_overflow_ = get("segment_overflow");
  const auto joined = j.find("joined");
  if (joined != j.end() && joined->is_object()) {
    for (const auto& [version, v] : joined->items()) {
      if (!v.is_array() || v.size() != 7) continue;
      double x[7];
      bool numbers = true;
      for (std::size_t i = 0; i < 7; ++i) {
        numbers = numbers && v[i].is_number();
        x[i] = numbers ? v[i].get<double>() : 0;
      }
      if (numbers) joined_[version] = {x[0], x[1], x[2], x[3], x[4], x[5], x[6]};
    }
  }
  const auto rejected = j.find("rejected");
  if (rejected != j.end() && rejected->is_array()) {
    for (std::size_t i = 0; i < rejected->size() && i < kLabelRejectCount; ++i) {
      if ((*rejected)[i].is_number_unsigned()) rejected_[i] = (*rejected)[i].get<std::uint64_t>();
    }
  }
}

std::string GroundTruthTracker::CapVersion(std::string_view version) {
  std::string v(version);
  if (versions_.count(v)) return v;
  if (static_cast<int>(versions_.size()) >= model_.max_versions)
    return std::string(kOverflowLabelValue);
  versions_.insert(v);
  caps_dirty_ = true;
  return v;
}

void GroundTruthTracker::EncodeSegments(const Record& record) {
  segments_buf_.clear();
  segment_overflowed_ = false;
  for (std::size_t i = 0; i < gt_.segments.size(); ++i) {
    if (i > 0) segments_buf_.push_back(kSegmentSeparator);
    std::string_view value;
    for (const auto& [k, v] : record.segment) {
      if (k == gt_.segments[i]) value = v;
    }
    if (value.empty()) continue;
    std::string clean(value);
    std::replace(clean.begin(), clean.end(), kSegmentSeparator, ' ');
    auto& allowed = segment_values_[i];
    if (!allowed.count(clean)) {
      if (static_cast<int>(allowed.size()) >= gt_.max_segment_values) {
        clean = kOverflowLabelValue;
        segment_overflowed_ = true;
      } else {
        allowed.insert(clean);
        caps_dirty_ = true;
      }
    }
    segments_buf_ += clean;
  }
}

bool GroundTruthTracker::KeepSample(std::uint64_t key, double confidence) const {
  if (gt_.sample_rate >= 1.0) return true;
  if (model_.task != Task::kRegression && (confidence > 0.95 || confidence < 0.05)) return true;
  return UnitFromKey(key) < gt_.sample_rate;
}

void GroundTruthTracker::ObservePrediction(const Record& record) {
  CommitGuard commit{*store_};
  if (!record.ok) return;
  double prediction = 0;
  double confidence = 0.5;
  switch (model_.task) {
    case Task::kBinaryClassification:
      if (!record.has_score) return;
      prediction = confidence = record.score;
      break;
    case Task::kMulticlassClassification: {
      int index = -1;
      if (!record.predicted_class.empty()) {
        auto it = class_index_.find(std::string(record.predicted_class));
        if (it != class_index_.end()) index = it->second;
      }
      if (!record.probabilities.empty()) {
        auto max = std::max_element(record.probabilities.begin(), record.probabilities.end());
        confidence = *max;
        if (index < 0) index = static_cast<int>(max - record.probabilities.begin());
      }
      if (index < 0) return;
      prediction = index;
      break;
    }
    case Task::kRegression:
      if (!record.has_prediction) return;
      prediction = record.prediction;
      break;
  }
  const bool by_entity = gt_.join_on == JoinKey::kEntityId;
  std::uint64_t key = 0;
  std::uint64_t entity = record.entity_id.empty() ? 0 : hasher_.Hash(record.entity_id);
  if (by_entity) {
    if (entity == 0) return;
    std::uint64_t ts_bits;
    std::memcpy(&ts_bits, &record.timestamp, sizeof ts_bits);
    key = record.request_id.empty() ? hasher_.Hash(record.entity_id, ts_bits)
                                    : hasher_.Hash(record.request_id);
  } else {
    if (record.request_id.empty()) return;
    key = hasher_.Hash(record.request_id);
  }
  if (!has_newest_ || record.timestamp > newest_) {
    newest_ = record.timestamp;
    has_newest_ = true;
  }
  if (!KeepSample(key, confidence)) {
    ++observed_;  // a re-read line counts again here (nothing is stored to recognise it by)
    return;
  }
  const std::string version = CapVersion(record.version);
  EncodeSegments(record);
  StoredPrediction p;
  p.key = key;
  p.entity = entity;
  p.timestamp = record.timestamp;
  p.version = version;
  p.prediction = prediction;
  p.segments = segments_buf_;
  const bool extreme = model_.task != Task::kRegression && (confidence > 0.95 || confidence < 0.05);
  p.weight = gt_.sample_rate < 1.0 && !extreme ? 1.0 / gt_.sample_rate : 1.0;
  if (!store_->Insert(p)) return;  // stored already: a line read again after a restart
  ++observed_;
  ++stored_;
  if (segment_overflowed_) ++segment_overflow_;
  dirty_ = true;
  if (by_entity) {
    // The entity's kept label nearest in time, if one arrived before this prediction.
    const double tolerance = static_cast<double>(gt_.join_tolerance.count());
    auto label = store_->NearestEntityLabel(entity, record.timestamp, tolerance);
    if (label && store_->LabelPrediction(key, version, label->label, label->timestamp) &&
        label->waiting) {
      store_->MarkPendingMatched(entity, label->timestamp);
      ++matched_;
    }
  } else if (pending_keys_.count(key)) {
    ResolvePending(key);
  }
}

void GroundTruthTracker::ResolvePending(std::uint64_t key) {
  for (const PendingLabel& label : store_->PendingLabels(key)) {
    if (store_->LabelByKey(key, label.label, label.timestamp) != LabelOutcome::kMatched) continue;
    dirty_ = true;
    if (label.waiting) {  // count a label once, however many versions it joins
      store_->MarkPendingMatched(key, label.timestamp);
      ++matched_;
    }
  }
}

void GroundTruthTracker::HandleGivenUp(const PendingLabel& label) {
  if (gt_.join_on == JoinKey::kRequestId && gt_.sample_rate < 1.0 &&
      UnitFromKey(label.key) >= gt_.sample_rate) {
    ++sampled_out_;  // its prediction may have been sampled out: not evidence of a bad join
  } else {
    ++unmatched_;
  }
}

bool GroundTruthTracker::ReadBefore(const LineSource* source) {
  if (source == nullptr) return false;
  ReadUpTo& file = label_read_up_to_[{source->dev, source->ino}];
  file.last_use = ++label_reads_;
  if (source->end_offset <= file.end_offset) return true;
  file.end_offset = source->end_offset;
  if (label_read_up_to_.size() > kMaxLabelFiles) {
    auto oldest = label_read_up_to_.begin();
    for (auto it = label_read_up_to_.begin(); it != label_read_up_to_.end(); ++it) {
      if (it->second.last_use < oldest->second.last_use) oldest = it;
    }
    label_read_up_to_.erase(oldest);
  }
  return false;
}

void GroundTruthTracker::CountDuplicateWithoutWrite() {
  ++labels_;
  ++duplicates_;
  // Nothing else is written for it: open a transaction so that the next commit saves the
  // counters (and the position that says this line was counted).
  store_->SetMeta("counters", Counters().dump());
}

nlohmann::json GroundTruthTracker::LabelPositions() const {
  std::vector<std::pair<std::uint64_t,
                        const std::pair<const std::pair<std::uint64_t, std::uint64_t>, ReadUpTo>*>>
      by_use;
  for (const auto& entry : label_read_up_to_) by_use.emplace_back(entry.second.last_use, &entry);
  std::sort(by_use.begin(), by_use.end());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [use, entry] : by_use) {
    out.push_back({entry->first.first, entry->first.second, entry->second.end_offset});
  }
  return out;
}

void GroundTruthTracker::LoadLabelPositions(const std::string& text) {
  if (text.empty()) return;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return;
  for (const auto& e : j) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() ||
        !e[1].is_number_unsigned() || !e[2].is_number_unsigned()) {
      continue;
    }
    ReadUpTo& file = label_read_up_to_[{e[0].get<std::uint64_t>(), e[1].get<std::uint64_t>()}];
    file.end_offset = e[2].get<std::uint64_t>();
    file.last_use = ++label_reads_;
  }
}

void GroundTruthTracker::ObserveLabelLine(std::string_view line, const LineSource* source) {
  CommitGuard commit{*store_};
  // A line the store has seen the effects of (read again after a restart) was counted then.
  const bool read_before = ReadBefore(source);
  // Only a line known to be read for the first time makes a label the store holds already a
  // duplicate; without a source it may be a re-read.
  const bool first_reading = source != nullptr && !read_before;
  auto parsed = label_parser_.Parse(line);
  if (!parsed) {
    if (!read_before) ++rejected_[static_cast<int>(parsed.error())];
    return;
  }
  const LabelRecord& label = *parsed;
  PendingLabel pending;
  pending.timestamp = label.timestamp;
  pending.label = label.label;
  if (gt_.join_on == JoinKey::kEntityId) {
    ObserveEntityLabel(label, pending, first_reading);
    return;
  }
  pending.key = hasher_.Hash(label.request_id);
  const LabelOutcome outcome = store_->LabelByKey(pending.key, label.label, label.timestamp);
  if (outcome == LabelOutcome::kSeen) {
    // The same label again: a second copy of the line, or the line read again.
    if (first_reading) CountDuplicateWithoutWrite();
    return;
  }
  if (outcome == LabelOutcome::kMatched) {
    ++labels_;
    ++matched_;
    dirty_ = true;
    return;
  }
  if (outcome == LabelOutcome::kDuplicate) {  // a different label for a labelled prediction
    if (!read_before) CountDuplicateWithoutWrite();
    return;
  }
  // No prediction yet: wait for it, unless predictions are already well past the label.
  const double wait = static_cast<double>(gt_.label_grace.count());
  const bool give_up = has_newest_ && label.timestamp < newest_ - wait;
  if (!store_->AddPendingLabel(pending, give_up)) {  // kept already
    if (first_reading) CountDuplicateWithoutWrite();
    return;
  }
  ++labels_;
  if (give_up) {
    HandleGivenUp(pending);
  } else {
    pending_keys_.insert(pending.key);
  }
}

void GroundTruthTracker::ObserveEntityLabel(const LabelRecord& label, PendingLabel& pending,
                                            bool first_reading) {
  // Every entity label is kept (for predictions that arrive later within the tolerance); it
  // is offered to the stored predictions, each of which takes the label nearest in time.
  const double tolerance = static_cast<double>(gt_.join_tolerance.count());
  pending.key = hasher_.Hash(label.entity_id);
  const LabelOutcome outcome =
      store_->LabelByEntity(pending.key, label.timestamp, tolerance, label.label);
  if (outcome != LabelOutcome::kNoPrediction) dirty_ = true;
  const double wait = static_cast<double>(gt_.label_grace.count()) + tolerance;
  const bool give_up =
      outcome == LabelOutcome::kNoPrediction && has_newest_ && label.timestamp < newest_ - wait;
  if (!store_->AddPendingLabel(pending, give_up)) {  // kept already
    if (first_reading) CountDuplicateWithoutWrite();
    return;
  }
  ++labels_;
  switch (outcome) {
    case LabelOutcome::kMatched:
      store_->MarkPendingMatched(pending.key, pending.timestamp);
      ++matched_;
      break;
    case LabelOutcome::kDuplicate:
      store_->MarkPendingMatched(pending.key, pending.timestamp);  // may suit later predictions
      ++duplicates_;
      break;
    case LabelOutcome::kNoPrediction:
    case LabelOutcome::kSeen:
      if (give_up) HandleGivenUp(pending);
      break;
  }
}

void GroundTruthTracker::SaveCaps() {
  nlohmann::json j;
  j["versions"] = versions_;
  nlohmann::json segs = nlohmann::json::object();
  for (std::size_t i = 0; i < gt_.segments.size(); ++i) segs[gt_.segments[i]] = segment_values_[i];
  j["segments"] = segs;
  store_->SetMeta("caps", j.dump());
  caps_dirty_ = false;
}

bool GroundTruthTracker::Flush() {
  const std::uint64_t errors_before = store_->errors();
  if (caps_dirty_) SaveCaps();
  if (has_newest_) {
    const bool by_entity = gt_.join_on == JoinKey::kEntityId;
    const double wait = static_cast<double>(gt_.label_grace.count()) +
                        (by_entity ? static_cast<double>(gt_.join_tolerance.count()) : 0.0);
    for (const PendingLabel& label : store_->ExpirePendingLabels(newest_ - wait)) {
      HandleGivenUp(label);
    }
    // Retention, at most once per minute of event time.
    if (newest_ - last_purge_ >= 60) {
      double longest = 0;
      for (const Window& w : windows_) longest = std::max(longest, double(w.length.count()));
      const double keep_unlabelled =
          static_cast<double>(gt_.delay.count() + gt_.retention_buffer.count());
      store_->Purge(newest_ - keep_unlabelled, newest_ - std::max(longest, keep_unlabelled),
                    newest_ - std::max(longest, keep_unlabelled));
      last_purge_ = newest_;
      dirty_ = true;
      // The filter only grows between rebuilds (a key whose labels were given up on or
      // purged stays in it); rebuilt from the store once it has doubled, it holds at most
      // twice the keys the store keeps, at an amortised constant cost per label.
      if (pending_keys_.size() > 2 * pending_keys_rebuilt_ + 1024) {
        std::unordered_set<std::uint64_t> keys;
        for (std::uint64_t key : store_->PendingKeys()) keys.insert(key);
        pending_keys_.swap(keys);
        pending_keys_rebuilt_ = pending_keys_.size();
      }
    }
  }
  const bool committed = store_->Commit();
  if (background_ && committed && has_newest_) {
    if (background_->TakeFailed()) dirty_ = true;
    // What this commit made visible to the reader is recomputed off the caller's thread.
    if (dirty_ && background_->Request(newest_, recompute_interval_)) dirty_ = false;
  }
  return store_->errors() == errors_before;
}

GroundTruthSnapshot GroundTruthTracker::WaitForRecompute() const {
  if (!background_) return cached_;
  background_->Wait();
  return *background_->latest();
}

std::uint64_t GroundTruthTracker::recompute_errors() const {
  return background_ ? background_->errors() : 0;
}

GroundTruthSnapshot GroundTruthTracker::ComputeSnapshot() const {
  if (!has_newest_) return {};
  return Compute(*store_, newest_);
}

GroundTruthSnapshot GroundTruthTracker::Compute(LabelledRowSource& rows, double newest) const {
  GroundTruthSnapshot snap;
  snap.has_data = true;
  snap.newest = newest;
  double longest = 0;
  for (const Window& w : windows_) longest = std::max(longest, double(w.length.count()));

  // (window, version, segment index or -1, segment value).
  using GroupKey = std::tuple<std::size_t, std::string, int, std::string>;
  std::map<GroupKey, PerformanceAccumulator> groups;
  auto acc = [&](GroupKey key) -> PerformanceAccumulator& {
    auto it = groups.find(key);
    if (it == groups.end()) {
      it = groups.emplace(std::move(key), PerformanceAccumulator(model_.task, model_.threshold))
               .first;
    }
    return it->second;
  };
  const std::size_t nseg = gt_.segments.size();
  std::vector<std::string_view> segs;
  if (sliding_) {
    sliding_->Advance(newest);
    for (const auto& [key, a] : sliding_->groups()) {
      const auto& [w, version, seg, value] = key;
      if (seg < 0) snap.samples.push_back({version, {windows_[w].label, double(a.count())}});
      for (const auto& [metric, v] : a.Finish()) {
        snap.performance.push_back(
            {version, seg < 0 ? "" : gt_.segments[seg], value, metric, windows_[w].label, v});
      }
    }
  }
  auto add_row = [&](const LabelledRow& row) {
    const std::string version(row.version);
    SplitSegments(row.segments, nseg, segs);
    for (std::size_t w = 0; w < windows_.size(); ++w) {
      if (row.timestamp < newest - static_cast<double>(windows_[w].length.count())) continue;
      acc({w, version, -1, ""}).Add(row.prediction, row.label, row.weight);
      for (std::size_t s = 0; s < nseg; ++s) {
        if (segs[s].empty()) continue;
        acc({w, version, static_cast<int>(s), std::string(segs[s])})
            .Add(row.prediction, row.label, row.weight);
      }
    }
  };
  if (!sliding_) rows.ForEachLabelled(newest - longest, add_row);
  for (const auto& [key, a] : groups) {
    const auto& [w, version, seg, value] = key;
    if (seg < 0) snap.samples.push_back({version, {windows_[w].label, double(a.count())}});
    for (const auto& [metric, v] : a.Finish()) {
      snap.performance.push_back(
          {version, seg < 0 ? "" : gt_.segments[seg], value, metric, windows_[w].label, v});
    }
  }
  const double delay = static_cast<double>(gt_.delay.count());
  // Unlabelled predictions newer than this have not been purged (see Flush()).
  const double retained_from = newest - delay - static_cast<double>(gt_.retention_buffer.count());
  for (const Window& w : windows_) {
    const double from = newest - static_cast<double>(w.length.count());
    const double to = newest - delay;
    if (to < from) continue;
    const auto [total, labelled] = rows.MatchTotals(from, to, retained_from);
    if (total > 0) snap.match_ratio.push_back({w.label, std::min(1.0, labelled / total)});
  }
  if (model_.shadow) {
    const std::string& champion = model_.shadow->champion;
    const std::string& challenger = model_.shadow->challenger;
    for (int side = 0; side < 2; ++side) {
      std::vector<PerformanceAccumulator> accs(
          windows_.size(), PerformanceAccumulator(model_.task, model_.threshold));
      rows.ForEachLabelledPair(
          champion, challenger, newest - longest, side == 1,
          [&](double a, double b, double label, double weight, double ts) {
            for (std::size_t w = 0; w < windows_.size(); ++w) {
              if (ts < newest - static_cast<double>(windows_[w].length.count())) continue;
              accs[w].Add(side == 0 ? a : b, label, weight);
            }
          });
      for (std::size_t w = 0; w < windows_.size(); ++w) {
        for (const auto& [metric, v] : accs[w].Finish()) {
          snap.shadow.push_back(
              {side == 0 ? champion : challenger, "", "", metric, windows_[w].label, v});
        }
      }
    }
  }
  return snap;
}

void GroundTruthTracker::Collect(std::vector<prometheus::MetricFamily>& out) const {
  using prometheus::MetricType;
  std::shared_ptr<const GroundTruthSnapshot> background_snap;
  double recompute_seconds = cached_seconds_;
  if (background_) {
    background_snap = background_->latest();  // never waits for a recomputation
    recompute_seconds = background_->seconds();
  } else {
    const auto now = std::chrono::steady_clock::now();
    if (dirty_ && (computed_at_ == std::chrono::steady_clock::time_point{} ||
                   now - computed_at_ >= recompute_interval_)) {
      cached_ = ComputeSnapshot();
      cached_seconds_ =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - now).count();
      recompute_seconds = cached_seconds_;
      computed_at_ = now;
      dirty_ = false;
    }
  }
  const GroundTruthSnapshot& snap = background_ ? *background_snap : cached_;
  const std::string& m = model_.name;
  auto perf = MakeFamily(metric::kModelPerformance);
  auto seg = MakeFamily(metric::kModelSegmentPerformance);
  for (const PerformanceValue& v : snap.performance) {
    if (v.segment.empty() && std::find(promql_metrics_.begin(), promql_metrics_.end(), v.metric) !=
                                 promql_metrics_.end()) {
      continue;  // recorded by Prometheus for the fleet, from the counters below
    }
    if (v.segment.empty()) {
      perf.metric.push_back(
          Metric({{"model", m}, {"version", v.version}, {"metric", v.metric}, {"window", v.window}},
                 v.value_number, MetricType::Gauge));
    } else {
      seg.metric.push_back(Metric({{"model", m},
                                   {"version", v.version},
                                   {"segment", v.segment},
                                   {"value", v.value},
                                   {"metric", v.metric},
                                   {"window", v.window}},
                                  v.value_number, MetricType::Gauge));
    }
  }
  auto samples = MakeFamily(metric::kModelPerformanceSamples);
  for (const auto& [version, wv] : snap.samples) {
    samples.metric.push_back(Metric({{"model", m}, {"version", version}, {"window", wv.first}},
                                    wv.second, MetricType::Gauge));
  }
  auto ratio = MakeFamily(metric::kModelLabelMatchRatio);
  for (const auto& [window, r] : snap.match_ratio) {
    ratio.metric.push_back(Metric({{"model", m}, {"window", window}}, r, MetricType::Gauge));
  }
  out.push_back(std::move(perf));
  out.push_back(std::move(seg));
  out.push_back(std::move(samples));
  out.push_back(std::move(ratio));
  auto counter = [&](const MetricSpec& spec, double value) {
    auto f = MakeFamily(spec);
    f.metric.push_back(Metric({{"model", m}}, value, MetricType::Counter));
    out.push_back(std::move(f));
  };
  {
    auto f = MakeFamily(metric::kModelwatchCardinalityOverflowTotal);
    f.metric.push_back(Metric({{"label", "segment"}, {"model", m}}, double(segment_overflow_),
                              MetricType::Counter));
    out.push_back(std::move(f));
  }
  counter(metric::kModelLabelsTotal, double(labels_));
  counter(metric::kModelLabelsMatchedTotal, double(matched_));
  counter(metric::kModelLabelsDuplicateTotal, double(duplicates_));
  counter(metric::kModelLabelsUnmatchedTotal, double(unmatched_));
  counter(metric::kModelLabelsSampledOutTotal, double(sampled_out_));
  counter(metric::kModelGroundTruthStoreErrorsTotal, double(store_->errors()));
  counter(metric::kModelPerformanceRecomputeErrorsTotal, double(recompute_errors()));
  {
    auto f = MakeFamily(metric::kModelPerformanceRecomputeDurationSeconds);
    f.metric.push_back(Metric({{"model", m}}, recompute_seconds, MetricType::Gauge));
    out.push_back(std::move(f));
  }
  auto rejected = MakeFamily(metric::kModelLabelLinesRejectedTotal);
  for (int r = 0; r < kLabelRejectCount; ++r) {
    rejected.metric.push_back(
        Metric({{"model", m}, {"reason", LabelRejectName(static_cast<LabelReject>(r))}},
               double(rejected_[r]), MetricType::Counter));
  }
  out.push_back(std::move(rejected));
  if (!promql_metrics_.empty()) CollectJoined(out);
  auto rate = MakeFamily(metric::kModelGroundTruthSampleRate);
  rate.metric.push_back(
      Metric({{"model", m}}, observed_ == 0 ? gt_.sample_rate : double(stored_) / double(observed_),
             MetricType::Gauge));
  out.push_back(std::move(rate));
  if (model_.shadow) {
    auto shadow = MakeFamily(metric::kModelShadowPerformance);
    for (const PerformanceValue& v : snap.shadow) {
      shadow.metric.push_back(Metric({{"model", m},
                                      {"champion", model_.shadow->champion},
                                      {"challenger", model_.shadow->challenger},
                                      {"version", v.version},
                                      {"metric", v.metric},
                                      {"window", v.window}},
                                     v.value_number, MetricType::Gauge));
    }
    out.push_back(std::move(shadow));
  }
}

void GroundTruthTracker::CollectJoined(std::vector<prometheus::MetricFamily>& out) const {
  const std::string& m = model_.name;
  if (model_.task == Task::kBinaryClassification) {
    auto f = MakeFamily(metric::kModelLabelledPredictionsTotal);
    for (const auto& [version, c] : joined_) {
      for (const auto& [outcome, value] :
           {std::pair{"tp", c.tp}, {"fp", c.fp}, {"tn", c.tn}, {"fn", c.fn}}) {
        f.metric.push_back(Metric({{"model", m}, {"version", version}, {"outcome", outcome}}, value,
                                  prometheus::MetricType::Counter));
      }
    }
    out.push_back(std::move(f));
    return;
  }
  auto abs_error = MakeFamily(metric::kModelPredictionAbsoluteError);
  auto squared_error = MakeFamily(metric::kModelPredictionSquaredError);
  for (const auto& [version, c] : joined_) {
    prometheus::ClientMetric a;
    a.label = {{"model", m}, {"version", version}};
    prometheus::ClientMetric sq = a;
    a.summary.sample_count = static_cast<std::uint64_t>(std::llround(c.count));
    a.summary.sample_sum = c.abs_error;
    sq.summary.sample_count = a.summary.sample_count;
    sq.summary.sample_sum = c.squared_error;
    abs_error.metric.push_back(std::move(a));
    squared_error.metric.push_back(std::move(sq));
  }
  out.push_back(std::move(abs_error));
  out.push_back(std::move(squared_error));
}

}  // namespace modelwatch
