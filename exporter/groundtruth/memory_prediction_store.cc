#include "exporter/groundtruth/memory_prediction_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

namespace modelwatch {
namespace {

// SQLite stores a REAL -0.0 as the integer 0, and reads it back as 0.0.
double Norm(double x) { return x + 0.0; }

std::int64_t ToSql(std::uint64_t v) { return static_cast<std::int64_t>(v); }
std::uint64_t FromSql(std::int64_t v) { return static_cast<std::uint64_t>(v); }

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

// Orders a key's kept labels by ts (for std::lower_bound).
constexpr auto TsBefore = [](const auto& label, double ts) { return label.ts < ts; };

}  // namespace

MemoryPredictionStore::MemoryPredictionStore(const Options& options) : options_(options) {}

MemoryPredictionStore::~MemoryPredictionStore() { Commit(); }

void MemoryPredictionStore::Wrote() {
  if (++writes_ >= options_.batch_size && options_.auto_commit) Commit();
}

void MemoryPredictionStore::MaybeCommit() {
  if (writes_ >= options_.batch_size) Commit();
}

bool MemoryPredictionStore::Commit() {
  // As the SQLite scratch store: a "commit" every batch_size writes, which is when the
  // minute totals are folded into the stored ones and the before-commit callback runs.
  if (!in_txn_ || in_before_commit_) return true;
  if (writes_ < options_.batch_size) return true;
  FlushMinutes();
  if (before_commit_) {
    in_before_commit_ = true;
    before_commit_();
    in_before_commit_ = false;
  }
  writes_ = 0;
  in_txn_ = false;
  return true;
}

void MemoryPredictionStore::AddMinute(double ts, double total, double labelled) {
  auto& m = minutes_[static_cast<std::int64_t>(std::floor(ts / 60))];
  m.first += total;
  m.second += labelled;
}

void MemoryPredictionStore::FlushMinutes() {
  for (const auto& [minute, totals] : minutes_) {
    auto [it, inserted] = minute_totals_.try_emplace(minute, totals);
    if (!inserted) {
      it->second.first = it->second.first + totals.first;
      it->second.second = it->second.second + totals.second;
    }
  }
  minutes_.clear();
}

bool MemoryPredictionStore::Insert(const StoredPrediction& p) {
  BeginIfNeeded();
  auto& rows = by_key_[p.key];
  const bool inserted = std::none_of(rows.begin(), rows.end(), [&](const std::unique_ptr<Row>& r) {
    return r->version == p.version;
  });
  if (inserted) {
    auto row = std::make_unique<Row>();
    row->key = p.key;
    row->entity = p.entity;
    row->id = next_id_++;
    row->ts = Norm(p.timestamp);
    row->prediction = Norm(p.prediction);
    row->weight = Norm(p.weight);
    row->version = std::string(p.version);
    row->segments = std::string(p.segments);
    Row* r = row.get();
    rows.push_back(std::move(row));
    by_ts_.emplace(TsKey{r->ts, r->id}, r);
    unlabelled_by_ts_.emplace(TsKey{r->ts, r->id}, r);
    if (options_.entity_index) by_entity_.emplace(EntityKey{r->entity, r->ts, r->id}, r);
    ++rows_;
    AddMinute(p.timestamp, p.weight, 0);
  }
  Wrote();
  return inserted;
}

void MemoryPredictionStore::SetLabel(Row& row, double label, double label_ts) {
  if (row.labelled) {
    if (labelled_indexed_) labelled_.erase(&row);
  } else {
    unlabelled_by_ts_.erase(TsKey{row.ts, row.id});
  }
  row.label = Norm(label);
  row.label_ts = Norm(label_ts);
  row.labelled = true;
  if (labelled_indexed_) labelled_.insert(&row);
}

void MemoryPredictionStore::IndexLabelled() {
  if (labelled_indexed_) return;
  for (const auto& [ts_key, row] : by_ts_) {
    if (row->labelled) labelled_.insert(row);
  }
  labelled_indexed_ = true;
}

void MemoryPredictionStore::Labelled(const Row& row) {
  AddMinute(row.ts, 0, row.weight);
  if (!on_labelled_) return;
  LabelledRow out;
  out.timestamp = row.ts;
  out.weight = row.weight;
  out.version = row.version;
  out.prediction = row.prediction;
  out.segments = row.segments;
  out.label = row.label;
  on_labelled_(out);
}

LabelOutcome MemoryPredictionStore::LabelByKey(std::uint64_t key, double label, double label_ts) {
  BeginIfNeeded();
  const auto it = by_key_.find(key);
  // SQLite's UPDATE ... RETURNING labels every row (in rowid order: it collects the rowids
  // first) before it returns the first.
  std::vector<Row*> labelled;
  if (it != by_key_.end()) {
    for (const auto& row : it->second) {
      if (row->labelled) continue;
      SetLabel(*row, label, label_ts);
      labelled.push_back(row.get());
    }
  }
  for (Row* row : labelled) Labelled(*row);
  Wrote();
  if (!labelled.empty()) return LabelOutcome::kMatched;
  if (it == by_key_.end()) return LabelOutcome::kNoPrediction;
  for (const auto& row : it->second) {
    if (row->labelled && row->label_ts == label_ts && row->label == label) {
      return LabelOutcome::kSeen;
    }
  }
  return it->second.empty() ? LabelOutcome::kNoPrediction : LabelOutcome::kDuplicate;
}

LabelOutcome MemoryPredictionStore::LabelByEntity(std::uint64_t entity, double ts, double tolerance,
                                                  double label) {
  BeginIfNeeded();
  const double lo = ts - tolerance, hi = ts + tolerance;
  // In SQLite's order: the index on (entity, ts), or without it the one on ts.
  std::vector<Row*> candidates;
  if (options_.entity_index) {
    for (auto it = by_entity_.lower_bound(EntityKey{entity, lo, 0});
         it != by_entity_.end() && std::get<0>(it->first) == entity && std::get<1>(it->first) <= hi;
         ++it) {
      candidates.push_back(it->second);
    }
  } else {
    for (auto it = by_ts_.lower_bound(TsKey{lo, 0}); it != by_ts_.end() && it->first.first <= hi;
         ++it) {
      if (it->second->entity == entity) candidates.push_back(it->second);
    }
  }
  if (candidates.empty()) return LabelOutcome::kNoPrediction;
  bool changed = false;
  for (Row* c : candidates) {
    const bool was_labelled = c->labelled;
    if (was_labelled) {
      // The label nearest in time to the prediction stands; on a tie, the earlier label.
      const double now = std::fabs(c->ts - c->label_ts), offered = std::fabs(c->ts - ts);
      if (offered > now || (offered == now && ts >= c->label_ts)) continue;
    }
    SetLabel(*c, label, ts);
    if (!was_labelled) AddMinute(c->ts, 0, c->weight);
    changed = true;
  }
  Wrote();
  return changed ? LabelOutcome::kMatched : LabelOutcome::kDuplicate;
}

std::optional<PendingLabel> MemoryPredictionStore::NearestEntityLabel(std::uint64_t entity,
                                                                      double ts, double tolerance) {
  std::optional<PendingLabel> best;
  const std::int64_t key = ToSql(entity);
  const double hi = ts + tolerance;
  const auto found = pending_.find(key);
  if (found == pending_.end()) return best;
  const std::vector<Pending>& labels = found->second;
  for (auto it = std::lower_bound(labels.begin(), labels.end(), ts - tolerance, TsBefore);
       it != labels.end() && it->ts <= hi; ++it) {
    if (it->unmatched == 1) continue;
    PendingLabel l{entity, it->ts, it->label, it->unmatched == 0};
    const double d = std::fabs(l.timestamp - ts);
    if (!best || d < std::fabs(best->timestamp - ts) ||
        (d == std::fabs(best->timestamp - ts) && l.timestamp < best->timestamp)) {
      best = l;
    }
  }
  return best;
}

bool MemoryPredictionStore::LabelPrediction(std::uint64_t key, std::string_view version,
                                            double label, double label_ts) {
  BeginIfNeeded();
  bool labelled = false;
  if (const auto it = by_key_.find(key); it != by_key_.end()) {
    for (const auto& row : it->second) {
      if (row->version != version || row->labelled) continue;
      SetLabel(*row, label, label_ts);
      Labelled(*row);
      labelled = true;
    }
  }
  Wrote();
  return labelled;
}

MemoryPredictionStore::Pending* MemoryPredictionStore::FindPending(std::int64_t key, double ts) {
  const auto found = pending_.find(key);
  if (found == pending_.end()) return nullptr;
  std::vector<Pending>& labels = found->second;
  const auto it = std::lower_bound(labels.begin(), labels.end(), ts, TsBefore);
  return it != labels.end() && it->ts == ts ? &*it : nullptr;
}

void MemoryPredictionStore::SetUnmatched(std::int64_t key, Pending& label, int unmatched) {
  const int old = label.unmatched;
  if (old == unmatched) return;
  expiry_.erase(ExpiryKey{old, label.ts, key});
  expiry_.emplace(unmatched, label.ts, key);
  label.unmatched = unmatched;
  if (old == 0) --waiting_;
  if (unmatched == 0) ++waiting_;
}

bool MemoryPredictionStore::AddPendingLabel(const PendingLabel& label, bool unmatched) {
  BeginIfNeeded();
  const int state = unmatched ? 1 : 0;
  const std::int64_t key = ToSql(label.key);
  const double ts = Norm(label.timestamp);
  std::vector<Pending>& labels = pending_[key];
  const auto it = std::lower_bound(labels.begin(), labels.end(), ts, TsBefore);
  const bool added = it == labels.end() || it->ts != ts;
  if (added) {
    labels.insert(it, Pending{ts, Norm(label.label), state});
    expiry_.emplace(state, ts, key);
    if (state == 0) ++waiting_;
  }
  Wrote();
  return added;
}

std::vector<PendingLabel> MemoryPredictionStore::PendingLabels(std::uint64_t key) {
  std::vector<PendingLabel> out;
  const auto found = pending_.find(ToSql(key));
  if (found == pending_.end()) return out;
  for (const Pending& l : found->second) {
    if (l.unmatched != 1) out.push_back({key, l.ts, l.label, l.unmatched == 0});
  }
  return out;
}

void MemoryPredictionStore::MarkPendingMatched(std::uint64_t key, double ts) {
  BeginIfNeeded();
  if (Pending* label = FindPending(ToSql(key), ts)) SetUnmatched(ToSql(key), *label, 2);
  Wrote();
}

std::int64_t MemoryPredictionStore::CountWaitingLabels() { return waiting_; }

std::vector<PendingLabel> MemoryPredictionStore::ExpirePendingLabels(double before) {
  BeginIfNeeded();
  std::vector<PendingLabel> out;
  // SQLite finds them on the index on (unmatched, ts), collects their primary keys and
  // updates (and returns) them in primary key order: (key as a signed integer, ts).
  std::vector<PendingKey> expired;
  for (auto it =
           expiry_.lower_bound(ExpiryKey{0, kMinusInf, std::numeric_limits<std::int64_t>::min()});
       it != expiry_.end() && std::get<0>(*it) == 0 && std::get<1>(*it) < before; ++it) {
    expired.emplace_back(std::get<2>(*it), std::get<1>(*it));
  }
  std::sort(expired.begin(), expired.end());
  for (const PendingKey& k : expired) {
    Pending* label = FindPending(k.first, k.second);
    out.push_back({FromSql(k.first), k.second, label->label});
    SetUnmatched(k.first, *label, 1);
  }
  Wrote();
  return out;
}

std::vector<std::uint64_t> MemoryPredictionStore::PendingKeys() {
  // As SQLite's DISTINCT over the index on (unmatched, ts): waiting labels, then matched ones.
  std::vector<std::uint64_t> out;
  std::unordered_set<std::int64_t> seen;
  for (const int state : {0, 2}) {
    for (auto it = expiry_.lower_bound(
             ExpiryKey{state, kMinusInf, std::numeric_limits<std::int64_t>::min()});
         it != expiry_.end() && std::get<0>(*it) == state; ++it) {
      if (seen.insert(std::get<2>(*it)).second) out.push_back(FromSql(std::get<2>(*it)));
    }
  }
  return out;
}

void MemoryPredictionStore::Erase(Row* row) {
  by_ts_.erase(TsKey{row->ts, row->id});
  if (row->labelled) {
    if (labelled_indexed_) labelled_.erase(row);
  } else {
    unlabelled_by_ts_.erase(TsKey{row->ts, row->id});
  }
  if (options_.entity_index) by_entity_.erase(EntityKey{row->entity, row->ts, row->id});
  --rows_;
  const auto it = by_key_.find(row->key);
  auto& rows = it->second;
  rows.erase(std::find_if(rows.begin(), rows.end(),
                          [row](const std::unique_ptr<Row>& r) { return r.get() == row; }));
  if (rows.empty()) by_key_.erase(it);
}

void MemoryPredictionStore::Purge(double unlabelled_before, double labelled_before,
                                  double other_before) {
  BeginIfNeeded();
  while (!unlabelled_by_ts_.empty() && unlabelled_by_ts_.begin()->first.first < unlabelled_before) {
    Erase(unlabelled_by_ts_.begin()->second);
  }
  while (!by_ts_.empty() && by_ts_.begin()->first.first < labelled_before) {
    Erase(by_ts_.begin()->second);
  }
  const double minute = std::floor(other_before / 60);
  while (!minute_totals_.empty() && static_cast<double>(minute_totals_.begin()->first) < minute) {
    minute_totals_.erase(minute_totals_.begin());
  }
  // Every kept label older than other_before goes, whatever its state: the oldest of each
  // key's labels.
  std::vector<std::int64_t> keys;
  for (const int state : {0, 1, 2}) {
    auto it =
        expiry_.lower_bound(ExpiryKey{state, kMinusInf, std::numeric_limits<std::int64_t>::min()});
    while (it != expiry_.end() && std::get<0>(*it) == state && std::get<1>(*it) < other_before) {
      keys.push_back(std::get<2>(*it));
      if (state == 0) --waiting_;
      it = expiry_.erase(it);
    }
  }
  for (const std::int64_t key : keys) {
    const auto found = pending_.find(key);
    if (found == pending_.end()) continue;  // done already
    std::vector<Pending>& labels = found->second;
    labels.erase(labels.begin(),
                 std::lower_bound(labels.begin(), labels.end(), other_before, TsBefore));
    if (labels.empty()) pending_.erase(found);
  }
  Commit();
}

void MemoryPredictionStore::ForEachLabelled(double since,
                                            const std::function<void(const LabelledRow&)>& fn) {
  IndexLabelled();
  LabelledRow out;
  for (const Row* row : labelled_) {
    if (row->ts < since) continue;
    out.version = row->version;
    out.timestamp = row->ts;
    out.prediction = row->prediction;
    out.segments = row->segments;
    out.weight = row->weight;
    out.label = row->label;
    fn(out);
  }
}

void MemoryPredictionStore::ForEachLabelledPair(
    std::string_view champion, std::string_view challenger, double since, bool order_by_challenger,
    const std::function<void(double, double, double, double, double)>& fn) {
  auto partner = [&](const Row& a) -> const Row* {
    const auto it = by_key_.find(a.key);
    for (const auto& b : it->second) {
      if (b->version == challenger) return b.get();
    }
    return nullptr;
  };
  IndexLabelled();
  if (!order_by_challenger) {
    // SQLite walks the labelled index (champion's prediction order) and looks each partner up.
    for (const Row* a : labelled_) {
      if (a->version != champion || a->ts < since) continue;
      if (const Row* b = partner(*a)) fn(a->prediction, b->prediction, a->label, a->weight, a->ts);
    }
    return;
  }
  // SQLite walks the champion's rows by ts and sorts the pairs by the challenger's prediction,
  // equal ones in the order they came.
  struct Pair {
    double a, b, label, weight, ts;
  };
  std::vector<Pair> pairs;
  for (auto it = by_ts_.lower_bound(TsKey{since, 0}); it != by_ts_.end(); ++it) {
    const Row& a = *it->second;
    if (a.version != champion || !a.labelled) continue;
    if (const Row* b = partner(a))
      pairs.push_back({a.prediction, b->prediction, a.label, a.weight, a.ts});
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Pair& x, const Pair& y) { return x.b < y.b; });
  for (const Pair& p : pairs) fn(p.a, p.b, p.label, p.weight, p.ts);
}

std::pair<double, double> MemoryPredictionStore::MatchTotals(double from, double to,
                                                             double exact_from) {
  FlushMinutes();
  std::pair<double, double> out{0, 0};
  // As SQLite's total(): summed in the order of the index it walks.
  auto rows = [&](double lo, double hi) {
    double total = 0, labelled = 0;
    for (auto it = by_ts_.lower_bound(TsKey{lo, 0}); it != by_ts_.end() && it->first.first < hi;
         ++it) {
      total += it->second->weight;
      labelled += it->second->labelled ? it->second->weight : 0.0;
    }
    out.first += total;
    out.second += labelled;
  };
  auto minutes = [&](double lo, double hi) {
    double total = 0, labelled = 0;
    for (auto it = minute_totals_.lower_bound(static_cast<std::int64_t>(std::ceil(lo)));
         it != minute_totals_.end() && static_cast<double>(it->first) <= hi; ++it) {
      total += it->second.first;
      labelled += it->second.second;
    }
    out.first += total;
    out.second += labelled;
  };
  if (to < from) return out;
  // The same split as the SQLite store's (see QueryMatchTotals there).
  const double to_end = std::nextafter(to, std::numeric_limits<double>::infinity());
  const double first = std::floor(from / 60);
  const double last = std::floor(to / 60);
  if (first == last) {
    if (from >= exact_from) {
      rows(from, to_end);
    } else {
      minutes(first, first);
    }
    return out;
  }
  if (from >= exact_from) {
    rows(from, (first + 1) * 60);
  } else {
    minutes(first, first);
  }
  if (last - 1 >= first + 1) minutes(first + 1, last - 1);
  if (last * 60 >= exact_from) {
    rows(last * 60, to_end);
  } else {
    minutes(last, last);
  }
  return out;
}

std::int64_t MemoryPredictionStore::DeleteAfter(double ts) {
  BeginIfNeeded();
  std::int64_t deleted = 0;
  while (!by_ts_.empty() && std::prev(by_ts_.end())->first.first > ts) {
    Erase(std::prev(by_ts_.end())->second);
    ++deleted;
  }
  const double minute = std::floor(ts / 60);
  while (!minute_totals_.empty() &&
         static_cast<double>(std::prev(minute_totals_.end())->first) > minute) {
    minute_totals_.erase(std::prev(minute_totals_.end()));
  }
  Commit();
  return deleted;
}

double MemoryPredictionStore::NewestTimestamp() {
  return by_ts_.empty() ? NAN : std::prev(by_ts_.end())->first.first;
}

std::int64_t MemoryPredictionStore::CountPredictions() { return static_cast<std::int64_t>(rows_); }

std::string MemoryPredictionStore::GetMeta(const std::string& name) {
  const auto it = meta_.find(name);
  return it == meta_.end() ? std::string() : it->second;
}

void MemoryPredictionStore::SetMeta(const std::string& name, const std::string& value) {
  BeginIfNeeded();
  meta_[name] = value;
  Wrote();
}

}  // namespace modelwatch
