#include "exporter/shadow/shadow_tracker.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "exporter/metrics/metric_family.h"

namespace modelwatch {
namespace {

constexpr double kLatencyLow = 1e-5;  // seconds: upper bound of latency bin 0
constexpr double kLatencyGrowth = 1.02;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int LatencyBin(double seconds) {
  if (!(seconds > kLatencyLow)) return 0;
  const double bin = std::ceil(std::log(seconds / kLatencyLow) / std::log(kLatencyGrowth));
  return static_cast<int>(std::min<double>(bin, ShadowTracker::kLatencyBins - 1));
}

double LatencyUpper(int bin) { return kLatencyLow * std::pow(kLatencyGrowth, bin); }

int ScoreBin(double score) {
  return std::clamp(static_cast<int>(std::floor(score * ShadowTracker::kScoreBins)), 0,
                    ShadowTracker::kScoreBins - 1);
}

// Regression predictions: order-preserving bins of the signed value, one bin for |v| <= 1e-4
// (the middle), then bins 1.86 % wide in |v| up to 1e12 on either side (beyond: the end bins).
constexpr int kRegressionHalf = (ShadowTracker::kRegressionBins - 1) / 2;
constexpr double kRegressionLow = 1e-4;
const double kRegressionLogGrowth = std::log(1e12 / kRegressionLow) / kRegressionHalf;

int RegressionBin(double v) {
  const double a = std::fabs(v);
  if (!(a > kRegressionLow)) return kRegressionHalf;  // also NaN
  const double k = std::min<double>(std::ceil(std::log(a / kRegressionLow) / kRegressionLogGrowth),
                                    kRegressionHalf);
  return kRegressionHalf + (v > 0 ? 1 : -1) * static_cast<int>(std::max(1.0, k));
}

nlohmann::json Sparse(const std::vector<std::uint32_t>& hist) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < hist.size(); ++i) {
    if (hist[i] != 0) out.push_back({i, hist[i]});
  }
  return out;
}

void Unsparse(const nlohmann::json& j, std::vector<std::uint32_t>& hist) {
  for (const auto& e : j) {
    const std::size_t i = e.at(0).get<std::size_t>();
    if (i < hist.size()) hist[i] = e.at(1).get<std::uint32_t>();
  }
}

prometheus::ClientMetric Gauge(std::vector<prometheus::ClientMetric::Label> labels, double v) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  return m;
}

}  // namespace

ShadowTracker::ShadowTracker(const ModelConfig& model, const KeyedHasher& hasher)
    : model_(model),
      shadow_(model.shadow.value_or(ShadowConfig{})),
      hasher_(hasher),
      score_bins_(model.task == Task::kRegression ? kRegressionBins : kScoreBins) {
  for (std::size_t i = 0; i < model_.classes.size(); ++i) {
    class_index_.emplace(model_.classes[i], static_cast<int>(i));
  }
  std::vector<Window> windows = model_.drift.windows;
  if (windows.empty()) {
    windows = {{"1h", Seconds(3600)}, {"24h", Seconds(86400)}};
  }
  const int subs = std::max(1, model_.drift.sub_windows);
  for (const Window& w : windows) {
    Ring ring;
    ring.label = w.label;
    ring.sub_length = static_cast<double>(w.length.count()) / subs;
    ring.buckets.resize(static_cast<std::size_t>(subs));
    rings_.push_back(std::move(ring));
  }
}

int ShadowTracker::ScoreBinOf(double score) const {
  return model_.task == Task::kRegression ? RegressionBin(score) : ScoreBin(score);
}

ShadowTracker::Bucket* ShadowTracker::BucketFor(Ring& ring, double ts) {
  const auto index = static_cast<std::int64_t>(std::floor(ts / ring.sub_length));
  const auto n = static_cast<std::int64_t>(ring.buckets.size());
  const auto newest_index = static_cast<std::int64_t>(std::floor(newest_ / ring.sub_length));
  if (index <= newest_index - n) return nullptr;  // older than the window: drop
  Bucket& b = ring.buckets[static_cast<std::size_t>(((index % n) + n) % n)];
  if (b.index != index) {
    if (b.index > index) return nullptr;
    b = Bucket{};
    b.index = index;
    for (int s = 0; s < 2; ++s) {
      b.score_hist[s].assign(score_bins_, 0);
      b.latency_hist[s].assign(kLatencyBins, 0);
    }
  }
  return &b;
}

void ShadowTracker::AddPair(const Half& champion, const Half& challenger, double ts) {
  ++paired_;
  bool agree;
  if (model_.task == Task::kRegression) {
    agree = std::fabs(challenger.score - champion.score) <= 0.05 * std::fabs(champion.score);
  } else {
    agree = champion.cls == challenger.cls;
  }
  const double x = champion.score, y = challenger.score;
  for (Ring& ring : rings_) {
    Bucket* b = BucketFor(ring, ts);
    if (b == nullptr) continue;
    ++b->pairs;
    b->agree += agree ? 1 : 0;
    b->sx += x;
    b->sy += y;
    b->sxx += x * x;
    b->syy += y * y;
    b->sxy += x * y;
    ++b->score_hist[0][ScoreBinOf(x)];
    ++b->score_hist[1][ScoreBinOf(y)];
  }
}

void ShadowTracker::Expire() {
  const double limit = newest_ - static_cast<double>(shadow_.pairing_timeout.count());
  while (!arrival_.empty() && arrival_.front().first < limit) {
    const auto [ts, key] = arrival_.front();
    arrival_.pop_front();
    auto it = waiting_.find(key);
    if (it != waiting_.end() && it->second.ts == ts) {
      ++unpaired_[it->second.side];
      waiting_.erase(it);
    }
  }
}

void ShadowTracker::Observe(const Record& record) {
  int side;
  if (record.version == shadow_.champion) {
    side = 0;
  } else if (record.version == shadow_.challenger) {
    side = 1;
  } else {
    return;
  }
  if (!has_newest_ || record.timestamp > newest_) {
    newest_ = record.timestamp;
    has_newest_ = true;
  }
  for (Ring& ring : rings_) {
    Bucket* b = BucketFor(ring, record.timestamp);
    if (b == nullptr) continue;
    ++b->records[side];
    if (!record.ok) ++b->errors[side];
    if (record.has_latency) ++b->latency_hist[side][LatencyBin(record.latency_seconds)];
  }
  Expire();
  if (!record.ok || record.request_id.empty()) return;
  Half half;
  half.ts = record.timestamp;
  half.side = side;
  switch (model_.task) {
    case Task::kBinaryClassification:
      if (!record.has_score) return;
      half.score = record.score;
      half.cls = IsPositivePrediction(record, model_.threshold) ? 1 : 0;
      break;
    case Task::kMulticlassClassification: {
      if (record.probabilities.empty()) return;
      auto max = std::max_element(record.probabilities.begin(), record.probabilities.end());
      half.score = *max;
      half.cls = static_cast<int>(max - record.probabilities.begin());
      auto it = class_index_.find(std::string(record.predicted_class));
      if (it != class_index_.end()) half.cls = it->second;
      break;
    }
    case Task::kRegression:
      if (!record.has_prediction) return;
      half.score = record.prediction;
      break;
  }
  const std::uint64_t key = hasher_.Hash(record.request_id);
  const double timeout = static_cast<double>(shadow_.pairing_timeout.count());
  auto it = waiting_.find(key);
  if (it != waiting_.end()) {
    if (it->second.side == side) return;  // a repeated record of the same side
    if (std::fabs(it->second.ts - half.ts) <= timeout) {
      const Half other = it->second;
      waiting_.erase(it);
      const Half& champion = side == 0 ? half : other;
      const Half& challenger = side == 0 ? other : half;
      AddPair(champion, challenger, champion.ts);
      return;
    }
    ++unpaired_[it->second.side];
    waiting_.erase(it);
  }
  waiting_[key] = half;
  arrival_.emplace_back(half.ts, key);
}

std::size_t ShadowTracker::waiting(int side) const {
  std::size_t n = 0;
  for (const auto& [key, half] : waiting_) n += half.side == side ? 1 : 0;
  return n;
}

std::vector<ShadowWindowStats> ShadowTracker::Stats() const {
  std::vector<ShadowWindowStats> out;
  for (const Ring& ring : rings_) {
    ShadowWindowStats s;
    s.window = ring.label;
    const auto newest_index = static_cast<std::int64_t>(std::floor(newest_ / ring.sub_length));
    const auto n = static_cast<std::int64_t>(ring.buckets.size());
    std::int64_t agree = 0;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    std::vector<std::uint64_t> hist[2], lat[2];
    for (int k = 0; k < 2; ++k) {
      hist[k].assign(score_bins_, 0);
      lat[k].assign(kLatencyBins, 0);
    }
    for (const Bucket& b : ring.buckets) {
      if (!has_newest_ || b.index < 0 || b.index <= newest_index - n || b.index > newest_index) {
        continue;
      }
      s.pairs += b.pairs;
      agree += b.agree;
      sx += b.sx;
      sy += b.sy;
      sxx += b.sxx;
      syy += b.syy;
      sxy += b.sxy;
      for (int k = 0; k < 2; ++k) {
        s.records[k] += b.records[k];
        s.errors[k] += b.errors[k];
        for (std::size_t i = 0; i < b.score_hist[k].size(); ++i) hist[k][i] += b.score_hist[k][i];
        for (std::size_t i = 0; i < b.latency_hist[k].size(); ++i)
          lat[k][i] += b.latency_hist[k][i];
      }
    }
    const double p = static_cast<double>(s.pairs);
    s.agreement = s.pairs > 0 ? static_cast<double>(agree) / p : kNaN;
    const double vx = sxx - sx * sx / p, vy = syy - sy * sy / p;
    s.correlation =
        (s.pairs >= 2 && vx > 1e-12 * std::max(1.0, sxx) && vy > 1e-12 * std::max(1.0, syy))
            ? std::clamp((sxy - sx * sy / p) / std::sqrt(vx * vy), -1.0, 1.0)
            : kNaN;
    if (s.pairs > 0) {
      double c0 = 0, c1 = 0, ks = 0;
      for (int i = 0; i < score_bins_; ++i) {
        c0 += static_cast<double>(hist[0][i]);
        c1 += static_cast<double>(hist[1][i]);
        ks = std::max(ks, std::fabs(c0 / p - c1 / p));
      }
      s.ks = ks;
    } else {
      s.ks = kNaN;
    }
    for (int k = 0; k < 2; ++k) {
      s.error_ratio[k] = s.records[k] > 0
                             ? static_cast<double>(s.errors[k]) / static_cast<double>(s.records[k])
                             : kNaN;
      std::uint64_t total = 0;
      for (auto c : lat[k]) total += c;
      s.latency_p99_seconds[k] = kNaN;
      if (total == 0) continue;
      const auto rank = static_cast<std::uint64_t>(std::ceil(0.99 * static_cast<double>(total)));
      std::uint64_t cum = 0;
      for (int i = 0; i < kLatencyBins; ++i) {
        cum += lat[k][i];
        if (cum >= rank) {
          s.latency_p99_seconds[k] = LatencyUpper(i);
          break;
        }
      }
    }
    out.push_back(s);
  }
  return out;
}

void ShadowTracker::Collect(std::vector<prometheus::MetricFamily>& out) const {
  auto agreement = MakeFamily(metric::kModelShadowAgreementRatio);
  auto correlation = MakeFamily(metric::kModelShadowScoreCorrelation);
  auto ks = MakeFamily(metric::kModelShadowScoreKs);
  auto pairs = MakeFamily(metric::kModelShadowPairs);
  auto p99 = MakeFamily(metric::kModelShadowLatencyP99Seconds);
  auto errors = MakeFamily(metric::kModelShadowErrorRatio);
  const std::string& m = model_.name;
  for (const ShadowWindowStats& s : Stats()) {
    const std::vector<prometheus::ClientMetric::Label> base = {{"model", m},
                                                               {"champion", shadow_.champion},
                                                               {"challenger", shadow_.challenger},
                                                               {"window", s.window}};
    pairs.metric.push_back(Gauge(base, static_cast<double>(s.pairs)));
    if (!std::isnan(s.agreement)) agreement.metric.push_back(Gauge(base, s.agreement));
    if (!std::isnan(s.correlation)) correlation.metric.push_back(Gauge(base, s.correlation));
    if (!std::isnan(s.ks)) ks.metric.push_back(Gauge(base, s.ks));
    for (int k = 0; k < 2; ++k) {
      auto labels = base;
      labels.insert(labels.begin() + 3,
                    {"version", k == 0 ? shadow_.champion : shadow_.challenger});
      if (!std::isnan(s.latency_p99_seconds[k])) {
        p99.metric.push_back(Gauge(labels, s.latency_p99_seconds[k]));
      }
      if (!std::isnan(s.error_ratio[k])) errors.metric.push_back(Gauge(labels, s.error_ratio[k]));
    }
  }
  out.push_back(std::move(agreement));
  out.push_back(std::move(correlation));
  out.push_back(std::move(ks));
  out.push_back(std::move(pairs));
  out.push_back(std::move(p99));
  out.push_back(std::move(errors));
  auto unpaired = MakeFamily(metric::kModelShadowUnpairedTotal);
  for (int k = 0; k < 2; ++k) {
    prometheus::ClientMetric c;
    c.label = {{"model", m}, {"version", k == 0 ? shadow_.champion : shadow_.challenger}};
    c.counter.value = static_cast<double>(unpaired_[k]);
    unpaired.metric.push_back(std::move(c));
  }
  out.push_back(std::move(unpaired));
}

std::string ShadowTracker::Signature() const {
  std::string sig = shadow_.champion + "|" + shadow_.challenger + "|" + TaskName(model_.task) +
                    "|bins:" + std::to_string(score_bins_);
  for (const Ring& r : rings_) {
    sig +=
        "|" + r.label + ":" + std::to_string(r.sub_length) + "x" + std::to_string(r.buckets.size());
  }
  return sig;
}

nlohmann::json ShadowTracker::SaveState() const {
  nlohmann::json j;
  j["signature"] = Signature();
  j["newest"] = newest_;
  j["has_newest"] = has_newest_;
  j["paired"] = paired_;
  j["unpaired"] = {unpaired_[0], unpaired_[1]};
  nlohmann::json waiting = nlohmann::json::array();
  for (const auto& [ts, key] : arrival_) {
    auto it = waiting_.find(key);
    if (it == waiting_.end() || it->second.ts != ts) continue;
    waiting.push_back({key, ts, it->second.side, it->second.score, it->second.cls});
  }
  j["waiting"] = std::move(waiting);
  nlohmann::json rings = nlohmann::json::array();
  for (const Ring& r : rings_) {
    nlohmann::json buckets = nlohmann::json::array();
    for (const Bucket& b : r.buckets) {
      if (b.index < 0) continue;
      buckets.push_back({{"i", b.index},
                         {"p", b.pairs},
                         {"a", b.agree},
                         {"s", {b.sx, b.sy, b.sxx, b.syy, b.sxy}},
                         {"r", {b.records[0], b.records[1]}},
                         {"e", {b.errors[0], b.errors[1]}},
                         {"h0", Sparse(b.score_hist[0])},
                         {"h1", Sparse(b.score_hist[1])},
                         {"l0", Sparse(b.latency_hist[0])},
                         {"l1", Sparse(b.latency_hist[1])}});
    }
    rings.push_back(std::move(buckets));
  }
  j["rings"] = std::move(rings);
  return j;
}

Result<void> ShadowTracker::RestoreState(const nlohmann::json& state) {
  if (!state.is_object() || state.value("signature", nlohmann::json()) != Signature()) {
    return MakeError("shadow state was saved with other versions, windows or task");
  }
  try {
    ShadowTracker fresh(model_, hasher_);
    fresh.newest_ = state.at("newest").get<double>();
    fresh.has_newest_ = state.at("has_newest").get<bool>();
    fresh.paired_ = state.at("paired").get<std::uint64_t>();
    fresh.unpaired_[0] = state.at("unpaired").at(0).get<std::uint64_t>();
    fresh.unpaired_[1] = state.at("unpaired").at(1).get<std::uint64_t>();
    for (const auto& w : state.at("waiting")) {
      Half h;
      const auto key = w.at(0).get<std::uint64_t>();
      h.ts = w.at(1).get<double>();
      h.side = w.at(2).get<int>() == 1 ? 1 : 0;
      h.score = w.at(3).get<double>();
      h.cls = w.at(4).get<int>();
      fresh.waiting_[key] = h;
      fresh.arrival_.emplace_back(h.ts, key);
    }
    const auto& rings = state.at("rings");
    for (std::size_t r = 0; r < fresh.rings_.size() && r < rings.size(); ++r) {
      for (const auto& jb : rings[r]) {
        // The middle of the sub-window, so that rounding cannot move it to a neighbour.
        const double mid = (static_cast<double>(jb.at("i").get<std::int64_t>()) + 0.5) *
                           fresh.rings_[r].sub_length;
        Bucket* b = fresh.BucketFor(fresh.rings_[r], mid);
        if (b == nullptr) continue;
        b->index = jb.at("i").get<std::int64_t>();
        b->pairs = jb.at("p").get<std::int64_t>();
        b->agree = jb.at("a").get<std::int64_t>();
        const auto& s = jb.at("s");
        b->sx = s.at(0).get<double>();
        b->sy = s.at(1).get<double>();
        b->sxx = s.at(2).get<double>();
        b->syy = s.at(3).get<double>();
        b->sxy = s.at(4).get<double>();
        for (int k = 0; k < 2; ++k) {
          b->records[k] = jb.at("r").at(k).get<std::int64_t>();
          b->errors[k] = jb.at("e").at(k).get<std::int64_t>();
          Unsparse(jb.at(k == 0 ? "h0" : "h1"), b->score_hist[k]);
          Unsparse(jb.at(k == 0 ? "l0" : "l1"), b->latency_hist[k]);
        }
      }
    }
    *this = std::move(fresh);
  } catch (const nlohmann::json::exception& e) {
    return MakeError(std::string("malformed shadow state: ") + e.what());
  }
  return {};
}

}  // namespace modelwatch
