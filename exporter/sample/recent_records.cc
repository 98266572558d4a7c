#include "exporter/sample/recent_records.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

namespace modelwatch {

RecentRecords::RecentRecords(const ModelConfig& model, std::size_t capacity, std::uint64_t every)
    : model_(model.name),
      classes_(model.classes),
      capacity_(capacity < 1 ? 1 : capacity),
      every_(every < 1 ? 1 : every) {
  for (const FeatureConfig& f : model.features) features_.push_back(f.pii ? "" : f.name);
  ring_.reserve(capacity_);
}

void RecentRecords::Observe(const Record& record) {
  if (seen_++ % every_ != 0) return;
  if (ring_.size() < capacity_) {
    ring_.emplace_back();
    Keep(record, ring_.back());
  } else {
    Keep(record, ring_[next_]);
    next_ = (next_ + 1) % capacity_;
  }
}

void RecentRecords::Keep(const Record& r, Kept& k) const {
  k.timestamp = r.timestamp;
  k.version.assign(r.version.data(), r.version.size());
  k.ok = r.ok;
  if (r.ok) {
    k.status.clear();
  } else {
    k.status.assign(r.status.data(), r.status.size());
  }
  k.has_latency = r.has_latency;
  k.latency_seconds = r.latency_seconds;
  k.has_score = r.has_score;
  k.score = r.score;
  k.probabilities.assign(r.probabilities.begin(), r.probabilities.end());
  k.has_prediction = r.has_prediction;
  k.prediction = r.prediction;
  k.predicted_class.assign(r.predicted_class.data(), r.predicted_class.size());
  const std::size_t n = std::min(features_.size(), r.features.size());
  k.features.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    Feature& f = k.features[i];
    const FeatureValue& v = r.features[i];
    if (features_[i].empty() || v.kind == FeatureValue::Kind::kMissing) {  // PII: never kept
      f.kind = FeatureValue::Kind::kMissing;
      f.number = 0;
      f.text.clear();
    } else if (v.kind == FeatureValue::Kind::kNumber) {
      f.kind = v.kind;
      f.number = v.number;
      f.text.clear();
    } else {
      f.kind = v.kind;
      f.number = 0;
      f.text.assign(v.text.data(), v.text.size());
    }
  }
}

namespace {

// JSON has no infinities or NaN: those are written as strings.
nlohmann::json Number(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
}

}  // namespace

std::string RecentRecords::Render(const Kept& r) const {
  nlohmann::json out = nlohmann::json::object();
  out["ts"] = r.timestamp;
  out["version"] = r.version;
  out["status"] = r.ok ? std::string("ok") : r.status;
  if (r.has_latency) out["latency_seconds"] = Number(r.latency_seconds);
  if (r.has_score) out["score"] = Number(r.score);
  if (!r.probabilities.empty()) {
    nlohmann::json p = nlohmann::json::object();
    for (std::size_t i = 0; i < r.probabilities.size(); ++i) {
      const std::string name = i < classes_.size() ? classes_[i] : std::to_string(i);
      p[name] = Number(r.probabilities[i]);
    }
    out["probabilities"] = std::move(p);
  }
  if (r.has_prediction) out["prediction"] = Number(r.prediction);
  if (!r.predicted_class.empty()) out["predicted_class"] = r.predicted_class;
  nlohmann::json features = nlohmann::json::object();
  for (std::size_t i = 0; i < features_.size() && i < r.features.size(); ++i) {
    const std::string& name = features_[i];
    if (name.empty()) continue;  // PII
    const Feature& v = r.features[i];
    switch (v.kind) {
      case FeatureValue::Kind::kMissing:
        features[name] = nullptr;
        break;
      case FeatureValue::Kind::kNumber:
        features[name] = Number(v.number);
        break;
      case FeatureValue::Kind::kString:
        features[name] = v.text;
        break;
    }
  }
  out["features"] = std::move(features);
  // Invalid UTF-8 in a logged string becomes U+FFFD instead of failing the record.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RecentRecords::ToJson() const {
  std::string out =
      "{\"model\":" +
      nlohmann::json(model_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      ",\"every\":" + std::to_string(every_) + ",\"records\":[";
  // Newest first: the slot before next_ backwards (before the ring is full, the end).
  const std::size_t n = ring_.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t newest = n < capacity_ ? n - 1 : (next_ + capacity_ - 1) % capacity_;
    const std::size_t i = (newest + n - k) % n;
    if (k > 0) out += ',';
    out += Render(ring_[i]);
  }
  out += "]}\n";
  return out;
}

}  // namespace modelwatch
