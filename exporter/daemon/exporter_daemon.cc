#include "exporter/daemon/exporter_daemon.h"

#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <thread>

#include "core/html.h"
#include "exporter/baseline/baseline_profile.h"
#include "exporter/daemon/logger.h"
#include "exporter/metrics/metric_family.h"
#include "exporter/pipeline/model_trackers.h"
#include "exporter/state/checkpoint.h"
#include "exporter/tail/log_tailer.h"

namespace modelwatch {
namespace {

constexpr const char* kVersion = MODELWATCH_VERSION;

// Signals: the handlers only set flags; the ingest loop acts on them.

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void OnSignal(int sig) {
  if (sig == SIGHUP) {
    g_reload.store(true);
  } else {
    g_stop.store(true);
  }
}

}  // namespace

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Tailer counters that survive restarts: the tailer's own restart at zero.
struct Exporter::TailCounters {
  std::uint64_t lines_read = 0;
  std::uint64_t rotations_base = 0;  // restored from the checkpoint
  std::uint64_t too_long_seen = 0;   // tailer's lines_too_long already accounted for
  std::uint64_t rotations_seen = 0;  // tailer's rotations at the last poll
  std::uint64_t lag_bytes = 0;
  std::size_t files_open = 0;
  std::uint64_t positions_invalid_seen = 0;
  std::vector<std::string> unreadable;  // "path: reason" at the last poll
  bool no_match_logged = false;         // "matches no file" said since the last match

  std::uint64_t rotations() const { return rotations_base + rotations_seen; }
};

struct Exporter::ModelRuntime : ModelTrackers {
  // The model's label files (ground_truth.paths), when configured.
  std::unique_ptr<LogTailer> label_tailer;
  TailCounters label_counters;
  // Records observed since the last checkpoint saved this model's counts (true when built:
  // a restored model may not hold what its saved part says, if the config changed).
  bool changed = true;
  // The shard reading the model's source (and its label tailer).
  Shard* shard = nullptr;
};

// One set of prediction-log globs and the models reading it.
struct Exporter::Source {
  std::string name;  // the model names joined by '+'
  std::vector<std::string> patterns;
  std::vector<ModelRuntime*> models;  // parallel to the parser's models
  std::unique_ptr<RecordParser> parser;
  std::unique_ptr<LogTailer> tailer;
  TailCounters counters;
  std::array<std::uint64_t, kRejectReasonCount> rejected{};
  std::chrono::steady_clock::time_point last_reject_log{};
  std::uint64_t rejects_not_logged = 0;
};

// A share of the sources, read by one thread at a time. `mu` guards everything a poll
// changes in them: the sources' tailers, parsers, counters and reject state, and their models'
// trackers, label tailers and label counters.
struct Exporter::Shard {
  std::vector<Source*> sources;             // by name
  std::vector<ModelRuntime*> label_models;  // the sources' models with a label tailer, by name
  std::size_t model_count = 0;
  mutable std::mutex mu;
  // Readers waiting for mu. std::mutex is not fair: the poller, which releases mu after every
  // batch of lines, would take it straight back. It ends its batch at the next line when a
  // reader waits and lets the reader in first (PollShard), so a reader waits for about one
  // line per shard.
  mutable std::atomic<int> readers_waiting{0};
};

using TailCounters = Exporter::TailCounters;
using ModelRuntime = Exporter::ModelRuntime;
using Source = Exporter::Source;
using Shard = Exporter::Shard;

Exporter::Exporter(ExporterOptions options) : options_(std::move(options)) {
  options_.ingest_threads = std::max<std::size_t>(options_.ingest_threads, 1);
}
Exporter::~Exporter() {
  StopStatisticsThread();
  StopShardThreads();
}

std::size_t UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<std::size_t>(CPU_COUNT(&set));
  }
  return std::max<std::size_t>(std::thread::hardware_concurrency(), 1);
}

static std::string JoinNames(const std::vector<ModelRuntime*>& models) {
  std::string s;
  for (const ModelRuntime* m : models) s += (s.empty() ? "" : "+") + m->config.name;
  return s;
}

static nlohmann::json SaveCounters(const TailCounters& c) {
  return {{"lines_read", c.lines_read}, {"rotations", c.rotations()}};
}

// The member `key` of a restored object; null when `j` is no object or lacks it. (A checkpoint
// is read from disk: every field may have any type.)
static const nlohmann::json& SavedField(const nlohmann::json& j, const std::string& key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// A restored count: 0 unless the field is a non-negative integer.
static std::uint64_t SavedCount(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json& v = SavedField(j, key);
  return v.is_number_unsigned() ? v.get<std::uint64_t>() : 0;
}

static void RestoreCounters(TailCounters& c, const nlohmann::json& j) {
  c.lines_read = SavedCount(j, "lines_read");
  c.rotations_base = SavedCount(j, "rotations");
}

Result<void> Exporter::Build(ConfigSet config, const nlohmann::json& state) {
  std::map<std::string, std::unique_ptr<ModelRuntime>> models;
  std::vector<std::unique_ptr<Source>> sources;
  const nlohmann::json no_state = nlohmann::json::object();
  const nlohmann::json& model_states =
      state.contains("models") && state["models"].is_object() ? state["models"] : no_state;
  const nlohmann::json& source_states =
      state.contains("sources") && state["sources"].is_object() ? state["sources"] : no_state;

  for (const ModelConfig& mc : config.models) {
    auto rt = std::make_unique<ModelRuntime>();
    std::shared_ptr<const BaselineProfile> baseline;
    if (!mc.baseline.empty()) {
      auto loaded = LoadBaselineProfile(mc);
      if (!loaded) {
        ++baseline_errors_;
        return tl::unexpected(loaded.error());
      }
      baseline = std::make_shared<const BaselineProfile>(std::move(*loaded));
    }
    GroundTruthOptions gt_options;
    gt_options.max_event_time = FutureLimit();
    // Scrapes serve the last recomputation; a long one never holds the daemon's mutex.
    gt_options.recompute = GroundTruthOptions::Recompute::kBackground;
    auto built = rt->Build(mc, baseline, options_.state_dir, options_.latency_buckets, gt_options);
    if (!built && mc.ground_truth) {
      // A damaged store must not keep the other models from starting: move it aside and
      // start this model's ground truth afresh.
      const std::string path = GroundTruthTracker::StorePath(options_.state_dir, mc.name);
      if (auto check = PredictionStore::Check(path); !check) {
        auto moved = QuarantineFile(path);
        StateReset(mc.name, "groundtruth", "corrupt",
                   check.error().message + "; moved to " +
                       (moved ? *moved : "nowhere (" + moved.error().message + ")"));
        if (moved) {
          rt = std::make_unique<ModelRuntime>();
          built = rt->Build(mc, baseline, options_.state_dir, options_.latency_buckets, gt_options);
        }
      }
    }
    if (!built) return tl::unexpected(built.error());
    rt->KeepRecentRecords();
    if (rt->ground_truth && rt->ground_truth->future_rows_deleted() > 0) {
      StateReset(mc.name, "groundtruth", "future_event_time",
                 std::to_string(rt->ground_truth->future_rows_deleted()) +
                     " stored prediction(s) dated after the clock deleted");
    }
    const nlohmann::json& ms = model_states.contains(mc.name) ? model_states[mc.name] : no_state;
    if (ms.contains("serving")) {
      if (auto ok = rt->serving->RestoreState(ms["serving"]); !ok) {
        Log().Log(LogLevel::kWarn, "serving counts not restored, starting from zero",
                  {{"model", mc.name}, {"err", ok.error().message}});
        rt->ResetServing(options_.latency_buckets);
      }
    }
    if (ms.contains("drift")) {
      if (auto ok = rt->drift->RestoreState(ms["drift"]); !ok) {
        Log().Log(LogLevel::kInfo, "drift windows not restored (config or baseline changed)",
                  {{"model", mc.name}, {"err", ok.error().message}});
      }
      // A window end beyond the clock (saved before event times were bounded) would make
      // every record late: start the windows afresh instead.
      if (rt->drift->NewestEventTime() > FutureLimit()) {
        StateReset(mc.name, "drift", "future_event_time",
                   "saved window end " + std::to_string(rt->drift->NewestEventTime()) +
                       " is beyond the clock; windows start empty");
        rt->drift = std::make_shared<DriftTracker>(mc, baseline);
      }
    }
    if (rt->shadow) {
      if (ms.contains("shadow")) {
        if (auto ok = rt->shadow->RestoreState(ms["shadow"]); !ok) {
          Log().Log(LogLevel::kInfo, "shadow pairs not restored",
                    {{"model", mc.name}, {"err", ok.error().message}});
        }
        if (rt->shadow->NewestEventTime() > FutureLimit()) {
          StateReset(mc.name, "shadow", "future_event_time",
                     "saved window end is beyond the clock; shadow windows start empty");
          auto hasher = KeyedHasher::FromStateDir(options_.state_dir);
          if (!hasher) return tl::unexpected(hasher.error());
          rt->shadow = std::make_unique<ShadowTracker>(mc, *hasher);
        }
      }
    }
    if (mc.ground_truth) {
      LogTailerOptions lo;
      lo.patterns = mc.ground_truth->paths;
      lo.start_at = checkpoint_lost_ ? StartAt::kBeginning : mc.ground_truth->start_at;
      lo.max_line_bytes = mc.source.max_line_bytes;
      rt->label_tailer = std::make_unique<LogTailer>(lo);
      if (ms.contains("labels")) {
        const nlohmann::json& ls = ms["labels"];
        if (SavedField(ls, "patterns") == nlohmann::json(lo.patterns) && ls.contains("tailer")) {
          if (auto ok = rt->label_tailer->RestoreState(ls["tailer"]); !ok) {
            Log().Log(LogLevel::kWarn, "label positions not restored",
                      {{"model", mc.name}, {"err", ok.error().message}});
          }
          RestoreCounters(rt->label_counters, SavedField(ls, "counters"));
        }
      }
    }
    models.emplace(mc.name, std::move(rt));
  }

  // Models with identical path lists share one source; the model field routes its records.
  for (const ModelConfig& mc : config.models) {
    std::vector<std::string> patterns = mc.source.paths;
    std::sort(patterns.begin(), patterns.end());
    Source* found = nullptr;
    for (auto& s : sources) {
      if (s->patterns == patterns) found = s.get();
    }
    if (found == nullptr) {
      sources.push_back(std::make_unique<Source>());
      found = sources.back().get();
      found->patterns = patterns;
    }
    found->models.push_back(models.at(mc.name).get());
  }
  for (auto& s : sources) {
    s->name = JoinNames(s->models);
    std::vector<const ModelConfig*> configs;
    for (ModelRuntime* m : s->models) configs.push_back(&m->config);
    s->parser = std::make_unique<RecordParser>(configs);
    LogTailerOptions lo;
    lo.patterns = s->patterns;
    // Without the positions of a lost checkpoint, start_at: end would skip what was written
    // while the exporter was down; the files are read again (stores deduplicate).
    lo.start_at =
        checkpoint_lost_ ? StartAt::kBeginning : s->models.front()->config.source.start_at;
    for (ModelRuntime* m : s->models) {
      lo.max_line_bytes = std::max(lo.max_line_bytes, m->config.source.max_line_bytes);
    }
    s->tailer = std::make_unique<LogTailer>(lo);
    if (source_states.contains(s->name)) {
      const nlohmann::json& ss = source_states[s->name];
      if (SavedField(ss, "patterns") == nlohmann::json(s->patterns) && ss.contains("tailer")) {
        if (auto ok = s->tailer->RestoreState(ss["tailer"]); !ok) {
          Log().Log(LogLevel::kWarn, "positions not restored",
                    {{"source", s->name}, {"err", ok.error().message}});
        }
        RestoreCounters(s->counters, SavedField(ss, "counters"));
        const nlohmann::json& rejected = SavedField(ss, "rejected");
        for (int r = 0; r < kRejectReasonCount; ++r) {
          s->rejected[static_cast<std::size_t>(r)] =
              SavedCount(rejected, RejectReasonName(static_cast<RejectReason>(r)));
        }
      }
    }
  }

  config_ = std::move(config);
  models_ = std::move(models);
  sources_ = std::move(sources);
  AssignShards();
  store_errors_seen_.clear();
  for (const auto& [name, rt] : models_) {
    if (rt->ground_truth) store_errors_seen_[name] = 0;  // errors at open count too
  }
  return {};
}

void Exporter::AssignShards() {
  shards_.clear();
  // Heaviest sources (most models) first, each to the shard with the fewest models so far
  // (the lowest index on a tie): deterministic, and one model per source is round robin by
  // name.
  std::vector<Source*> order;
  for (const auto& s : sources_) order.push_back(s.get());
  std::sort(order.begin(), order.end(), [](const Source* a, const Source* b) {
    if (a->models.size() != b->models.size()) return a->models.size() > b->models.size();
    return a->name < b->name;
  });
  const std::size_t k = std::max<std::size_t>(1, std::min(options_.ingest_threads, order.size()));
  for (std::size_t i = 0; i < k; ++i) shards_.push_back(std::make_unique<Shard>());
  for (Source* s : order) {
    Shard* least = shards_.front().get();
    for (const auto& shard : shards_) {
      if (shard->model_count < least->model_count) least = shard.get();
    }
    least->sources.push_back(s);
    least->model_count += s->models.size();
    for (ModelRuntime* m : s->models) m->shard = least;
  }
  for (const auto& shard : shards_) {
    std::sort(shard->sources.begin(), shard->sources.end(),
              [](const Source* a, const Source* b) { return a->name < b->name; });
  }
  for (const auto& [name, rt] : models_) {
    if (rt->shard == nullptr) rt->shard = shards_.front().get();  // in no source (none today)
    if (rt->label_tailer) rt->shard->label_models.push_back(rt.get());
  }
  Log().Log(LogLevel::kInfo, "sources split into shards, one thread each",
            {{"shards", std::to_string(k)},
             {"sources", std::to_string(sources_.size())},
             {"ingest_threads", std::to_string(options_.ingest_threads)}});
}

bool Exporter::CheckStores() {
  bool failed = false;
  for (const auto& [name, rt] : models_) {
    if (!rt->ground_truth) continue;
    const std::uint64_t errors = rt->ground_truth->store_errors();
    std::uint64_t& seen = store_errors_seen_[name];
    if (errors > seen) {
      store_write_errors_[name] += errors - seen;
      store_down_[name] = true;
      failed = true;
      if (rt->ground_truth->store_corrupt()) corrupt_stores_.insert(name);
      Log().Log(LogLevel::kError,
                "ground-truth store write failed; read positions held back at the last "
                "checkpoint, retrying",
                {{"model", name},
                 {"err", rt->ground_truth->store_last_error()},
                 {"retry_in", std::to_string(options_.checkpoint_interval.count()) + "ms"}});
    }
    seen = errors;
  }
  return failed;
}

void Exporter::Rewind() {
  store_failing_ = true;
  ready_.store(false);
  retry_at_ = std::chrono::steady_clock::now() + options_.checkpoint_interval;
  ConfigSet config = config_;
  // Stores must close (their uncommitted writes roll back) before they are reopened.
  shards_.clear();
  models_.clear();
  sources_.clear();
  for (const std::string& name : corrupt_stores_) {
    const std::string path = GroundTruthTracker::StorePath(options_.state_dir, name);
    auto moved = QuarantineFile(path);
    StateReset(name, "groundtruth", "corrupt",
               "the store reported damage while running; moved to " +
                   (moved ? *moved : "nowhere (" + moved.error().message + ")"));
  }
  corrupt_stores_.clear();
  if (auto built = Build(std::move(config), RestorePoint()); !built) {
    Log().Log(LogLevel::kError, "cannot rebuild from the last checkpoint, retrying",
              {{"err", built.error().ToString()}});
  }
}

// The bulk of a model's state: its counts and windows (a checkpoint part of its own).
static nlohmann::json SaveModelCounts(const ModelRuntime& rt) {
  nlohmann::json m = {{"serving", rt.serving->SaveState()}, {"drift", rt.drift->SaveState()}};
  if (rt.shadow) m["shadow"] = rt.shadow->SaveState();
  return m;
}

nlohmann::json Exporter::SaveState(bool with_counts) const {
  nlohmann::json models = nlohmann::json::object();
  for (const auto& [name, rt] : models_) {
    nlohmann::json m = with_counts ? SaveModelCounts(*rt) : nlohmann::json::object();
    if (rt->label_tailer) {
      m["labels"] = {{"patterns", rt->config.ground_truth->paths},
                     {"tailer", rt->label_tailer->SaveState()},
                     {"counters", SaveCounters(rt->label_counters)}};
    }
    models[name] = std::move(m);
  }
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& s : sources_) {
    nlohmann::json rejected = nlohmann::json::object();
    for (int r = 0; r < kRejectReasonCount; ++r) {
      rejected[RejectReasonName(static_cast<RejectReason>(r))] =
          s->rejected[static_cast<std::size_t>(r)];
    }
    sources[s->name] = {{"patterns", s->patterns},
                        {"tailer", s->tailer->SaveState()},
                        {"counters", SaveCounters(s->counters)},
                        {"rejected", rejected}};
  }
  return {{"models", models}, {"sources", sources}, {"saved_at", WallSeconds()}};
}

nlohmann::json Exporter::RestorePoint() const {
  if (!checkpoint_written_) return nlohmann::json::object();
  auto saved = ReadCheckpoint(options_.state_dir);
  if (!saved || !saved->has_value()) {
    Log().Log(LogLevel::kError, "cannot read back the last checkpoint; rebuilding without it",
              {{"err", saved ? std::string("it is gone") : saved.error().message}});
    return nlohmann::json::object();
  }
  return std::move((*saved)->state);
}

double Exporter::FutureLimit() const {
  return WallSeconds() + static_cast<double>(options_.future_tolerance.count());
}

void Exporter::StateReset(const std::string& model, const std::string& part,
                          const std::string& reason, const std::string& detail) {
  {
    std::lock_guard<std::mutex> lock(resets_mu_);
    ++state_resets_[{part, reason}];
  }
  Log().Log(LogLevel::kWarn, "saved state discarded",
            {{"model", model}, {"part", part}, {"reason", reason}, {"detail", detail}});
}

MultiResult<void> Exporter::Start() {
  auto config = LoadConfigDir(options_.config_dir);
  if (!config) return tl::unexpected(config.error());
  nlohmann::json state = nlohmann::json::object();
  std::uint64_t sequence = 0;
  auto saved = ReadCheckpoint(options_.state_dir);
  std::lock_guard<std::mutex> lock(mu_);
  // Kept for inspection; without its positions every file is read from the beginning.
  const auto lose_checkpoint = [this](const std::string& reason, const std::string& why) {
    auto moved = QuarantineFile(CheckpointPath(options_.state_dir));
    StateReset("", "checkpoint", reason,
               why + "; moved to " + (moved ? *moved : "nowhere (" + moved.error().message + ")") +
                   "; files are read from the beginning");
    checkpoint_lost_ = true;
    checkpoint_written_ = false;
  };
  if (!saved) {
    lose_checkpoint("corrupt", saved.error().message);
  } else if (saved->has_value()) {
    state = std::move((*saved)->state);
    sequence = (*saved)->sequence;
    checkpoint_written_ = true;
    Log().Log(LogLevel::kInfo, "restoring state", {{"path", CheckpointPath(options_.state_dir)}});
  }
  writer_ = std::make_unique<CheckpointWriter>(options_.state_dir, sequence);
  Result<void> built;
  try {
    built = Build(*config, state);
  } catch (const nlohmann::json::exception& e) {
    // Every restore step checks the fields it reads; should one still meet a field of an
    // unexpected type, the checkpoint is damaged, not the exporter: start without it. (Its
    // own reason, so that checkpoint_fuzz tells this from a checkpoint that does not parse.)
    lose_checkpoint("invalid_field",
                    "checkpoint " + CheckpointPath(options_.state_dir) + ": " + e.what());
    checkpoint_written_ = false;
    built = Build(std::move(*config), nlohmann::json::object());
  }
  checkpoint_lost_ = false;
  if (!built) return tl::unexpected(std::vector<Error>{built.error()});
  for (const auto& [name, rt] : models_) {
    Log().Log(LogLevel::kInfo, "model loaded",
              {{"model", name},
               {"task", TaskName(rt->config.task)},
               {"baseline", rt->baseline ? rt->baseline->id : std::string("none")}});
  }
  return {};
}

void Exporter::LogRejects(Source& source, const Rejection& why) {
  auto now = std::chrono::steady_clock::now();
  if (now - source.last_reject_log < std::chrono::seconds(5)) {
    ++source.rejects_not_logged;
    return;
  }
  source.last_reject_log = now;
  Log().Log(LogLevel::kWarn, "line rejected",
            {{"source", source.name},
             {"reason", RejectReasonName(why.reason)},
             {"field", std::string(why.field)},
             {"suppressed_since_last", std::to_string(source.rejects_not_logged)}});
  source.rejects_not_logged = 0;
}

static void UpdateTailCounters(TailCounters& c, const LogTailer& tailer, const std::string& kind,
                               const std::string& source, std::uint64_t& too_long_new,
                               std::uint64_t& invalid_new) {
  LogTailerStats st = tailer.Stats();
  // A glob that matches nothing reads nothing and looks healthy: say so once (again after a
  // reload, which rebuilds the counters), and again should it match nothing after matching.
  const bool none = tailer.Scanned() && st.files_open == 0 && st.unreadable.empty();
  if (none && !c.no_match_logged) {
    std::string globs;
    for (const std::string& p : tailer.patterns()) globs += (globs.empty() ? "" : " ") + p;
    Log().Log(LogLevel::kWarn, "source matches no file; nothing is read until one appears",
              {{"kind", kind}, {"source", source}, {"paths", globs}});
  }
  c.no_match_logged = none;
  invalid_new = st.positions_invalid - c.positions_invalid_seen;
  c.positions_invalid_seen = st.positions_invalid;
  too_long_new = st.lines_too_long - c.too_long_seen;
  c.too_long_seen = st.lines_too_long;
  c.rotations_seen = st.rotations;
  c.lag_bytes = st.lag_bytes;
  c.files_open = st.files_open;
  if (st.unreadable != c.unreadable) {
    for (const std::string& f : st.unreadable) {
      if (std::find(c.unreadable.begin(), c.unreadable.end(), f) == c.unreadable.end()) {
        Log().Log(LogLevel::kError, "log file cannot be opened; retrying at every poll",
                  {{"file", f}});
      }
    }
    c.unreadable = st.unreadable;
  }
}

void Exporter::PollShard(Shard& shard) {
  // The lock is taken per batch of lines, and a batch ends early at the next line when a
  // reader (a scrape, the statistics thread) is waiting, so a reader waits for one line's work
  // rather than a whole batch.
  constexpr int kBatch = 4096;
  std::unique_lock<std::mutex> lock(shard.mu, std::defer_lock);
  int in_batch = 0;
  auto enter = [&] {
    if (!lock.owns_lock()) lock.lock();
  };
  auto leave = [&] {
    if (++in_batch >= kBatch || shard.readers_waiting.load(std::memory_order_relaxed) > 0) {
      lock.unlock();
      in_batch = 0;
      YieldToReaders(shard);
    }
  };
  // Event times are bounded by the clock, read again at every batch.
  double future_limit = FutureLimit();
  for (Source* sp : shard.sources) {
    Source& s = *sp;
    s.tailer->Poll([&](std::string_view line) {
      enter();
      if (in_batch == 0) future_limit = FutureLimit();
      ++s.counters.lines_read;
      auto parsed = s.parser->Parse(line);
      if (!parsed) {
        ++s.rejected[static_cast<std::size_t>(parsed.error().reason)];
        LogRejects(s, parsed.error());
      } else if (const Record& record = s.parser->record(); record.timestamp > future_limit) {
        const Rejection why{RejectReason::kFutureTimestamp,
                            s.models[*parsed]->config.source.fields.timestamp};
        ++s.rejected[static_cast<std::size_t>(why.reason)];
        LogRejects(s, why);
      } else {
        ModelRuntime& m = *s.models[*parsed];
        m.Observe(record);
        m.changed = true;
      }
      leave();
    });
    enter();
    std::uint64_t too_long = 0, invalid = 0;
    UpdateTailCounters(s.counters, *s.tailer, "predictions", s.name, too_long, invalid);
    for (std::uint64_t i = 0; i < invalid; ++i) {
      StateReset(s.name, "positions", "invalid_offset",
                 "a saved offset does not fit its file (past its end or edited); the file "
                 "resumes after its last newline instead of being counted again");
    }
    s.counters.lines_read += too_long;
    s.rejected[static_cast<std::size_t>(RejectReason::kTooLong)] += too_long;
  }
  for (ModelRuntime* rt : shard.label_models) {
    ModelRuntime& m = *rt;
    const std::string& name = m.config.name;
    m.label_tailer->Poll([&](std::string_view line) {
      enter();
      ++m.label_counters.lines_read;
      const LinePosition& at = m.label_tailer->CurrentLine();
      const GroundTruthTracker::LineSource source{at.dev, at.ino, at.end_offset};
      m.ground_truth->ObserveLabelLine(line, &source);
      leave();
    });
    enter();
    std::uint64_t too_long = 0, invalid = 0;
    UpdateTailCounters(m.label_counters, *m.label_tailer, "labels", name, too_long, invalid);
    for (std::uint64_t i = 0; i < invalid; ++i) {
      StateReset(name, "positions", "invalid_offset",
                 "a saved label-file offset does not fit its file; it resumes after its last "
                 "newline");
    }
    m.label_counters.lines_read += too_long;
  }
}

void Exporter::PollOnce() {
  if (shards_.size() <= 1 || shard_threads_.empty()) {
    for (const auto& shard : shards_) PollShard(*shard);
  } else {
    // shards_ changes only on this thread, between rounds (under mu_); the round's start and
    // end (round_mu_) order those changes before and after what the shard threads do.
    {
      std::lock_guard<std::mutex> lock(round_mu_);
      round_pending_ = shard_threads_.size();
      ++round_;
    }
    round_start_.notify_all();
    PollShard(*shards_.front());
    std::unique_lock<std::mutex> lock(round_mu_);
    round_done_.wait(lock, [this] { return round_pending_ == 0; });
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (CheckStores()) Rewind();
  const bool store_failing = store_failing_;
  lock.unlock();
  bool ready = !store_failing;
  for (const auto& s : sources_) {
    ready = ready && s->tailer->Scanned() && s->counters.unreadable.empty();
  }
  for (const auto& [name, rt] : models_) {
    if (rt->label_tailer) {
      ready = ready && rt->label_tailer->Scanned() && rt->label_counters.unreadable.empty();
    }
  }
  if (ready && !ready_.load()) Log().Log(LogLevel::kInfo, "every source scanned; ready");
  ready_.store(ready);
}

void Exporter::StartShardThreads() {
  for (std::size_t i = 1; i < options_.ingest_threads; ++i) {
    shard_threads_.emplace_back([this, i] { ShardThread(i); });
  }
}

void Exporter::StopShardThreads() {
  {
    std::lock_guard<std::mutex> lock(round_mu_);
    shard_threads_quit_ = true;
  }
  round_start_.notify_all();
  for (std::thread& t : shard_threads_) t.join();
  shard_threads_.clear();
  shard_threads_quit_ = false;
}

void Exporter::ShardThread(std::size_t index) {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(round_mu_);
      round_start_.wait(lock, [&] { return shard_threads_quit_ || round_ != seen; });
      if (shard_threads_quit_) return;
      seen = round_;
    }
    // Fewer shards than threads (fewer sources than --ingest.threads): nothing to read.
    if (index < shards_.size()) PollShard(*shards_[index]);
    {
      std::lock_guard<std::mutex> lock(round_mu_);
      if (--round_pending_ == 0) round_done_.notify_one();
    }
  }
}

void Exporter::Checkpoint() {
  auto began = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  // Rewound after a failed write and not retried yet: the last checkpoint stays.
  if (store_failing_ && began < retry_at_) return;
  // Ground-truth stores first: a checkpoint must never be ahead of what they hold. A store
  // that cannot write holds every read position back at the last checkpoint.
  for (auto& [name, rt] : models_) {
    if (rt->ground_truth) rt->ground_truth->Flush();
  }
  if (CheckStores() || models_.empty()) {
    Rewind();
    return;
  }
  if (store_failing_) {
    Log().Log(LogLevel::kInfo, "ground-truth stores write again");
    store_failing_ = false;
  }
  for (auto& [name, down] : store_down_) down = false;
  lock.unlock();
  // The rest runs without the mutex, so scrapes go on: every change to what a checkpoint saves
  // (positions, counts, windows) is made in a poll round (none runs now: rounds are started by
  // this thread, which is busy here) or on this thread (reloads, rewinds), and scrapes only
  // read. Models are saved one at a time (only one model's
  // document is in memory at once); a model that read no record since the last checkpoint
  // keeps its file.
  const nlohmann::json state = SaveState(/*with_counts=*/false);
  std::vector<std::string> names;
  for (const auto& [name, rt] : models_) names.push_back(name);
  std::vector<ModelRuntime*> saved;
  auto written =
      writer_->Write(state, names, [&](const std::string& name) -> std::optional<nlohmann::json> {
        ModelRuntime& rt = *models_.at(name);
        if (!rt.changed && writer_->HasPart(name)) return std::nullopt;
        saved.push_back(&rt);
        return SaveModelCounts(rt);
      });
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  lock.lock();
  if (!written) {
    ++checkpoint_failures_;
    Log().Log(LogLevel::kError, "checkpoint failed", {{"err", written.error().message}});
    return;
  }
  for (ModelRuntime* rt : saved) rt->changed = false;
  checkpoint_written_ = true;
  last_checkpoint_time_ = WallSeconds();
  last_checkpoint_duration_ = took;
  last_checkpoint_bytes_ = written->total_bytes;
  Log().Log(LogLevel::kDebug, "checkpoint written",
            {{"bytes", std::to_string(written->bytes_written)},
             {"models_saved", std::to_string(written->parts_written)}});
}

void Exporter::Reload() {
  Log().Log(LogLevel::kInfo, "reloading configuration", {{"dir", options_.config_dir}});
  // The web config and the model configuration are applied each on its own; the reload
  // counts as successful only when both were.
  bool web_ok = true;
  if (options_.reload_web_config) {
    if (auto web = options_.reload_web_config(); !web) {
      Log().Log(LogLevel::kError, "web config error, keeping the running web config",
                {{"file", web.error().location.file}, {"err", web.error().ToString()}});
      web_ok = false;
    } else {
      Log().Log(LogLevel::kInfo, "web config reloaded");
    }
  }
  auto config = LoadConfigDir(options_.config_dir);
  std::lock_guard<std::mutex> lock(mu_);
  last_reload_time_ = WallSeconds();
  const auto count = [this](bool ok) {
    ++(ok ? reloads_ok_ : reloads_failed_);
    last_reload_ok_ = ok;
  };
  if (!config) {
    for (const Error& e : config.error()) {
      Log().Log(LogLevel::kError, "config error, keeping the running configuration",
                {{"err", e.ToString()}});
    }
    count(false);
    return;
  }
  for (auto& [name, rt] : models_) {
    if (rt->ground_truth) rt->ground_truth->Flush();
  }
  // Unchanged models keep their counts and positions: the new objects restore the state
  // the old ones hand over, exactly as after a restart (the last checkpoint's when a store
  // could not write what the running state counts).
  const bool failing = CheckStores() || store_failing_;
  nlohmann::json state = failing ? RestorePoint() : SaveState(/*with_counts=*/true);
  auto old_config = config_;
  // Trackers holding files (ground-truth stores) must close before they are reopened.
  shards_.clear();
  models_.clear();
  sources_.clear();
  if (auto built = Build(std::move(*config), state); !built) {
    Log().Log(LogLevel::kError, "reload failed, keeping the running configuration",
              {{"err", built.error().ToString()}});
    count(false);
    if (auto again = Build(std::move(old_config), state); !again) {
      Log().Log(LogLevel::kError, "cannot rebuild the previous configuration",
                {{"err", again.error().ToString()}});
    }
    return;
  }
  count(web_ok);
  ready_.store(false);
  Log().Log(LogLevel::kInfo, "configuration reloaded",
            {{"models", std::to_string(models_.size())}});
}

void Exporter::Run() {
  StartShardThreads();
  // A run stopped before it began reads once and returns: nothing to schedule.
  if (!g_stop.load()) StartStatisticsThread();
  auto last_checkpoint = std::chrono::steady_clock::now();
  std::size_t wait_turn = 0;
  while (!g_stop.load()) {
    if (g_reload.exchange(false)) Reload();
    bool waiting, retry;
    {
      std::lock_guard<std::mutex> lock(mu_);
      retry = store_failing_;
      waiting = retry && std::chrono::steady_clock::now() < retry_at_;
    }
    if (waiting) {  // a store failed: read nothing until the retry
      std::this_thread::sleep_for(options_.poll_interval);
      continue;
    }
    PollOnce();
    // After a retry's poll, commit and checkpoint at once: that tells whether the store
    // writes again.
    if (retry ||
        std::chrono::steady_clock::now() - last_checkpoint >= options_.checkpoint_interval) {
      Checkpoint();
      last_checkpoint = std::chrono::steady_clock::now();
    }
    if (g_stop.load()) break;
    // Each tailer has its own change notification; poll them all without blocking, then
    // block on one of them (in turn) for a short while.
    std::vector<LogTailer*> tailers;
    for (auto& s : sources_) tailers.push_back(s->tailer.get());
    for (auto& [name, rt] : models_) {
      if (rt->label_tailer) tailers.push_back(rt->label_tailer.get());
    }
    bool changed = false;
    for (LogTailer* t : tailers)
      changed = t->WaitForChange(std::chrono::milliseconds(0)) || changed;
    if (changed) continue;
    if (tailers.empty()) {
      std::this_thread::sleep_for(options_.poll_interval);
    } else {
      tailers[wait_turn++ % tailers.size()]->WaitForChange(options_.poll_interval);
    }
  }
  PollOnce();
  StopStatisticsThread();
  StopShardThreads();
  Checkpoint();
  Log().Log(LogLevel::kInfo, "state flushed, exiting");
}

static prometheus::MetricFamily& AddFamily(std::vector<prometheus::MetricFamily>& out,
                                           const MetricSpec& spec) {
  out.push_back(MakeFamily(spec));
  return out.back();
}

static void AddSample(prometheus::MetricFamily& f,
                      std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

void Exporter::AppendSelfMetrics(std::vector<prometheus::MetricFamily>& out) const {
  // References to families stay valid only while `out` does not reallocate.
  out.reserve(out.size() + 32);
  auto& build = AddFamily(out, metric::kModelwatchBuildInfo);
  AddSample(build, {{"version", kVersion}, {"compiler", "gcc " __VERSION__}}, 1);
  auto& read = AddFamily(out, metric::kModelwatchLinesReadTotal);
  auto& rejected = AddFamily(out, metric::kModelwatchLinesRejectedTotal);
  auto& rotations = AddFamily(out, metric::kModelwatchFileRotationsTotal);
  auto& lag = AddFamily(out, metric::kModelwatchSourceLagBytes);
  auto& files = AddFamily(out, metric::kModelwatchSourceFilesOpen);
  auto& unreadable = AddFamily(out, metric::kModelwatchSourceFilesUnreadable);
  auto add_tail = [&](const std::string& source, const char* kind, const TailCounters& c) {
    AddSample(read, {{"kind", kind}, {"source", source}}, static_cast<double>(c.lines_read));
    AddSample(rotations, {{"kind", kind}, {"source", source}}, static_cast<double>(c.rotations()));
    AddSample(lag, {{"kind", kind}, {"source", source}}, static_cast<double>(c.lag_bytes));
    AddSample(files, {{"kind", kind}, {"source", source}}, static_cast<double>(c.files_open));
    AddSample(unreadable, {{"kind", kind}, {"source", source}},
              static_cast<double>(c.unreadable.size()));
  };
  for (const auto& s : sources_) {
    add_tail(s->name, "predictions", s->counters);
    for (int r = 0; r < kRejectReasonCount; ++r) {
      AddSample(rejected,
                {{"reason", RejectReasonName(static_cast<RejectReason>(r))}, {"source", s->name}},
                static_cast<double>(s->rejected[static_cast<std::size_t>(r)]));
    }
  }
  for (const auto& [name, rt] : models_) {
    if (rt->label_tailer) add_tail(name, "labels", rt->label_counters);
  }
  auto& ready = AddFamily(out, metric::kModelwatchReady);
  AddSample(ready, {}, ready_.load() ? 1 : 0);
  auto& started = AddFamily(out, metric::kModelwatchStartTimeSeconds);
  AddSample(started, {}, start_time_);
  auto& ck_time = AddFamily(out, metric::kModelwatchCheckpointLastSuccessTimestampSeconds);
  AddSample(ck_time, {}, last_checkpoint_time_);
  auto& ck_age = AddFamily(out, metric::kModelwatchCheckpointAgeSeconds);
  AddSample(ck_age, {},
            WallSeconds() - (last_checkpoint_time_ > 0 ? last_checkpoint_time_ : start_time_));
  auto& ck_dur = AddFamily(out, metric::kModelwatchCheckpointDurationSeconds);
  AddSample(ck_dur, {}, last_checkpoint_duration_);
  auto& ck_bytes = AddFamily(out, metric::kModelwatchCheckpointSizeBytes);
  AddSample(ck_bytes, {}, static_cast<double>(last_checkpoint_bytes_));
  auto& ck_fail = AddFamily(out, metric::kModelwatchCheckpointFailuresTotal);
  AddSample(ck_fail, {}, static_cast<double>(checkpoint_failures_));
  auto& reloads = AddFamily(out, metric::kModelwatchConfigReloadsTotal);
  AddSample(reloads, {{"result", "success"}}, static_cast<double>(reloads_ok_));
  AddSample(reloads, {{"result", "failure"}}, static_cast<double>(reloads_failed_));
  auto& reload_ok = AddFamily(out, metric::kModelwatchConfigLastReloadSuccessful);
  AddSample(reload_ok, {}, last_reload_ok_ ? 1 : 0);
  auto& models = AddFamily(out, metric::kModelwatchModels);
  AddSample(models, {}, static_cast<double>(models_.size()));
  auto& store_errors = AddFamily(out, metric::kModelwatchStoreWriteErrorsTotal);
  auto& store_up = AddFamily(out, metric::kModelwatchStoreUp);
  for (const auto& [name, rt] : models_) {
    if (!rt->ground_truth) continue;
    auto e = store_write_errors_.find(name);
    AddSample(store_errors, {{"model", name}},
              static_cast<double>(e == store_write_errors_.end() ? 0 : e->second));
    auto d = store_down_.find(name);
    AddSample(store_up, {{"model", name}}, d != store_down_.end() && d->second ? 0 : 1);
  }
  auto& resets = AddFamily(out, metric::kModelwatchStateResetsTotal);
  std::lock_guard<std::mutex> lock(resets_mu_);
  for (const auto& [key, n] : state_resets_) {
    AddSample(resets, {{"part", key.first}, {"reason", key.second}}, static_cast<double>(n));
  }
}

std::vector<std::unique_lock<std::mutex>> Exporter::ReaderLocks(std::size_t first,
                                                                std::size_t end) const {
  std::vector<std::unique_lock<std::mutex>> locks;
  for (std::size_t i = first; i < end && i < shards_.size(); ++i) {
    const Shard& shard = *shards_[i];
    shard.readers_waiting.fetch_add(1, std::memory_order_acq_rel);
    locks.emplace_back(shard.mu);
    shard.readers_waiting.fetch_sub(1, std::memory_order_acq_rel);
  }
  return locks;
}

// Called by a shard's poller with its mutex released: until every waiting reader has taken it
// (or 20 ms have passed, should one never be scheduled), stand back.
void Exporter::YieldToReaders(const Shard& shard) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  while (shard.readers_waiting.load(std::memory_order_acquire) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
}

void Exporter::CollectAll(Exposition& out) {
  // Under the locks only what reads the counters: every tracker's families but drift's (the
  // serving families as text kept until they change), and per model either the drift text the
  // statistics thread last published (with a statistics interval) or, for a model that has
  // none yet or without one, its windows summed (TakeTotals). The drift statistics, most of a
  // scrape's work, are computed after the locks are released, so ingest waits for the copy,
  // not for the statistics, and served as text a tracker keeps until its windows change
  // (DriftTracker::Render).
  struct DriftPart {
    std::string model;
    std::shared_ptr<const DriftTracker> tracker;  // kept alive across a reload
    std::shared_ptr<const DriftTracker::Totals> totals;
    RenderedFamilies text;  // published text, when there is any
  };
  const bool published = options_.statistics_interval.count() > 0;
  std::vector<DriftPart> drift;
  {
    // Every shard at once (taken in shard order, so readers never deadlock): one scrape is a
    // consistent cut of every model, as with one ingest thread.
    std::lock_guard<std::mutex> lock(mu_);
    auto shard_locks = ReaderLocks(0, shards_.size());
    drift.reserve(models_.size());
    for (const auto& [name, rt] : models_) {
      // One bad model never fails a scrape.
      try {
        // Serving text is written when its counts changed, else the last text is served.
        out.AddInPlace(rt->serving->Render());
        DriftPart& part = drift.emplace_back();
        part.model = name;
        part.tracker = rt->drift;
        if (published) part.text = rt->drift->LastPublished().text;
        if (!part.text) part.totals = rt->drift->TakeTotals();
        if (rt->ground_truth) rt->ground_truth->Collect(out.families);
        if (rt->shadow) rt->shadow->Collect(out.families);
      } catch (const std::exception& e) {
        Log().Log(LogLevel::kError, "collect failed", {{"model", name}, {"err", e.what()}});
      }
    }
    AppendSelfMetrics(out.families);
  }
  for (DriftPart& p : drift) {
    try {
      out.rendered.push_back(p.text ? std::move(p.text) : p.tracker->Render(*p.totals));
    } catch (const std::exception& e) {
      Log().Log(LogLevel::kError, "collect failed", {{"model", p.model}, {"err", e.what()}});
    }
  }
}

std::size_t Exporter::ComputeStatistics() {
  struct Pending {
    std::string model;
    std::shared_ptr<const DriftTracker> tracker;  // kept alive across a reload
    std::shared_ptr<const DriftTracker::Totals> totals;
  };
  std::vector<Pending> pending;
  {
    // A reader like a scrape: a consistent cut of every model. Only the models whose windows
    // changed since their text was published are copied (a sum over the sub-windows each).
    std::lock_guard<std::mutex> lock(mu_);
    auto shard_locks = ReaderLocks(0, shards_.size());
    for (const auto& [name, rt] : models_) {
      const DriftTracker::Published last = rt->drift->LastPublished();
      if (last.text && last.generation == rt->drift->generation()) continue;
      try {
        pending.push_back({name, rt->drift, rt->drift->TakeTotals()});
      } catch (const std::exception& e) {
        Log().Log(LogLevel::kError, "statistics failed", {{"model", name}, {"err", e.what()}});
      }
    }
  }
  if (options_.statistics_started) options_.statistics_started();
  for (const Pending& p : pending) {
    try {
      p.tracker->Render(*p.totals);  // publishes
    } catch (const std::exception& e) {
      Log().Log(LogLevel::kError, "statistics failed", {{"model", p.model}, {"err", e.what()}});
    }
  }
  return pending.size();
}

void Exporter::StartStatisticsThread() {
  if (options_.statistics_interval.count() <= 0 || statistics_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(statistics_mu_);
    statistics_quit_ = false;
  }
  statistics_thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(statistics_mu_);
    while (!statistics_quit_) {
      // A round starts at most once per interval; one that took longer is followed at once.
      const auto next = std::chrono::steady_clock::now() + options_.statistics_interval;
      lock.unlock();
      ComputeStatistics();
      lock.lock();
      statistics_wake_.wait_until(lock, next, [this] { return statistics_quit_; });
    }
  });
}

void Exporter::StopStatisticsThread() {
  if (!statistics_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(statistics_mu_);
    statistics_quit_ = true;
  }
  statistics_wake_.notify_all();
  statistics_thread_.join();
}

std::optional<std::string> Exporter::Sample(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(model);
  if (it == models_.end() || !it->second->recent) return std::nullopt;
  std::size_t index = 0;
  while (index < shards_.size() && shards_[index].get() != it->second->shard) ++index;
  auto shard_lock = ReaderLocks(index, index + 1);
  return it->second->recent->ToJson();
}

std::string Exporter::LandingPage() {
  // What a row shows of a model, copied under the locks; the drift statistics (the degradation
  // score) are the statistics thread's last published ones or computed after the locks are
  // released, as for a scrape (CollectAll).
  struct Row {
    std::string name, task, owner, files_cell;
    int tier = 0;
    std::vector<std::string> versions;
    double notify_at = 0, page_at = 0;
    bool sample = false;
  };
  std::vector<Row> rows;
  std::vector<prometheus::MetricFamily> families;
  struct DriftPart {
    std::shared_ptr<const DriftTracker> tracker;
    std::shared_ptr<const DriftTracker::Totals> totals;
    std::shared_ptr<const std::vector<DriftSample>> samples;  // published, when there are any
  };
  const bool published = options_.statistics_interval.count() > 0;
  std::vector<DriftPart> drift;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto shard_locks = ReaderLocks(0, shards_.size());
    for (const auto& [name, rt] : models_) {
      rt->serving->Collect(families);
      DriftPart& part = drift.emplace_back();
      part.tracker = rt->drift;
      if (published) part.samples = rt->drift->LastPublished().samples;
      if (!part.samples) part.totals = rt->drift->TakeTotals();
      // Prediction files of the model's source: a glob that matches nothing shows here.
      std::size_t files = 0;
      bool scanned = false;
      for (const auto& s : sources_) {
        if (std::find(s->models.begin(), s->models.end(), rt.get()) == s->models.end()) continue;
        files += s->counters.files_open;
        scanned = scanned || s->tailer->Scanned();
      }
      Row row;
      row.name = name;
      row.task = TaskName(rt->config.task);
      row.owner = rt->config.owner.team;
      row.tier = rt->config.tier;
      row.files_cell = files > 0 || !scanned ? std::to_string(files)
                                             : "<span class=\"warn\">0: no file matches the "
                                               "source paths</span>";
      row.versions = rt->serving->Versions();
      if (row.versions.empty()) row.versions.push_back("");
      row.notify_at = rt->config.degradation.notify_at;
      row.page_at = rt->config.degradation.page_at;
      row.sample = rt->recent != nullptr;
      rows.push_back(std::move(row));
    }
  }
  for (const DriftPart& p : drift) {
    DriftTracker::AppendToFamilies(p.samples ? *p.samples : p.tracker->Compute(*p.totals),
                                   families);
  }
  // model/version -> value, from the families a scrape would serve, so the page and
  // /metrics always agree.
  using Key = std::pair<std::string, std::string>;
  std::map<Key, double> degradation, predictions, errors;
  for (const auto& f : families) {
    std::map<Key, double>* target = f.name == metric::kModelDegradationScore.name   ? &degradation
                                    : f.name == metric::kModelPredictionsTotal.name ? &predictions
                                    : f.name == metric::kModelPredictionErrorsTotal.name ? &errors
                                                                                         : nullptr;
    if (target == nullptr) continue;
    for (const auto& m : f.metric) {
      std::string model, version;
      for (const auto& l : m.label) {
        if (l.name == "model") model = l.value;
        if (l.name == "version") version = l.value;
      }
      double v = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      (*target)[{model, version}] += v;  // errors: summed over error_type
    }
  }
  auto value_of = [](const std::map<Key, double>& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? 0.0 : it->second;
  };
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>modelwatch exporter"
       << "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
       << "collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
       << ".ok{color:#080}.warn{color:#b60}.bad{color:#c00}</style></head><body>\n"
       << "<h1>modelwatch exporter</h1>\n<p>Version " << HtmlEscape(kVersion) << " &middot; "
       << (ready_.load() ? "ready" : "starting (sources not scanned yet)") << "</p>\n"
       << "<p><a href=\"" << HtmlEscape(options_.telemetry_path)
       << "\">Metrics</a> &middot; <a href=\"/-/healthy\">"
       << "Health</a> &middot; <a href=\"/-/ready\">Readiness</a></p>\n"
       << "<h2>Models</h2>\n<table><tr><th>Model</th><th>Task</th><th>Tier</th><th>Owner</th>"
       << "<th>Log files open</th><th>Version</th><th>Predictions</th><th>Errors</th>"
       << "<th>Degradation score</th><th>Sample</th></tr>\n";
  for (const Row& row : rows) {
    for (const std::string& v : row.versions) {
      html << "<tr><td>" << HtmlEscape(row.name) << "</td><td>" << row.task << "</td><td>"
           << row.tier << "</td><td>" << HtmlEscape(row.owner) << "</td><td>" << row.files_cell
           << "</td><td>" << (v.empty() ? "<i>none seen yet</i>" : HtmlEscape(v)) << "</td>";
      html << "<td>" << static_cast<std::uint64_t>(value_of(predictions, {row.name, v}))
           << "</td><td>" << static_cast<std::uint64_t>(value_of(errors, {row.name, v})) << "</td>";
      auto it = degradation.find({row.name, v});
      if (it == degradation.end()) {
        html << "<td>n/a</td>";
      } else {
        const char* cls = it->second >= row.page_at     ? "bad"
                          : it->second >= row.notify_at ? "warn"
                                                        : "ok";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", it->second);
        html << "<td class=\"" << cls << "\">" << buf << "</td>";
      }
      html << "<td>";
      if (row.sample) {
        html << "<a href=\"/api/v1/samples/" << HtmlEscape(row.name) << "\">recent records</a>";
      }
      html << "</td></tr>\n";
    }
  }
  html << "</table>\n</body></html>\n";
  return html.str();
}

}  // namespace modelwatch
