// The scratch prediction store (PredictionStore::Options::durable false: replay, backtest):
// the SQLite store's tables and indexes as hash maps and ordered maps in memory. Nothing
// survives the process and nothing else reads it, so it needs none of SQLite's durability,
// which was half of a backtest's time.
//
// Its observable behaviour is SqlitePredictionStore's, to the bit (a differential test runs
// both on the same random operations): every return value, every on_labelled row and its
// order, every scan's rows and their order, and every floating-point total, summed in the
// order SQLite sums it. Where SQLite's order follows the index it walks, so does this one:
//
//  - LabelByKey labels a key's rows in insertion order (SQLite's UPDATE collects the
//    rowids, then updates and returns the rows in rowid order);
//  - LabelByEntity visits candidates in (ts, insertion) order (the index on (entity, ts),
//    or on ts without it); rowid order is insertion order;
//  - ForEachLabelled walks (prediction, ts, version, segments, weight, label, insertion);
//  - ForEachLabelledPair by the champion's prediction: that walk; by the challenger's: the
//    champion's rows in (ts, insertion) order, stably sorted by the challenger's prediction
//    (SQLite's sorter keeps equal keys in the order it received them);
//  - ExpirePendingLabels: primary key order, (key as a signed integer, ts); PendingKeys: the
//    index on (unmatched, ts), waiting labels first; per-minute totals are folded into the stored
//    ones when SQLite would write them (at a commit and before MatchTotals), so their rounding is
//    the same.
//
// Like SQLite, it stores -0.0 as 0.0. NaN, which SQLite stores as NULL, is not modelled: the
// tracker's values come from JSON numbers, and labels pass the label parser's finite check.
//
// Memory: what retention keeps: purged and deleted rows are freed. Commit() commits nothing;
// it calls the before-commit callback where the SQLite store would (every batch_size writes).
//
// Not thread-safe: one owner calls everything.
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_MEMORY_PREDICTION_STORE_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_MEMORY_PREDICTION_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exporter/groundtruth/prediction_store.h"

namespace modelwatch {

class MemoryPredictionStore final : public PredictionStore {
 public:
  explicit MemoryPredictionStore(const Options& options);
  ~MemoryPredictionStore() override;

  bool Insert(const StoredPrediction& p) override;
  LabelOutcome LabelByKey(std::uint64_t key, double label, double label_ts) override;
  LabelOutcome LabelByEntity(std::uint64_t entity, double ts, double tolerance,
                             double label) override;
  std::optional<PendingLabel> NearestEntityLabel(std::uint64_t entity, double ts,
                                                 double tolerance) override;
  bool LabelPrediction(std::uint64_t key, std::string_view version, double label,
                       double label_ts) override;
  bool AddPendingLabel(const PendingLabel& label, bool unmatched) override;
  std::vector<PendingLabel> PendingLabels(std::uint64_t key) override;
  std::vector<PendingLabel> ExpirePendingLabels(double before) override;
  void MarkPendingMatched(std::uint64_t key, double ts) override;
  std::int64_t CountWaitingLabels() override;
  std::vector<std::uint64_t> PendingKeys() override;
  void Purge(double unlabelled_before, double labelled_before, double other_before) override;

  void ForEachLabelled(double since, const std::function<void(const LabelledRow&)>& fn) override;
  void ForEachLabelledPair(
      std::string_view champion, std::string_view challenger, double since,
      bool order_by_challenger,
      const std::function<void(double, double, double, double, double)>& fn) override;
  std::pair<double, double> MatchTotals(double from, double to, double exact_from) override;

  std::int64_t DeleteAfter(double ts) override;
  double NewestTimestamp() override;
  std::int64_t CountPredictions() override;
  std::string GetMeta(const std::string& name) override;
  void SetMeta(const std::string& name, const std::string& value) override;
  bool Commit() override;
  void MaybeCommit() override;

 private:
  // A row of the predictions table; `id` is its insertion order (SQLite's rowid order).
  struct Row {
    std::uint64_t key = 0;
    std::uint64_t entity = 0;
    std::uint64_t id = 0;
    double ts = 0;
    double prediction = 0;
    double weight = 1;
    double label = 0;
    double label_ts = 0;
    bool labelled = false;
    std::string version;
    std::string segments;
  };
  // The order of the covering index of labelled rows: (prediction, ts, version, segments,
  // weight, label, insertion order).
  struct LabelledOrder {
    bool operator()(const Row* a, const Row* b) const {
      return std::tie(a->prediction, a->ts, a->version, a->segments, a->weight, a->label, a->id) <
             std::tie(b->prediction, b->ts, b->version, b->segments, b->weight, b->label, b->id);
    }
  };
  using TsKey = std::pair<double, std::uint64_t>;                      // (ts, insertion order)
  using EntityKey = std::tuple<std::uint64_t, double, std::uint64_t>;  // (entity, ts, id)
  using PendingKey = std::pair<std::int64_t, double>;  // (key as SQLite's integer, ts)
  struct Pending {
    double ts = 0;
    double label = 0;
    int unmatched = 0;  // 0 waiting, 1 given up on, 2 matched after waiting
  };
  using ExpiryKey = std::tuple<int, double, std::int64_t>;  // (unmatched, ts, key)

  void BeginIfNeeded() { in_txn_ = true; }
  void Wrote();
  void AddMinute(double ts, double total, double labelled);
  void FlushMinutes();
  // Sets a row's label, keeping the labelled index in step.
  void SetLabel(Row& row, double label, double label_ts);
  // Builds the labelled index if no scan has yet.
  void IndexLabelled();
  // Books a row LabelByKey() or LabelPrediction() labelled (minute totals, on_labelled_).
  void Labelled(const Row& row);
  // Removes a row from every index and frees it.
  void Erase(Row* row);
  // The kept label (key, ts), or null.
  Pending* FindPending(std::int64_t key, double ts);
  void SetUnmatched(std::int64_t key, Pending& label, int unmatched);

  Options options_;
  bool in_txn_ = false;
  bool in_before_commit_ = false;
  std::size_t writes_ = 0;
  std::uint64_t next_id_ = 1;

  // predictions: per key, its rows (one per version) in insertion order.
  std::unordered_map<std::uint64_t, std::vector<std::unique_ptr<Row>>> by_key_;
  std::map<TsKey, Row*> by_ts_;             // every row
  std::map<TsKey, Row*> unlabelled_by_ts_;  // rows without a label
  // Rows with a label, in the order of SQLite's covering index, for the scans. Built at the
  // first scan and kept in step from then on: a replay that keeps its performance up to date
  // row by row (SlidingPerformance) without a shadow model never scans, and keeping this
  // ordered set of millions of rows was a quarter of its time.
  std::set<Row*, LabelledOrder> labelled_;
  bool labelled_indexed_ = false;
  std::map<EntityKey, Row*> by_entity_;  // Options::entity_index only
  std::size_t rows_ = 0;

  // pending_labels: per key, its labels in ts order; and its index on (unmatched, ts).
  std::unordered_map<std::int64_t, std::vector<Pending>> pending_;
  std::set<ExpiryKey> expiry_;
  std::int64_t waiting_ = 0;

  // minute_totals, and the totals accumulated until the next commit (as SQLite's store).
  std::map<std::int64_t, std::pair<double, double>> minute_totals_;
  std::unordered_map<std::int64_t, std::pair<double, double>> minutes_;

  std::map<std::string, std::string, std::less<>> meta_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_MEMORY_PREDICTION_STORE_H_
