// MemoryPredictionStore against SqlitePredictionStore (scratch mode): long seeded random
// sequences of operations, applied to both, must give the same results to the bit — every
// return value, every on_labelled row and before-commit call in order, every scan's rows in
// order. The operations are drawn from small domains so that they collide: few keys (some
// with the high bit set, negative as SQLite's integers), several versions per key, duplicate
// and early labels, entity joins with ties, equal predictions and times, expiry, purges,
// deletions of future rows, match totals over random ranges, pair scans in both orders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "exporter/groundtruth/memory_prediction_store.h"
#include "exporter/groundtruth/prediction_store.h"

namespace modelwatch {
namespace {

constexpr double kT0 = 1795939200;

// Exact, sign of zero included.
std::string F(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

std::string Str(const PendingLabel& l) {
  return "{" + std::to_string(l.key) + " " + F(l.timestamp) + " " + F(l.label) + " " +
         (l.waiting ? "w" : "m") + "}";
}

std::string Str(LabelOutcome o) {
  switch (o) {
    case LabelOutcome::kMatched:
      return "matched";
    case LabelOutcome::kDuplicate:
      return "duplicate";
    case LabelOutcome::kNoPrediction:
      return "no prediction";
    case LabelOutcome::kSeen:
      return "seen";
  }
  return "?";
}

struct Config {
  std::uint64_t seed;
  bool entity_index;
  std::size_t batch_size;
  bool auto_commit;
  int ops;
};

// One store and the log of its callbacks.
struct Side {
  std::string log;
  int commits = 0;
  std::unique_ptr<PredictionStore> store;  // last: its destructor may still call back

  void Attach() {
    store->SetOnLabelled([this](const LabelledRow& r) {
      log += " labelled(" + std::string(r.version) + " " + F(r.timestamp) + " " + F(r.prediction) +
             " [" + std::string(r.segments) + "] " + F(r.weight) + " " + F(r.label) + ")";
    });
    store->SetBeforeCommit([this] {
      log += " commit";
      store->SetMeta("commits", std::to_string(++commits));
    });
  }
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }

  std::uint64_t Key() {
    static const std::vector<std::uint64_t> extra = {0,
                                                     1,
                                                     0x8000000000000000ULL,
                                                     0xffffffffffffffffULL,
                                                     0x7fffffffffffffffULL,
                                                     0x8000000000000001ULL};
    if (Chance(0.2)) return Pick(extra);
    return static_cast<std::uint64_t>(Int(2, 60)) * 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t Entity() {
    if (Chance(0.1)) return 0xfffffffffffffff0ULL + static_cast<std::uint64_t>(Int(0, 3));
    return static_cast<std::uint64_t>(Int(1, 8));
  }
  // Event times on a half-second grid around `now`, often equal.
  double Ts() { return now + Int(-240, 20) * 0.5; }
  double Prediction() {
    static const std::vector<double> p = {0, 0.25, 0.5, 1, 0.1, 0.3, -0.0, 0.7, 0.2};
    return Chance(0.2) ? std::uniform_real_distribution<double>(0, 1)(rng_) : Pick(p);
  }
  double Weight() {
    static const std::vector<double> w = {1, 1, 2, 1 / 0.3, 10.0 / 3, 0.1, 1 / 0.7};
    return Pick(w);
  }
  double Label() {
    static const std::vector<double> l = {0, 1, 1, 0.5, 3};
    return Pick(l);
  }
  std::string Version() { return Pick(std::vector<std::string>{"v1", "v2", "v10", "a", "V1"}); }
  std::string Segments() {
    return Pick(std::vector<std::string>{"", "web", "app", "app|x", "web|y"});
  }

  double now = kT0;

 private:
  std::mt19937_64 rng_;
};

void RunDifferential(const Config& config) {
  PredictionStore::Options options;
  options.durable = false;
  options.entity_index = config.entity_index;
  options.batch_size = config.batch_size;
  options.auto_commit = config.auto_commit;
  auto sqlite = SqlitePredictionStore::Open("", options);
  ASSERT_TRUE(sqlite) << sqlite.error().message;
  Side sides[2];
  sides[0].store = std::move(*sqlite);
  sides[1].store = std::make_unique<MemoryPredictionStore>(options);
  for (Side& s : sides) s.Attach();

  Generator g(config.seed);
  // Labels kept, so that some operations name existing (key, ts) pairs.
  std::vector<PendingLabel> kept;
  std::vector<std::pair<std::uint64_t, std::string>> inserted;
  std::vector<std::tuple<std::uint64_t, double, double>> by_key;

  for (int i = 0; i < config.ops; ++i) {
    g.now += g.Int(0, 4) * 0.5;
    const int kind = g.Int(0, 99);
    // The operation, drawn once, applied to each store as a function returning its result.
    std::function<std::string(PredictionStore&)> op;
    if (kind < 25) {
      StoredPrediction p;
      std::string version = g.Version(), segments = g.Segments();
      p.key = g.Chance(0.3) && !inserted.empty() ? g.Pick(inserted).first : g.Key();
      p.entity = g.Chance(0.8) ? g.Entity() : 0;
      p.timestamp = g.Ts();
      p.prediction = g.Prediction();
      p.weight = g.Weight();
      inserted.emplace_back(p.key, version);
      op = [p, version, segments](PredictionStore& s) mutable {
        p.version = version;
        p.segments = segments;
        return "insert " + std::to_string(s.Insert(p));
      };
    } else if (kind < 37) {
      std::uint64_t key = g.Chance(0.7) && !inserted.empty() ? g.Pick(inserted).first : g.Key();
      double label = g.Label();
      double label_ts = g.Chance(0.3) && !kept.empty() ? g.Pick(kept).timestamp : g.Ts();
      if (g.Chance(0.25) && !by_key.empty()) {
        std::tie(key, label, label_ts) = g.Pick(by_key);  // the same label again
      }
      by_key.emplace_back(key, label, label_ts);
      op = [=](PredictionStore& s) { return "by key " + Str(s.LabelByKey(key, label, label_ts)); };
    } else if (kind < 45) {
      const std::uint64_t entity = g.Entity();
      const double ts = g.Ts(), tolerance = g.Pick(std::vector<double>{0, 1, 5, 30, 120});
      const double label = g.Label();
      op = [=](PredictionStore& s) {
        return "by entity " + Str(s.LabelByEntity(entity, ts, tolerance, label));
      };
    } else if (kind < 50) {
      std::uint64_t entity = g.Entity();
      double ts = g.Ts(), tolerance = g.Pick(std::vector<double>{0, 1, 5, 30, 120});
      // Often half-way between two labels of an entity: a tie.
      const std::size_t n = std::min<std::size_t>(kept.size(), 400);
      for (int tries = 0; g.Chance(0.6) && n > 1 && tries < 50; ++tries) {
        const PendingLabel& a =
            kept[kept.size() - 1 - static_cast<std::size_t>(g.Int(0, int(n) - 1))];
        const PendingLabel& b =
            kept[kept.size() - 1 - static_cast<std::size_t>(g.Int(0, int(n) - 1))];
        if (a.key != b.key || a.timestamp == b.timestamp) continue;
        entity = a.key;
        ts = (a.timestamp + b.timestamp) / 2;
        tolerance = std::fabs(a.timestamp - b.timestamp);
        break;
      }
      op = [=](PredictionStore& s) {
        auto l = s.NearestEntityLabel(entity, ts, tolerance);
        return "nearest " + (l ? Str(*l) : std::string("none"));
      };
    } else if (kind < 56) {
      std::uint64_t key = g.Key();
      std::string version = g.Version();
      if (g.Chance(0.7) && !inserted.empty()) std::tie(key, version) = g.Pick(inserted);
      const double label = g.Label(), label_ts = g.Ts();
      op = [=](PredictionStore& s) {
        return "label row " + std::to_string(s.LabelPrediction(key, version, label, label_ts));
      };
    } else if (kind < 66) {
      PendingLabel l;
      l.key = g.Chance(0.4)
                  ? g.Entity()
                  : (g.Chance(0.5) && !inserted.empty() ? g.Pick(inserted).first : g.Key());
      l.timestamp = g.Chance(0.2) && !kept.empty() ? g.Pick(kept).timestamp : g.Ts();
      l.label = g.Label();
      const bool unmatched = g.Chance(0.2);
      kept.push_back(l);
      op = [=](PredictionStore& s) {
        return "add pending " + std::to_string(s.AddPendingLabel(l, unmatched));
      };
    } else if (kind < 70) {
      const std::uint64_t key = g.Chance(0.7) && !kept.empty() ? g.Pick(kept).key : g.Key();
      op = [=](PredictionStore& s) {
        std::string out = "pending";
        for (const PendingLabel& l : s.PendingLabels(key)) out += " " + Str(l);
        return out;
      };
    } else if (kind < 74) {
      const double before = g.now - g.Int(0, 600);
      op = [=](PredictionStore& s) {
        std::string out = "expire";
        for (const PendingLabel& l : s.ExpirePendingLabels(before)) out += " " + Str(l);
        return out;
      };
    } else if (kind < 79) {
      PendingLabel l;
      if (!kept.empty()) {  // mostly a recent one
        const int n = static_cast<int>(std::min<std::size_t>(kept.size(), 100));
        l = g.Chance(0.7) ? kept[kept.size() - 1 - static_cast<std::size_t>(g.Int(0, n - 1))]
                          : g.Pick(kept);
      }
      op = [=](PredictionStore& s) {
        s.MarkPendingMatched(l.key, l.timestamp);
        return std::string("mark");
      };
    } else if (kind < 81) {
      op = [](PredictionStore& s) {
        std::string out = "waiting " + std::to_string(s.CountWaitingLabels()) + " keys";
        for (std::uint64_t k : s.PendingKeys()) out += " " + std::to_string(k);
        return out;
      };
    } else if (kind < 83) {
      const double a = g.now - g.Int(60, 400), b = g.now - g.Int(100, 600),
                   c = g.now - g.Int(100, 600);
      op = [=](PredictionStore& s) {
        s.Purge(a, b, c);
        return std::string("purge");
      };
    } else if (kind < 84 && g.Chance(0.5)) {
      const double ts = g.now + g.Int(-20, 20) * 0.5;
      op = [=](PredictionStore& s) { return "delete after " + std::to_string(s.DeleteAfter(ts)); };
    } else if (kind < 88) {
      op = [](PredictionStore& s) {
        const double t = s.NewestTimestamp();
        return "newest " + (std::isnan(t) ? std::string("nan") : F(t)) + " count " +
               std::to_string(s.CountPredictions());
      };
    } else if (kind < 92) {
      const double from = g.now - g.Int(0, 600) * 0.5 - (g.Chance(0.5) ? 0.25 : 0);
      const double to = from + g.Int(-10, 400) * 0.5;
      const double exact_from = g.now - g.Int(0, 400) * 0.5;
      op = [=](PredictionStore& s) {
        const auto [total, labelled] = s.MatchTotals(from, to, exact_from);
        return "totals " + F(total) + " " + F(labelled);
      };
    } else if (kind < 94) {
      const double since = g.now - g.Int(0, 1000);
      op = [=](PredictionStore& s) {
        std::string out = "labelled";
        s.ForEachLabelled(since, [&](const LabelledRow& r) {
          out += " (" + std::string(r.version) + " " + F(r.timestamp) + " " + F(r.prediction) +
                 " [" + std::string(r.segments) + "] " + F(r.weight) + " " + F(r.label) + ")";
        });
        return out;
      };
    } else if (kind < 97) {
      const std::string champion = g.Version(), challenger = g.Version();
      const double since = g.now - g.Int(0, 1000);
      const bool by_challenger = g.Chance(0.5);
      op = [=](PredictionStore& s) {
        std::string out = "pairs";
        s.ForEachLabelledPair(champion, challenger, since, by_challenger,
                              [&](double a, double b, double label, double weight, double ts) {
                                out += " (" + F(a) + " " + F(b) + " " + F(label) + " " + F(weight) +
                                       " " + F(ts) + ")";
                              });
        return out;
      };
    } else if (kind < 98) {
      const std::string name = g.Pick(std::vector<std::string>{"a", "b", "commits"});
      const std::string value = std::to_string(g.Int(0, 9));
      op = [=](PredictionStore& s) {
        if (name != "commits") s.SetMeta(name, value);
        return "meta " + s.GetMeta(name);
      };
    } else {
      const bool maybe = g.Chance(0.5);
      op = [=](PredictionStore& s) {
        if (maybe) {
          s.MaybeCommit();
          return std::string("maybe commit");
        }
        return "commit " + std::to_string(s.Commit());
      };
    }
    std::string results[2];
    for (int s = 0; s < 2; ++s) {
      sides[s].log.clear();
      results[s] = op(*sides[s].store) + sides[s].log;
    }
    ASSERT_EQ(results[0], results[1]) << "seed " << config.seed << ", operation " << i;
  }
  EXPECT_EQ(sides[0].store->errors(), 0u) << sides[0].store->last_error();
  EXPECT_EQ(sides[1].store->errors(), 0u);
  EXPECT_GT(sides[0].store->CountPredictions(), 0);
}

TEST(MemoryPredictionStoreTest, MatchesSqliteWithRequestKeys) {
  for (std::uint64_t seed : {1, 2, 3}) {
    RunDifferential({seed, false, 50, false, 6000});
    if (HasFatalFailure()) return;
  }
}

TEST(MemoryPredictionStoreTest, MatchesSqliteWithEntityIndex) {
  for (std::uint64_t seed : {11, 12, 13}) {
    RunDifferential({seed, true, 37, false, 6000});
    if (HasFatalFailure()) return;
  }
}

TEST(MemoryPredictionStoreTest, MatchesSqliteWithAutoCommit) {
  for (std::uint64_t seed : {21, 22}) {
    RunDifferential({seed, seed % 2 == 0, 13, true, 6000});
    if (HasFatalFailure()) return;
  }
}

TEST(MemoryPredictionStoreTest, OpenPicksTheMemoryStoreForScratch) {
  PredictionStore::Options options;
  options.durable = false;
  auto store = PredictionStore::Open("/nonexistent/dir/x.sqlite", options);
  ASSERT_TRUE(store);
  EXPECT_NE(dynamic_cast<MemoryPredictionStore*>(store->get()), nullptr);
}

}  // namespace
}  // namespace modelwatch
