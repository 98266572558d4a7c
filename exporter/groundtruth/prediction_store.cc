#include "exporter/groundtruth/prediction_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "exporter/groundtruth/memory_prediction_store.h"

namespace modelwatch {
namespace {

std::int64_t ToSql(std::uint64_t v) { return static_cast<std::int64_t>(v); }
std::uint64_t FromSql(std::int64_t v) { return static_cast<std::uint64_t>(v); }

std::string_view ColumnText(sqlite3_stmt* st, int col) {
  const unsigned char* text = sqlite3_column_text(st, col);
  if (text == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(text),
                          static_cast<std::size_t>(sqlite3_column_bytes(st, col)));
}

// Resets a statement when the scope ends, so early returns leave no statement active.
struct Resetter {
  sqlite3_stmt* st;
  ~Resetter() {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS predictions(
  key INTEGER NOT NULL, version TEXT NOT NULL, entity INTEGER NOT NULL, ts REAL NOT NULL,
  prediction REAL NOT NULL, segments TEXT NOT NULL, weight REAL NOT NULL,
  label REAL, label_ts REAL);
CREATE UNIQUE INDEX IF NOT EXISTS predictions_key ON predictions(key, version);
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions(ts);
CREATE INDEX IF NOT EXISTS predictions_labelled
  ON predictions(prediction, ts, version, segments, weight, label) WHERE label IS NOT NULL;
CREATE TABLE IF NOT EXISTS minute_totals(
  minute INTEGER PRIMARY KEY, total REAL NOT NULL, labelled REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending_labels(
  key INTEGER NOT NULL, ts REAL NOT NULL, label REAL NOT NULL, unmatched INTEGER NOT NULL,
  PRIMARY KEY(key, ts)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_labels_expiry ON pending_labels(unmatched, ts);
CREATE INDEX IF NOT EXISTS pending_labels_ts ON pending_labels(ts);
CREATE INDEX IF NOT EXISTS predictions_unlabelled ON predictions(ts) WHERE label IS NULL;
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

using FailFn = std::function<void(const char*)>;

// The queries the performance computation runs, shared by the writing connection and the
// reader (see LabelledRowSource).
void ScanLabelled(sqlite3* db, double since, const std::function<void(const LabelledRow&)>& fn,
                  const FailFn& fail) {
  sqlite3_stmt* st = nullptr;
  // Walks the covering index of labelled rows in prediction order: no sort, no table
  // lookup, memory independent of the window. The rows skipped for `ts < since` are those
  // retention still keeps past the longest window (at most delay + retention_buffer old).
  if (sqlite3_prepare_v2(db,
                         "SELECT version, ts, prediction, segments, weight, label"
                         " FROM predictions INDEXED BY predictions_labelled"
                         " WHERE label IS NOT NULL AND ts >= ?1 ORDER BY prediction",
                         -1, &st, nullptr) != SQLITE_OK) {
    fail("scan");
    return;
  }
  sqlite3_bind_double(st, 1, since);
  LabelledRow row;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    row.version = ColumnText(st, 0);
    row.timestamp = sqlite3_column_double(st, 1);
    row.prediction = sqlite3_column_double(st, 2);
    row.segments = ColumnText(st, 3);
    row.weight = sqlite3_column_double(st, 4);
    row.label = sqlite3_column_double(st, 5);
    fn(row);
  }
  if (rc != SQLITE_DONE) fail("scan");
  sqlite3_finalize(st);
}

void ScanLabelledPairs(sqlite3* db, std::string_view champion, std::string_view challenger,
                       double since, bool order_by_challenger,
                       const std::function<void(double, double, double, double, double)>& fn,
                       const FailFn& fail) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string(
                              "SELECT a.prediction, b.prediction, a.label, a.weight, a.ts"
                              " FROM predictions a JOIN predictions b ON a.key = b.key"
                              " WHERE a.version = ?1 AND b.version = ?2 AND a.label IS NOT NULL"
                              " AND a.ts >= ?3 ORDER BY ") +
                          (order_by_challenger ? "b.prediction" : "a.prediction");
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    fail("pair scan");
    return;
  }
  sqlite3_bind_text(st, 1, champion.data(), static_cast<int>(champion.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, challenger.data(), static_cast<int>(challenger.size()), SQLITE_STATIC);
  sqlite3_bind_double(st, 3, since);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    fn(sqlite3_column_double(st, 0), sqlite3_column_double(st, 1), sqlite3_column_double(st, 2),
       sqlite3_column_double(st, 3), sqlite3_column_double(st, 4));
  }
  if (rc != SQLITE_DONE) fail("pair scan");
  sqlite3_finalize(st);
}

std::pair<double, double> QueryMatchTotals(sqlite3* db, double from, double to, double exact_from,
                                           const FailFn& fail) {
  std::pair<double, double> out{0, 0};
  auto query = [&](const char* sql, double lo, double hi) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      fail("match totals");
      return;
    }
    sqlite3_bind_double(st, 1, lo);
    sqlite3_bind_double(st, 2, hi);
    if (sqlite3_step(st) == SQLITE_ROW) {
      out.first += sqlite3_column_double(st, 0);
      out.second += sqlite3_column_double(st, 1);
    } else {
      fail("match totals");
    }
    sqlite3_finalize(st);
  };
  if (to < from) return out;
  // Complete minutes come from the per-minute totals; the partial minutes at either end from
  // the rows themselves (at most two minutes of rows), where they are still retained.
  const char* kRows =
      "SELECT total(weight), total(CASE WHEN label IS NULL THEN 0 ELSE weight END)"
      " FROM predictions WHERE ts >= ?1 AND ts < ?2";
  const char* kMinutes =
      "SELECT total(total), total(labelled) FROM minute_totals WHERE minute BETWEEN ?1 AND ?2";
  const double to_end = std::nextafter(to, std::numeric_limits<double>::infinity());
  const double first = std::floor(from / 60);
  const double last = std::floor(to / 60);
  if (first == last) {
    if (from >= exact_from) {
      query(kRows, from, to_end);
    } else {
      query(kMinutes, first, first);
    }
    return out;
  }
  if (from >= exact_from) {
    query(kRows, from, (first + 1) * 60);
  } else {
    query(kMinutes, first, first);
  }
  if (last - 1 >= first + 1) query(kMinutes, first + 1, last - 1);
  if (last * 60 >= exact_from) {
    query(kRows, last * 60, to_end);
  } else {
    query(kMinutes, last, last);
  }
  return out;
}

// SQLite's memory statistics take one process-wide mutex around every allocation, which
// models replayed on several threads (each with its own connection) fought over: a third of
// the second thread's time. Nothing here reads them. Must precede SQLite's initialisation;
// once it has happened (another connection first) the call fails and changes nothing.
void TurnOffMemoryStatistics() {
  static const bool once = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)once;
}

}  // namespace

Result<std::unique_ptr<PredictionStore>> PredictionStore::Open(const std::string& path,
                                                               const Options& options) {
  // A scratch store needs none of SQLite's durability, and SQLite was half of a replay's
  // time (label joins by key, index maintenance, expiry and purges).
  if (!options.durable) return std::make_unique<MemoryPredictionStore>(options);
  auto store = SqlitePredictionStore::Open(path, options);
  if (!store) return tl::unexpected(store.error());
  return std::unique_ptr<PredictionStore>(std::move(*store));
}

Result<std::unique_ptr<SqlitePredictionStore>> SqlitePredictionStore::Open(const std::string& path,
                                                                           const Options& options) {
  TurnOffMemoryStatistics();
  std::unique_ptr<SqlitePredictionStore> store(new SqlitePredictionStore());
  store->options_ = options;
  // A scratch store (options.durable false: replay, backtest) is thrown away at exit, never
  // checkpointed against and read by no second connection: it is SQLite's private temporary
  // database (the empty path), kept in the page cache and spilled to a file that is deleted
  // on close only past the cache's size, so commits write nothing until then and memory stays
  // bounded by the cache.
  if (sqlite3_open_v2(options.durable ? path.c_str() : "", &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = store->db_ ? sqlite3_errmsg(store->db_) : "out of memory";
    return MakeError(path + ": cannot open prediction store: " + msg);
  }
  sqlite3_busy_timeout(store->db_, 5000);
  // WAL: commits append to the log, readers never block; FULL: a commit is on disk before
  // the exporter's checkpoint records the positions that produced it. temp_store=MEMORY:
  // statement journals stay in memory (with FILE, glibc gave the heap's top back and took it
  // again on every label update: ~3,000 brk() calls a second). The daemon's large sorts run
  // on PredictionStoreReader, whose temp_store is FILE.
  if (!store->Exec(options.durable ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=OFF") ||
      !store->Exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF") ||
      !store->Exec("PRAGMA temp_store=MEMORY") || !store->Exec("PRAGMA cache_size=-65536") ||
      !store->Exec("PRAGMA wal_autocheckpoint=16384") || !store->Exec(kSchema) ||
      (options.entity_index &&
       !store->Exec("CREATE INDEX IF NOT EXISTS predictions_entity ON predictions(entity, ts)"))) {
    return MakeError(path + ": cannot initialise prediction store: " + store->last_error_);
  }
  store->insert_ = store->Prepare(
      "INSERT OR IGNORE INTO predictions(key, version, entity, ts, prediction, segments, weight)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  store->label_key_ = store->Prepare(
      "UPDATE predictions SET label = ?2, label_ts = ?3 WHERE key = ?1 AND label IS NULL"
      " RETURNING ts, weight, version, prediction, segments, label");
  store->has_key_ = store->Prepare("SELECT 1 FROM predictions WHERE key = ?1 LIMIT 1");
  store->seen_key_ = store->Prepare(
      "SELECT 1 FROM predictions WHERE key = ?1 AND label_ts = ?2 AND label = ?3 LIMIT 1");
  store->nearest_ = store->Prepare(
      "SELECT rowid, ts, weight, label_ts FROM predictions"
      " WHERE entity = ?1 AND ts BETWEEN ?2 AND ?3");
  store->relabel_ =
      store->Prepare("UPDATE predictions SET label = ?2, label_ts = ?3 WHERE rowid = ?1");
  store->entity_labels_ = store->Prepare(
      "SELECT ts, label, unmatched FROM pending_labels WHERE key = ?1 AND ts BETWEEN ?2 AND ?3"
      " AND unmatched IN (0, 2)");
  store->label_row_ = store->Prepare(
      "UPDATE predictions SET label = ?3, label_ts = ?4 WHERE key = ?1 AND version = ?2"
      " AND label IS NULL RETURNING ts, weight, version, prediction, segments, label");
  store->add_pending_ = store->Prepare(
      "INSERT OR IGNORE INTO pending_labels(key, ts, label, unmatched) VALUES(?1, ?2, ?3, ?4)");
  store->get_pending_ = store->Prepare(
      "SELECT ts, label, unmatched FROM pending_labels WHERE key = ?1 AND unmatched IN (0, 2)"
      " ORDER BY ts");
  store->del_pending_ =
      store->Prepare("UPDATE pending_labels SET unmatched = 2 WHERE key = ?1 AND ts = ?2");
  store->upsert_minute_ = store->Prepare(
      "INSERT INTO minute_totals(minute, total, labelled) VALUES(?1, ?2, ?3)"
      " ON CONFLICT(minute) DO UPDATE SET total = total + ?2, labelled = labelled + ?3");
  for (sqlite3_stmt* st : store->statements_) {
    if (st == nullptr) {
      return MakeError(path + ": cannot prepare prediction store: " + store->last_error_);
    }
  }
  return store;
}

SqlitePredictionStore::~SqlitePredictionStore() {
  Commit();
  for (sqlite3_stmt* st : statements_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

Result<void> PredictionStore::Check(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return {};
  sqlite3* db = nullptr;
  std::string problem;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    problem = db ? sqlite3_errmsg(db) : "out of memory";
  } else {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, nullptr) != SQLITE_OK) {
      problem = sqlite3_errmsg(db);
    } else {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        const std::string_view result = ColumnText(st, 0);
        if (result != "ok") problem = std::string(result);
      } else {
        problem = sqlite3_errmsg(db);
      }
      sqlite3_finalize(st);
    }
  }
  sqlite3_close(db);
  if (problem.empty()) return {};
  return MakeError(path + ": damaged prediction store: " + problem);
}

void SqlitePredictionStore::Fail(const char* what) {
  ++errors_;
  const int code = sqlite3_errcode(db_) & 0xff;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) corrupt_ = true;
  last_error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
}

bool SqlitePredictionStore::Exec(const char* sql) {
  char* err = nullptr;
  if (const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    ++errors_;
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) corrupt_ = true;
    last_error_ = err ? err : "sqlite error";
    sqlite3_free(err);
    return false;
  }
  return true;
}

sqlite3_stmt* SqlitePredictionStore::Prepare(const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
    Fail("prepare");
    st = nullptr;
  }
  statements_.push_back(st);
  return st;
}

void SqlitePredictionStore::BeginIfNeeded() {
  if (!in_txn_) in_txn_ = Exec("BEGIN IMMEDIATE");
}

void SqlitePredictionStore::Wrote() {
  if (++writes_ >= options_.batch_size && options_.auto_commit) Commit();
}

void SqlitePredictionStore::MaybeCommit() {
  if (writes_ >= options_.batch_size) Commit();
}

void SqlitePredictionStore::AddMinute(double ts, double total, double labelled) {
  auto& m = minutes_[static_cast<std::int64_t>(std::floor(ts / 60))];
  m.first += total;
  m.second += labelled;
}

void SqlitePredictionStore::FlushMinutes() {
  for (const auto& [minute, totals] : minutes_) {
    Resetter r{upsert_minute_};
    sqlite3_bind_int64(upsert_minute_, 1, minute);
    sqlite3_bind_double(upsert_minute_, 2, totals.first);
    sqlite3_bind_double(upsert_minute_, 3, totals.second);
    if (sqlite3_step(upsert_minute_) != SQLITE_DONE) Fail("minute totals");
  }
  minutes_.clear();
}

bool SqlitePredictionStore::Commit() {
  if (!in_txn_ || in_before_commit_) return true;
  // A scratch store has no reader and nothing survives its process, so a commit buys
  // nothing; and every commit of a temporary database walks its whole page cache (its
  // dirty pages stay there), which cost a replay a fifth of its time when it committed at
  // every step. It commits only to bound its transaction, every batch_size writes.
  if (!options_.durable && writes_ < options_.batch_size) return true;
  FlushMinutes();
  if (before_commit_) {
    in_before_commit_ = true;
    before_commit_();
    in_before_commit_ = false;
  }
  writes_ = 0;
  in_txn_ = false;
  if (!Exec("COMMIT")) {
    const std::string error = last_error_;  // the cause, not the rollback's complaint
    Exec("ROLLBACK");
    last_error_ = error;
    return false;
  }
  return true;
}

bool SqlitePredictionStore::Insert(const StoredPrediction& p) {
  BeginIfNeeded();
  Resetter r{insert_};
  sqlite3_bind_int64(insert_, 1, ToSql(p.key));
  sqlite3_bind_text(insert_, 2, p.version.data(), static_cast<int>(p.version.size()),
                    SQLITE_STATIC);
  sqlite3_bind_int64(insert_, 3, ToSql(p.entity));
  sqlite3_bind_double(insert_, 4, p.timestamp);
  sqlite3_bind_double(insert_, 5, p.prediction);
  sqlite3_bind_text(insert_, 6, p.segments.data(), static_cast<int>(p.segments.size()),
                    SQLITE_STATIC);
  sqlite3_bind_double(insert_, 7, p.weight);
  if (sqlite3_step(insert_) != SQLITE_DONE) {
    Fail("insert");
    return false;
  }
  const bool inserted = sqlite3_changes(db_) > 0;
  if (inserted) AddMinute(p.timestamp, p.weight, 0);
  Wrote();
  return inserted;
}

LabelOutcome SqlitePredictionStore::LabelByKey(std::uint64_t key, double label, double label_ts) {
  BeginIfNeeded();
  bool matched = false;
  {
    Resetter r{label_key_};
    sqlite3_bind_int64(label_key_, 1, ToSql(key));
    sqlite3_bind_double(label_key_, 2, label);
    sqlite3_bind_double(label_key_, 3, label_ts);
    int rc;
    while ((rc = sqlite3_step(label_key_)) == SQLITE_ROW) {
      Labelled(label_key_);
      matched = true;
    }
    if (rc != SQLITE_DONE) Fail("label");
  }
  Wrote();
  if (matched) return LabelOutcome::kMatched;
  {
    Resetter r{seen_key_};
    sqlite3_bind_int64(seen_key_, 1, ToSql(key));
    sqlite3_bind_double(seen_key_, 2, label_ts);
    sqlite3_bind_double(seen_key_, 3, label);
    if (sqlite3_step(seen_key_) == SQLITE_ROW) return LabelOutcome::kSeen;
  }
  Resetter r{has_key_};
  sqlite3_bind_int64(has_key_, 1, ToSql(key));
  return sqlite3_step(has_key_) == SQLITE_ROW ? LabelOutcome::kDuplicate
                                              : LabelOutcome::kNoPrediction;
}

LabelOutcome SqlitePredictionStore::LabelByEntity(std::uint64_t entity, double ts, double tolerance,
                                                  double label) {
  BeginIfNeeded();
  struct Candidate {
    std::int64_t rowid;
    double ts, weight, label_ts;
    bool labelled;
  };
  std::vector<Candidate> candidates;
  {
    Resetter r{nearest_};
    sqlite3_bind_int64(nearest_, 1, ToSql(entity));
    sqlite3_bind_double(nearest_, 2, ts - tolerance);
    sqlite3_bind_double(nearest_, 3, ts + tolerance);
    int rc;
    while ((rc = sqlite3_step(nearest_)) == SQLITE_ROW) {
      const bool labelled = sqlite3_column_type(nearest_, 3) != SQLITE_NULL;
      candidates.push_back({sqlite3_column_int64(nearest_, 0), sqlite3_column_double(nearest_, 1),
                            sqlite3_column_double(nearest_, 2),
                            labelled ? sqlite3_column_double(nearest_, 3) : 0.0, labelled});
    }
    if (rc != SQLITE_DONE) Fail("entity lookup");
  }
  if (candidates.empty()) return LabelOutcome::kNoPrediction;
  bool changed = false;
  for (const Candidate& c : candidates) {
    if (c.labelled) {
      // The label nearest in time to the prediction stands; on a tie, the earlier label.
      const double now = std::fabs(c.ts - c.label_ts), offered = std::fabs(c.ts - ts);
      if (offered > now || (offered == now && ts >= c.label_ts)) continue;
    }
    Resetter r{relabel_};
    sqlite3_bind_int64(relabel_, 1, c.rowid);
    sqlite3_bind_double(relabel_, 2, label);
    sqlite3_bind_double(relabel_, 3, ts);
    if (sqlite3_step(relabel_) != SQLITE_DONE) {
      Fail("label");
      continue;
    }
    if (!c.labelled) AddMinute(c.ts, 0, c.weight);
    changed = true;
  }
  Wrote();
  return changed ? LabelOutcome::kMatched : LabelOutcome::kDuplicate;
}

std::optional<PendingLabel> SqlitePredictionStore::NearestEntityLabel(std::uint64_t entity,
                                                                      double ts, double tolerance) {
  std::optional<PendingLabel> best;
  Resetter r{entity_labels_};
  sqlite3_bind_int64(entity_labels_, 1, ToSql(entity));
  sqlite3_bind_double(entity_labels_, 2, ts - tolerance);
  sqlite3_bind_double(entity_labels_, 3, ts + tolerance);
  while (sqlite3_step(entity_labels_) == SQLITE_ROW) {
    PendingLabel l{entity, sqlite3_column_double(entity_labels_, 0),
                   sqlite3_column_double(entity_labels_, 1),
                   sqlite3_column_int(entity_labels_, 2) == 0};
    const double d = std::fabs(l.timestamp - ts);
    if (!best || d < std::fabs(best->timestamp - ts) ||
        (d == std::fabs(best->timestamp - ts) && l.timestamp < best->timestamp)) {
      best = l;
    }
  }
  return best;
}

void SqlitePredictionStore::Labelled(sqlite3_stmt* st) {
  // Columns as RETURNING lists them: ts, weight, version, prediction, segments, label.
  const double ts = sqlite3_column_double(st, 0), weight = sqlite3_column_double(st, 1);
  AddMinute(ts, 0, weight);
  if (!on_labelled_) return;
  LabelledRow row;
  row.timestamp = ts;
  row.weight = weight;
  row.version = ColumnText(st, 2);
  row.prediction = sqlite3_column_double(st, 3);
  row.segments = ColumnText(st, 4);
  row.label = sqlite3_column_double(st, 5);
  on_labelled_(row);
}

bool SqlitePredictionStore::LabelPrediction(std::uint64_t key, std::string_view version,
                                            double label, double label_ts) {
  BeginIfNeeded();
  bool labelled = false;
  Resetter r{label_row_};
  sqlite3_bind_int64(label_row_, 1, ToSql(key));
  sqlite3_bind_text(label_row_, 2, version.data(), static_cast<int>(version.size()), SQLITE_STATIC);
  sqlite3_bind_double(label_row_, 3, label);
  sqlite3_bind_double(label_row_, 4, label_ts);
  int rc;
  while ((rc = sqlite3_step(label_row_)) == SQLITE_ROW) {
    Labelled(label_row_);
    labelled = true;
  }
  if (rc != SQLITE_DONE) Fail("label");
  Wrote();
  return labelled;
}

bool SqlitePredictionStore::AddPendingLabel(const PendingLabel& label, bool unmatched) {
  BeginIfNeeded();
  Resetter r{add_pending_};
  sqlite3_bind_int64(add_pending_, 1, ToSql(label.key));
  sqlite3_bind_double(add_pending_, 2, label.timestamp);
  sqlite3_bind_double(add_pending_, 3, label.label);
  sqlite3_bind_int(add_pending_, 4, unmatched ? 1 : 0);
  if (sqlite3_step(add_pending_) != SQLITE_DONE) {
    Fail("pending label");
    return false;
  }
  const bool added = sqlite3_changes(db_) > 0;
  Wrote();
  return added;
}

std::vector<PendingLabel> SqlitePredictionStore::PendingLabels(std::uint64_t key) {
  std::vector<PendingLabel> out;
  Resetter r{get_pending_};
  sqlite3_bind_int64(get_pending_, 1, ToSql(key));
  while (sqlite3_step(get_pending_) == SQLITE_ROW) {
    out.push_back({key, sqlite3_column_double(get_pending_, 0),
                   sqlite3_column_double(get_pending_, 1),
                   sqlite3_column_int(get_pending_, 2) == 0});
  }
  return out;
}

void SqlitePredictionStore::MarkPendingMatched(std::uint64_t key, double ts) {
  BeginIfNeeded();
  Resetter r{del_pending_};
  sqlite3_bind_int64(del_pending_, 1, ToSql(key));
  sqlite3_bind_double(del_pending_, 2, ts);
  if (sqlite3_step(del_pending_) != SQLITE_DONE) Fail("pending label");
  Wrote();
}

std::int64_t SqlitePredictionStore::CountWaitingLabels() {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT count(*) FROM pending_labels WHERE unmatched = 0", -1, &st,
                         nullptr) != SQLITE_OK) {
    Fail("count waiting labels");
    return 0;
  }
  std::int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return n;
}

std::vector<PendingLabel> SqlitePredictionStore::ExpirePendingLabels(double before) {
  BeginIfNeeded();
  std::vector<PendingLabel> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "UPDATE pending_labels SET unmatched = 1 WHERE unmatched = 0 AND ts < ?1"
                         " RETURNING key, ts, label",
                         -1, &st, nullptr) != SQLITE_OK) {
    Fail("expire");
    return out;
  }
  sqlite3_bind_double(st, 1, before);
  while (sqlite3_step(st) == SQLITE_ROW) {
    out.push_back({FromSql(sqlite3_column_int64(st, 0)), sqlite3_column_double(st, 1),
                   sqlite3_column_double(st, 2)});
  }
  sqlite3_finalize(st);
  Wrote();
  return out;
}

std::vector<std::uint64_t> SqlitePredictionStore::PendingKeys() {
  std::vector<std::uint64_t> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT DISTINCT key FROM pending_labels WHERE unmatched IN (0, 2)",
                         -1, &st, nullptr) != SQLITE_OK) {
    Fail("pending keys");
    return out;
  }
  while (sqlite3_step(st) == SQLITE_ROW) out.push_back(FromSql(sqlite3_column_int64(st, 0)));
  sqlite3_finalize(st);
  return out;
}

void SqlitePredictionStore::Purge(double unlabelled_before, double labelled_before,
                                  double other_before) {
  BeginIfNeeded();
  sqlite3_stmt* st = nullptr;
  const char* sqls[] = {
      // The unlabelled rows only: the ts index would walk the labelled rows kept for the
      // longest window too, every minute.
      "DELETE FROM predictions INDEXED BY predictions_unlabelled WHERE ts < ?1 AND label IS NULL",
      "DELETE FROM predictions WHERE ts < ?1",
      "DELETE FROM minute_totals WHERE minute < ?1",
      "DELETE FROM pending_labels WHERE ts < ?1",
  };
  const double args[] = {unlabelled_before, labelled_before, std::floor(other_before / 60),
                         other_before};
  for (int i = 0; i < 4; ++i) {
    if (sqlite3_prepare_v2(db_, sqls[i], -1, &st, nullptr) != SQLITE_OK) {
      Fail("purge");
      continue;
    }
    sqlite3_bind_double(st, 1, args[i]);
    if (sqlite3_step(st) != SQLITE_DONE) Fail("purge");
    sqlite3_finalize(st);
  }
  Commit();
}

void SqlitePredictionStore::ForEachLabelled(double since,
                                            const std::function<void(const LabelledRow&)>& fn) {
  ScanLabelled(db_, since, fn, [this](const char* what) { Fail(what); });
}

void SqlitePredictionStore::ForEachLabelledPair(
    std::string_view champion, std::string_view challenger, double since, bool order_by_challenger,
    const std::function<void(double, double, double, double, double)>& fn) {
  ScanLabelledPairs(db_, champion, challenger, since, order_by_challenger, fn,
                    [this](const char* what) { Fail(what); });
}

std::pair<double, double> SqlitePredictionStore::MatchTotals(double from, double to,
                                                             double exact_from) {
  FlushMinutes();
  return QueryMatchTotals(db_, from, to, exact_from, [this](const char* what) { Fail(what); });
}

std::int64_t SqlitePredictionStore::DeleteAfter(double ts) {
  BeginIfNeeded();
  std::int64_t deleted = 0;
  const char* sqls[] = {"DELETE FROM predictions WHERE ts > ?1",
                        "DELETE FROM minute_totals WHERE minute > ?1"};
  const double args[] = {ts, std::floor(ts / 60)};
  for (int i = 0; i < 2; ++i) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sqls[i], -1, &st, nullptr) != SQLITE_OK) {
      Fail("delete future rows");
      continue;
    }
    sqlite3_bind_double(st, 1, args[i]);
    if (sqlite3_step(st) != SQLITE_DONE) Fail("delete future rows");
    if (i == 0) deleted = sqlite3_changes(db_);
    sqlite3_finalize(st);
  }
  Commit();
  return deleted;
}

double SqlitePredictionStore::NewestTimestamp() {
  double out = NAN;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT max(ts) FROM predictions", -1, &st, nullptr) != SQLITE_OK) {
    Fail("newest");
    return out;
  }
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
    out = sqlite3_column_double(st, 0);
  }
  sqlite3_finalize(st);
  return out;
}

std::int64_t SqlitePredictionStore::CountPredictions() {
  std::int64_t out = 0;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT count(*) FROM predictions", -1, &st, nullptr) != SQLITE_OK) {
    Fail("count");
    return out;
  }
  if (sqlite3_step(st) == SQLITE_ROW) out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return out;
}

std::string SqlitePredictionStore::GetMeta(const std::string& name) {
  std::string out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE name = ?1", -1, &st, nullptr) !=
      SQLITE_OK) {
    Fail("meta");
    return out;
  }
  sqlite3_bind_text(st, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) out = std::string(ColumnText(st, 0));
  sqlite3_finalize(st);
  return out;
}

void SqlitePredictionStore::SetMeta(const std::string& name, const std::string& value) {
  BeginIfNeeded();
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)", -1, &st,
                         nullptr) != SQLITE_OK) {
    Fail("meta");
    return;
  }
  sqlite3_bind_text(st, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) Fail("meta");
  sqlite3_finalize(st);
  Wrote();
}

Result<std::unique_ptr<PredictionStoreReader>> PredictionStoreReader::Open(
    const std::string& path, std::size_t memory_bytes) {
  std::unique_ptr<PredictionStoreReader> reader(new PredictionStoreReader());
  if (sqlite3_open_v2(path.c_str(), &reader->db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = reader->db_ ? sqlite3_errmsg(reader->db_) : "out of memory";
    return MakeError(path + ": cannot open prediction store for reading: " + msg);
  }
  sqlite3_busy_timeout(reader->db_, 5000);
  // Half the budget for the page cache; SQLite's sorter holds at most as much as the page
  // cache before it writes a sorted run to a temporary file (never less than 250 pages).
  const long long cache_kib =
      std::max<long long>(1024, static_cast<long long>(memory_bytes / 2048));
  const std::string pragmas =
      "PRAGMA temp_store=FILE; PRAGMA mmap_size=0; PRAGMA cache_size=-" + std::to_string(cache_kib);
  char* err = nullptr;
  if (sqlite3_exec(reader->db_, pragmas.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "sqlite error";
    sqlite3_free(err);
    return MakeError(path + ": cannot configure prediction store reader: " + msg);
  }
  // Cancel() sets the flag; SQLite asks this handler every 1000 virtual-machine steps.
  sqlite3_progress_handler(
      reader->db_, 1000,
      [](void* self) -> int {
        return static_cast<PredictionStoreReader*>(self)->cancelled_.load() ? 1 : 0;
      },
      reader.get());
  return reader;
}

PredictionStoreReader::~PredictionStoreReader() { sqlite3_close(db_); }

void PredictionStoreReader::Cancel() { cancelled_.store(true); }

void PredictionStoreReader::BeginRead() {
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) Fail("begin");
}

void PredictionStoreReader::EndRead() {
  if (sqlite3_get_autocommit(db_) != 0) return;
  // A read transaction left open would keep its snapshot, and the WAL could not be
  // checkpointed past it.
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Fail("end");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void PredictionStoreReader::Fail(const char* what) {
  ++errors_;
  last_error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
}

void PredictionStoreReader::ForEachLabelled(double since,
                                            const std::function<void(const LabelledRow&)>& fn) {
  ScanLabelled(db_, since, fn, [this](const char* what) { Fail(what); });
}

void PredictionStoreReader::ForEachLabelledPair(
    std::string_view champion, std::string_view challenger, double since, bool order_by_challenger,
    const std::function<void(double, double, double, double, double)>& fn) {
  ScanLabelledPairs(db_, champion, challenger, since, order_by_challenger, fn,
                    [this](const char* what) { Fail(what); });
}

std::pair<double, double> PredictionStoreReader::MatchTotals(double from, double to,
                                                             double exact_from) {
  return QueryMatchTotals(db_, from, to, exact_from, [this](const char* what) { Fail(what); });
}

}  // namespace modelwatch
