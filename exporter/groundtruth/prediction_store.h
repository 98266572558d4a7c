// The store behind the ground-truth join. PredictionStore is its interface, with two
// implementations of exactly the same observable behaviour:
//
//  - SqlitePredictionStore (below): an SQLite database in WAL mode, the daemon's durable
//    store, read concurrently by PredictionStoreReader.
//  - MemoryPredictionStore (memory_prediction_store.h): hash maps and ordered indexes in
//    memory, for a scratch store (Options::durable false: replay, backtest), which never
//    survives its process and has no second reader. PredictionStore::Open picks it.
//
// A store holds only what the join and the performance metrics need, one row per (request
// key, version): the keyed hash of the request id (never the id itself), the keyed hash of the
// entity id, the event time, the version, the prediction (binary score, multiclass class index
// or regression value), the configured segment values, a sampling weight, and — once joined —
// the label. A second table keeps labels that arrived before their prediction; a third keeps
// per-minute prediction/label weight totals for the label match ratio, so that unlabelled rows
// can be dropped after `delay + buffer` while the ratio's window stays longer.
//
// Writes are batched: the first write opens a transaction that Commit() (or every
// `batch_size` writes) commits. Inserts are idempotent (INSERT OR IGNORE on the key), so
// re-reading log lines after a restart stores nothing twice.
//
// Not thread-safe: one owner calls everything.
#ifndef MODELWATCH_EXPORTER_GROUNDTRUTH_PREDICTION_STORE_H_
#define MODELWATCH_EXPORTER_GROUNDTRUTH_PREDICTION_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace modelwatch {

struct StoredPrediction {
  std::uint64_t key = 0;     // keyed hash of the request id (or of entity id + time)
  std::uint64_t entity = 0;  // keyed hash of the entity id; 0 when absent
  double timestamp = 0;      // event time, Unix seconds
  std::string_view version;
  double prediction = 0;      // binary score, multiclass class index, regression value
  std::string_view segments;  // encoded segment values (see GroundTruthTracker)
  double weight = 1;          // 1 / sampling probability
};

// A labelled prediction as the performance computation reads it.
struct LabelledRow {
  std::string_view version;
  double timestamp = 0;
  double prediction = 0;
  std::string_view segments;
  double weight = 1;
  double label = 0;
};

struct PendingLabel {
  std::uint64_t key = 0;  // request key, or entity hash for entity joins
  double timestamp = 0;
  double label = 0;
  bool waiting = true;  // false: matched already (kept for other versions' predictions)
};

enum class LabelOutcome {
  kMatched,       // at least one stored prediction received the label
  kDuplicate,     // the matching predictions were labelled already
  kNoPrediction,  // nothing stored matches (yet)
  kSeen,          // this very label (same time and value) is applied already: a re-read
};

// What the performance computation reads from a store. ForEachLabelled walks a covering
// index of the labelled rows in prediction order; ForEachLabelledPair streams its rows through
// SQLite's sorter, whose memory is bounded by the connection's page-cache size (it spills
// sorted runs to temporary files, temp_store=FILE). No call holds the rows themselves.
class LabelledRowSource {
 public:
  virtual ~LabelledRowSource() = default;

  // Calls `fn` for every labelled prediction with timestamp >= `since`, in ascending
  // prediction order (equal ones by ts, version, segments, weight, label, then insertion:
  // the covering index's order). The row's views are valid during the call only.
  virtual void ForEachLabelled(double since, const std::function<void(const LabelledRow&)>& fn) = 0;

  // Calls `fn(champion_prediction, challenger_prediction, label, weight, champion_ts)` for every
  // labelled request stored for both versions with champion timestamp >= `since`, in
  // ascending order of the champion's (or, with `order_by_challenger`, the challenger's)
  // prediction. Equal ones: by the champion's row as ForEachLabelled orders it; with
  // `order_by_challenger`, by the champion's (ts, insertion) (SQLite's sorter is stable).
  virtual void ForEachLabelledPair(
      std::string_view champion, std::string_view challenger, double since,
      bool order_by_challenger,
      const std::function<void(double, double, double, double, double)>& fn) = 0;

  // Sum of weights of predictions and of labelled predictions with a timestamp in [from, to].
  // Exact (from the stored rows) where ts >= `exact_from`, below which unlabelled rows may
  // have been purged; there whole minutes are counted from the per-minute totals (the minute
  // of `from` included).
  virtual std::pair<double, double> MatchTotals(double from, double to, double exact_from) = 0;
};

class PredictionStore : public LabelledRowSource {
 public:
  struct Options {
    std::size_t batch_size = 20000;  // writes per transaction before an automatic commit
    bool entity_index = false;       // index (entity, ts) for entity_id joins
    // false: a full batch commits only at MaybeCommit(), so that a caller can commit between
    // its own operations, never in the middle of one.
    bool auto_commit = true;
    // false: a scratch store a one-off command throws away: a MemoryPredictionStore, not the
    // database at the path (see Open()).
    bool durable = true;
  };

  // Checks an existing database file with SQLite's quick_check, read-only. Returns an error
  // describing the damage when it is not a sound database (a missing file is sound).
  static Result<void> Check(const std::string& path);

  // Opens or creates the SQLite database at `path` (its directory must exist); with
  // `options.durable` false, a new, empty MemoryPredictionStore instead (`path` unused).
  static Result<std::unique_ptr<PredictionStore>> Open(const std::string& path,
                                                       const Options& options);
  // Implementations commit pending writes.
  ~PredictionStore() override = default;
  PredictionStore(const PredictionStore&) = delete;
  PredictionStore& operator=(const PredictionStore&) = delete;

  // Stores a prediction unless (key, version) is stored already. Returns true when new.
  virtual bool Insert(const StoredPrediction& p) = 0;

  // Labels every unlabelled prediction with `key` (all versions, in the order they were
  // stored: on_labelled sees them so). kSeen when nothing changed and a prediction with `key`
  // carries this label (same value and label time) already.
  virtual LabelOutcome LabelByKey(std::uint64_t key, double label, double label_ts) = 0;

  // Offers a label at `ts` to every prediction of `entity` (all versions) within `tolerance`
  // seconds: each takes the label nearest in time to it (on a tie, the earlier label), so the
  // result does not depend on the order labels arrive in. kMatched: some prediction took it;
  // kDuplicate: each already has a label at least as near.
  virtual LabelOutcome LabelByEntity(std::uint64_t entity, double ts, double tolerance,
                                     double label) = 0;
  // The kept label of `entity` (waiting or matched, not given up on) nearest in time to `ts`
  // within `tolerance` (on a tie, the earlier one), for a prediction that arrives after it.
  virtual std::optional<PendingLabel> NearestEntityLabel(std::uint64_t entity, double ts,
                                                         double tolerance) = 0;
  // Labels the prediction (key, version) if it has no label yet; true when it did.
  virtual bool LabelPrediction(std::uint64_t key, std::string_view version, double label,
                               double label_ts) = 0;

  // Keeps a label that matched nothing. `unmatched` false: waiting for its prediction;
  // true: given up on (kept only so that re-reading it is recognised). Returns false when
  // (key, ts) is kept already.
  virtual bool AddPendingLabel(const PendingLabel& label, bool unmatched) = 0;
  // Labels for `key` that are waiting or were matched after waiting (a later prediction of
  // another version for the same request still needs them), oldest first.
  virtual std::vector<PendingLabel> PendingLabels(std::uint64_t key) = 0;
  // Waiting labels with ts < `before`: marks them given up on and returns them, ordered by
  // (key as a signed 64-bit integer, ts).
  virtual std::vector<PendingLabel> ExpirePendingLabels(double before) = 0;
  // Marks a kept label as matched (kept until purged, for later versions' predictions).
  virtual void MarkPendingMatched(std::uint64_t key, double ts) = 0;
  // Labels waiting for a prediction (neither matched nor given up on).
  virtual std::int64_t CountWaitingLabels() = 0;
  // Keys of all waiting or matched-after-waiting labels (to rebuild an in-memory filter).
  virtual std::vector<std::uint64_t> PendingKeys() = 0;

  // Deletes unlabelled predictions older than `unlabelled_before`, all predictions older than
  // `labelled_before`, minute totals and pending labels (whatever their state) older than
  // `other_before`; then Commit().
  virtual void Purge(double unlabelled_before, double labelled_before, double other_before) = 0;

  // Deletes predictions and minute totals with an event time after `ts` (rows a future-dated
  // record left behind) and commits. Returns the number of predictions deleted.
  virtual std::int64_t DeleteAfter(double ts) = 0;

  // Newest prediction timestamp stored, or nullopt-like NaN when empty.
  virtual double NewestTimestamp() = 0;
  virtual std::int64_t CountPredictions() = 0;

  virtual std::string GetMeta(const std::string& name) = 0;
  virtual void SetMeta(const std::string& name, const std::string& value) = 0;

  // Commits the open transaction, if any; a scratch store (durable false) only once it holds
  // batch_size writes. Returns false on failure (see last_error()).
  virtual bool Commit() = 0;
  // Commits when the open transaction holds batch_size writes or more.
  virtual void MaybeCommit() = 0;
  // Called inside every transaction just before it commits (e.g. to store counters that must
  // stay consistent with the data).
  void SetBeforeCommit(std::function<void()> fn) { before_commit_ = std::move(fn); }
  // Called with every row LabelByKey() or LabelPrediction() labels, as it is labelled (for
  // performance kept up to date row by row). LabelByEntity() does not call it: an entity join
  // may move a label to a nearer prediction, which is not an addition.
  void SetOnLabelled(std::function<void(const LabelledRow&)> fn) { on_labelled_ = std::move(fn); }

  std::uint64_t errors() const { return errors_; }
  const std::string& last_error() const { return last_error_; }
  // True when an error since Open() said the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB).
  bool corrupt() const { return corrupt_; }

 protected:
  PredictionStore() = default;

  std::function<void()> before_commit_;
  std::function<void(const LabelledRow&)> on_labelled_;
  std::uint64_t errors_ = 0;
  std::string last_error_;
  bool corrupt_ = false;
};

// The SQLite implementation: a database in WAL mode (durable), or, with Options::durable
// false, SQLite's private temporary database (what scratch stores used before
// MemoryPredictionStore; kept to prove the two equivalent).
class SqlitePredictionStore final : public PredictionStore {
 public:
  // Opens or creates the database at `path` (its directory must exist). A scratch store
  // (durable false) is SQLite's private temporary database instead.
  static Result<std::unique_ptr<SqlitePredictionStore>> Open(const std::string& path,
                                                             const Options& options);
  // Commits pending writes.
  ~SqlitePredictionStore() override;

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

  // LabelledRowSource, on the writing connection: sees writes not committed yet. Its sorts
  // are bounded by this connection's 64 MiB page cache.
  void ForEachLabelled(double since, const std::function<void(const LabelledRow&)>& fn) override;
  void ForEachLabelledPair(
      std::string_view champion, std::string_view challenger, double since,
      bool order_by_challenger,
      const std::function<void(double, double, double, double, double)>& fn) override;
  // Writes the minute totals kept in memory first (in the open transaction).
  std::pair<double, double> MatchTotals(double from, double to, double exact_from) override;

  std::int64_t DeleteAfter(double ts) override;
  double NewestTimestamp() override;
  std::int64_t CountPredictions() override;
  std::string GetMeta(const std::string& name) override;
  void SetMeta(const std::string& name, const std::string& value) override;
  bool Commit() override;
  void MaybeCommit() override;

 private:
  SqlitePredictionStore() = default;
  bool Exec(const char* sql);
  sqlite3_stmt* Prepare(const char* sql);
  void BeginIfNeeded();
  void Wrote();
  void Fail(const char* what);
  void AddMinute(double ts, double total, double labelled);
  void FlushMinutes();

  sqlite3* db_ = nullptr;
  Options options_;
  bool in_txn_ = false;
  bool in_before_commit_ = false;
  // Books a row an UPDATE ... RETURNING labelled (minute totals, on_labelled_).
  void Labelled(sqlite3_stmt* st);
  std::size_t writes_ = 0;
  std::vector<sqlite3_stmt*> statements_;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* label_key_ = nullptr;
  sqlite3_stmt* has_key_ = nullptr;
  sqlite3_stmt* seen_key_ = nullptr;
  sqlite3_stmt* nearest_ = nullptr;
  sqlite3_stmt* label_row_ = nullptr;
  sqlite3_stmt* relabel_ = nullptr;
  sqlite3_stmt* entity_labels_ = nullptr;
  sqlite3_stmt* add_pending_ = nullptr;
  sqlite3_stmt* get_pending_ = nullptr;
  sqlite3_stmt* del_pending_ = nullptr;
  sqlite3_stmt* upsert_minute_ = nullptr;
  // Minute totals accumulated in memory until the next commit.
  std::unordered_map<std::int64_t, std::pair<double, double>> minutes_;
};

// A second, read-only connection to a prediction store for the performance recomputation,
// so that it can run on a thread of its own while the store's owner keeps writing (WAL: it
// reads the last committed state and blocks no writer). Memory: at most `memory_bytes` / 2 of
// page cache plus as much for SQLite's sorter, whatever the number of rows; larger sorts spill
// to temporary files (in $SQLITE_TMPDIR, $TMPDIR or /var/tmp, deleted when closed).
//
// Thread-compatible: one thread at a time calls it; Cancel() may be called from any thread.
class PredictionStoreReader : public LabelledRowSource {
 public:
  // Opens the existing database at `path` read-only.
  static Result<std::unique_ptr<PredictionStoreReader>> Open(const std::string& path,
                                                             std::size_t memory_bytes);
  ~PredictionStoreReader() override;
  PredictionStoreReader(const PredictionStoreReader&) = delete;
  PredictionStoreReader& operator=(const PredictionStoreReader&) = delete;

  void ForEachLabelled(double since, const std::function<void(const LabelledRow&)>& fn) override;
  void ForEachLabelledPair(
      std::string_view champion, std::string_view challenger, double since,
      bool order_by_challenger,
      const std::function<void(double, double, double, double, double)>& fn) override;
  std::pair<double, double> MatchTotals(double from, double to, double exact_from) override;

  // One read transaction around several queries, so they all see the same commit.
  void BeginRead();
  void EndRead();

  // Makes the running statement, and every later one, stop at once (as an error).
  void Cancel();

  // Errors since Open() (a cancelled statement counts), and the last one.
  std::uint64_t errors() const { return errors_; }
  const std::string& last_error() const { return last_error_; }

 private:
  PredictionStoreReader() = default;
  void Fail(const char* what);

  sqlite3* db_ = nullptr;
  std::atomic<bool> cancelled_{false};
  std::uint64_t errors_ = 0;
  std::string last_error_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_GROUNDTRUTH_PREDICTION_STORE_H_
