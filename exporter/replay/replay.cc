#include "exporter/replay/replay.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <queue>
#include <sstream>
#include <thread>

#include "core/temp_dir.h"
#include "exporter/groundtruth/label_parser.h"
#include "exporter/metrics/metric_family.h"
#include "exporter/parse/record_parser.h"
#include "exporter/pipeline/model_trackers.h"
#include "exporter/replay/openmetrics_writer.h"

namespace modelwatch {
namespace {

// More steps than this is almost certainly a --step mistake (a year at one second).
constexpr double kMaxSteps = 5e6;
// Records on either side of a record whose median event time is the replay's "now".
constexpr std::size_t kLogClockHalfWidth = 50;

// Label lines in time order with bounded memory. Lines are read in file order into a min-heap
// (by time, then file order) until one more than kLabelLookahead past the step has been read,
// or kMaxHeldLabels lines are held: a label log in time order within that look-ahead (as one
// written when labels arrive is) replays exactly in time order; a line further out of order
// goes out at the next step. A line that parses for no model has no time and goes out at once
// (counted as rejected).
constexpr double kLabelLookahead = 3600;
constexpr std::size_t kMaxHeldLabels = 1'000'000;

class LabelStream {
 public:
  struct Held {
    double ts;
    std::uint64_t order;
    std::string line;
  };

  LabelStream(std::istream& in, std::vector<std::unique_ptr<LabelParser>> parsers)
      : in_(in), parsers_(std::move(parsers)) {}

  // Reads ahead for the step at `at`.
  void ReadFor(double at) {
    std::string line;
    while (!done_ && newest_read_ <= at + kLabelLookahead && held_.size() < kMaxHeldLabels) {
      if (!std::getline(in_, line)) {
        done_ = true;
        break;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      double ts = -INFINITY;
      for (auto& parser : parsers_) {
        if (auto parsed = parser->Parse(line)) {
          ts = parsed->timestamp;
          break;
        }
      }
      newest_read_ = std::max(newest_read_, ts);
      held_.push(Held{ts, read_++, std::move(line)});
    }
  }
  bool empty() const { return held_.empty(); }
  const Held& top() const { return held_.top(); }
  void pop() { held_.pop(); }
  // True when every line has been read and none is later than `at`.
  bool AllDueBy(double at) const { return done_ && newest_read_ <= at; }
  std::uint64_t lines() const { return read_; }
  bool bad() const { return in_.bad(); }

 private:
  struct Later {
    bool operator()(const Held& a, const Held& b) const {
      return a.ts != b.ts ? a.ts > b.ts : a.order > b.order;
    }
  };
  std::istream& in_;
  std::vector<std::unique_ptr<LabelParser>> parsers_;
  std::priority_queue<Held, std::vector<Held>, Later> held_;
  double newest_read_ = -INFINITY;
  std::uint64_t read_ = 0;
  bool done_ = false;
};

void AddCounter(std::vector<prometheus::MetricFamily>& out, const MetricSpec& spec,
                std::vector<std::pair<std::vector<prometheus::ClientMetric::Label>, double>> rows) {
  prometheus::MetricFamily f = MakeFamily(spec);
  for (auto& [labels, value] : rows) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  out.push_back(std::move(f));
}

// Every model's trackers as the daemon builds them, over a scratch ground-truth store in
// `dir`, with performance kept up to date row by row (recomputing every step's windows from
// the store would be quadratic in the history).
Result<std::vector<std::unique_ptr<ModelTrackers>>> BuildTrackers(
    const std::vector<const ModelConfig*>& models, const std::string& dir) {
  GroundTruthOptions gt_options;
  gt_options.recompute_interval = std::chrono::seconds(0);  // every step sees fresh values
  gt_options.durable_store = false;                         // the scratch directory's
  gt_options.sliding_performance = true;
  std::vector<std::unique_ptr<ModelTrackers>> trackers;
  for (const ModelConfig* m : models) {
    std::shared_ptr<const BaselineProfile> baseline;
    if (!m->baseline.empty()) {
      auto loaded = LoadBaselineProfile(*m);
      if (!loaded) return tl::unexpected(loaded.error());
      baseline = std::make_shared<const BaselineProfile>(std::move(*loaded));
    }
    auto t = std::make_unique<ModelTrackers>();
    if (auto ok = t->Build(*m, baseline, dir, DefaultLatencyBuckets(), gt_options); !ok) {
      return tl::unexpected(ok.error());
    }
    trackers.push_back(std::move(t));
  }
  return trackers;
}

// The source's line counters, as the daemon serves them.
void AddLineCounters(std::vector<prometheus::MetricFamily>& out, const std::string& source,
                     std::uint64_t lines_read,
                     const std::array<std::uint64_t, kRejectReasonCount>& rejected) {
  AddCounter(out, metric::kModelwatchLinesReadTotal,
             {{{{"kind", "predictions"}, {"source", source}}, double(lines_read)}});
  std::vector<std::pair<std::vector<prometheus::ClientMetric::Label>, double>> rows;
  for (int r = 0; r < kRejectReasonCount; ++r) {
    rows.push_back(
        {{{"reason", RejectReasonName(static_cast<RejectReason>(r))}, {"source", source}},
         double(rejected[static_cast<std::size_t>(r)])});
  }
  AddCounter(out, metric::kModelwatchLinesRejectedTotal, std::move(rows));
}

// A label line as a step delivers it.
struct StepLabel {
  std::string line;
  std::uint64_t number;  // its position in the label log's time order
};

// The models' trackers, fed in step and in parallel: one group of models per thread (model i
// in group i % groups). The records a model accepted since the last step wait in its queue;
// at each step every group takes its models' records, then the step's label lines, then
// flushes and collects. A model is only ever on one thread and sees exactly the sequence it
// would see alone (records, labels, flush), so the output does not depend on the number of
// groups.
class SteppedModels {
 public:
  // `threads` 0: one per core. `label_models`: the models the label lines go to.
  SteppedModels(const std::vector<const ModelConfig*>& models,
                std::vector<std::unique_ptr<ModelTrackers>> trackers,
                const std::vector<std::size_t>& label_models, std::size_t threads)
      : trackers_(std::move(trackers)),
        queued_(trackers_.size()),
        collected_(trackers_.size()),
        takes_labels_(trackers_.size(), false) {
    for (std::size_t i : label_models) takes_labels_[i] = true;
    const std::size_t groups = threads != 0 ? threads : std::thread::hardware_concurrency();
    for (std::size_t g = 0; g < std::clamp<std::size_t>(groups, 1, trackers_.size()); ++g) {
      parsers_.push_back(std::make_unique<RecordParser>(models));
    }
  }

  // Queues the line of a record the replay's parser accepted for model `model`.
  void Queue(std::size_t model, std::string line) { queued_[model].push_back(std::move(line)); }

  // Every model takes its queued records, then `labels`; its families are appended to `out`
  // in model order.
  void Step(const std::vector<StepLabel>& labels, std::vector<prometheus::MetricFamily>& out) {
    std::vector<std::thread> threads;
    for (std::size_t g = 1; g < parsers_.size(); ++g) {
      threads.emplace_back([this, g, &labels] { RunGroup(g, labels); });
    }
    RunGroup(0, labels);
    for (std::thread& thread : threads) thread.join();
    for (auto& families : collected_) {
      for (auto& f : families) out.push_back(std::move(f));
      families.clear();
    }
  }

 private:
  void RunGroup(std::size_t g, const std::vector<StepLabel>& labels) {
    RecordParser& parser = *parsers_[g];
    for (std::size_t i = g; i < trackers_.size(); i += parsers_.size()) {
      ModelTrackers& t = *trackers_[i];
      for (const std::string& line : queued_[i]) {
        // Accepted by the same kind of parser already: it parses again to the same record.
        if (parser.Parse(line)) t.Observe(parser.record());
      }
      queued_[i].clear();
      if (takes_labels_[i]) {
        for (const StepLabel& label : labels) {
          const GroundTruthTracker::LineSource source{0, 0, label.number};
          t.ground_truth->ObserveLabelLine(label.line, &source);
        }
      }
      if (t.ground_truth) t.ground_truth->Flush();
      t.Collect(collected_[i]);
    }
  }

  std::vector<std::unique_ptr<ModelTrackers>> trackers_;
  std::vector<std::vector<std::string>> queued_;                  // per model
  std::vector<std::vector<prometheus::MetricFamily>> collected_;  // per model, this step
  std::vector<bool> takes_labels_;                                // per model
  std::vector<std::unique_ptr<RecordParser>> parsers_;            // per group
};

}  // namespace

Result<ReplaySummary> Replay(const ReplayOptions& options) {
  const std::vector<const ModelConfig*>& models = options.models;
  const double step = options.step;
  const double future_tolerance = options.future_tolerance;
  // --labels go to every replayed model with a ground_truth section (each joins what matches
  // its own predictions).
  std::vector<std::size_t> label_models;
  if (!options.labels.empty()) {
    for (std::size_t i = 0; i < models.size(); ++i) {
      if (models[i]->ground_truth) label_models.push_back(i);
    }
    if (label_models.empty()) {
      return MakeError("--labels: no replayed model has a ground_truth section");
    }
  }

  auto scratch = TempDir::Create("modelwatch-replay");
  if (!scratch) {
    return tl::unexpected(scratch.error());
  }
  const std::string spool_dir = scratch->path() + "/spool";
  std::filesystem::create_directory(spool_dir);
  auto built = BuildTrackers(models, scratch->path());
  if (!built) return tl::unexpected(built.error());
  std::string source_name;
  for (const ModelConfig* m : models) source_name += (source_name.empty() ? "" : "+") + m->name;

  // Labels, in the order of their time (LabelStream).
  std::ifstream label_file;
  std::vector<std::unique_ptr<LabelParser>> parsers;
  if (!label_models.empty()) {
    const std::string& path = options.labels;
    label_file.open(path, std::ios::binary);
    if (!label_file) {
      return MakeError(std::string("cannot read: ") + std::strerror(errno), {path});
    }
    for (std::size_t i : label_models) parsers.push_back(std::make_unique<LabelParser>(*models[i]));
  }
  LabelStream labels(label_file, std::move(parsers));
  std::uint64_t next_label = 0;  // label lines delivered
  SteppedModels stepped(models, std::move(*built), label_models, options.threads);
  std::vector<StepLabel> step_labels;

  const std::string& input_path = options.input;
  std::ifstream input(input_path, std::ios::binary);
  if (!input) {
    return MakeError(std::string("cannot read: ") + std::strerror(errno), {input_path});
  }
  RecordParser parser(models);
  OpenMetricsWriter writer(spool_dir);
  std::uint64_t lines_read = 0, accepted = 0, steps = 0;
  std::array<std::uint64_t, kRejectReasonCount> rejected{};
  bool started = false;
  double boundary = 0;  // the next timestamp to write
  double first_step = 0;

  auto emit = [&](double at) -> Result<void> {
    if (!label_models.empty()) labels.ReadFor(at);
    step_labels.clear();
    while (!labels.empty() && labels.top().ts <= at) {
      // Every label line is delivered once, in this order: its number is its position.
      step_labels.push_back({labels.top().line, ++next_label});
      labels.pop();
      if (labels.empty()) labels.ReadFor(at);
    }
    std::vector<prometheus::MetricFamily> families;
    stepped.Step(step_labels, families);
    AddLineCounters(families, source_name, lines_read, rejected);
    ++steps;
    return writer.Add(families, at);
  };
  // Writes every step up to (and including) the last one before `ts`.
  auto advance_to = [&](double ts) -> Result<void> {
    if ((ts - boundary) / step > kMaxSteps) {
      return MakeError("more than " + std::to_string(static_cast<long long>(kMaxSteps)) +
                       " steps; use a larger --step");
    }
    while (boundary < ts) {
      if (auto ok = emit(boundary); !ok) return ok;
      boundary += step;
    }
    return {};
  };

  // No clock in a replay: a record is judged against the log's own "now", the median event
  // time of the kLogClockHalfWidth records before it that were accepted and of the
  // kLogClockHalfWidth records after it (itself included). Lines wait in `ahead` until
  // enough of their successors have been read.
  struct Ahead {
    std::string line;
    double ts;  // NaN: rejected for another reason
  };
  std::deque<Ahead> ahead;
  std::deque<double> behind;
  std::vector<double> neighbours;
  auto judge = [&]() -> Result<void> {
    Ahead next = std::move(ahead.front());
    ahead.pop_front();
    ++lines_read;
    auto parsed = parser.Parse(next.line);
    if (!parsed) {
      ++rejected[static_cast<std::size_t>(parsed.error().reason)];
      return {};
    }
    neighbours.assign(behind.begin(), behind.end());
    neighbours.push_back(next.ts);
    for (const Ahead& a : ahead) {
      if (!std::isnan(a.ts)) neighbours.push_back(a.ts);
    }
    const auto mid = neighbours.begin() + static_cast<std::ptrdiff_t>(neighbours.size() / 2);
    std::nth_element(neighbours.begin(), mid, neighbours.end());
    if (next.ts > *mid + future_tolerance) {
      ++rejected[static_cast<std::size_t>(RejectReason::kFutureTimestamp)];
      return {};
    }
    behind.push_back(next.ts);
    if (behind.size() > kLogClockHalfWidth) behind.pop_front();
    const Record& record = parser.record();
    if (!started) {
      started = true;
      first_step = boundary = std::ceil(record.timestamp / step) * step;
    }
    if (record.timestamp > boundary) {
      if (auto ok = advance_to(record.timestamp); !ok) return ok;
    }
    ++accepted;
    stepped.Queue(*parsed, std::move(next.line));
    return {};
  };
  std::string line;
  bool more = true;
  while (more || !ahead.empty()) {
    more = more && static_cast<bool>(std::getline(input, line));
    if (more) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      auto parsed = parser.Parse(line);
      ahead.push_back({std::move(line), parsed ? parser.record().timestamp : NAN});
      if (ahead.size() <= kLogClockHalfWidth) continue;
    }
    if (auto ok = judge(); !ok) return MakeError(ok.error().message);
  }
  if (input.bad()) {
    return MakeError(std::string("read failed: ") + std::strerror(errno), {input_path});
  }
  if (!started) {
    return MakeError("no valid record (" + std::to_string(lines_read) + " line(s) read)",
                     {input_path});
  }
  // The step that covers the last record, then on until the last label has arrived.
  while (!label_models.empty()) {
    labels.ReadFor(boundary);
    if (labels.empty() || labels.AllDueBy(boundary)) break;  // the last step takes the rest
    Result<void> ok;
    if (labels.top().ts > boundary) {
      ok = advance_to(labels.top().ts);
    } else {
      ok = emit(boundary);
      boundary += step;
    }
    if (!ok) return MakeError(ok.error().message);
  }
  if (labels.bad()) {
    return MakeError(std::string("read failed: ") + std::strerror(errno), {options.labels});
  }
  if (auto ok = emit(boundary); !ok) return MakeError(ok.error().message);
  if (auto ok = writer.Finish(options.output); !ok) return MakeError(ok.error().message);
  ReplaySummary summary;
  summary.source = source_name;
  summary.accepted = accepted;
  for (auto r : rejected) summary.rejected += r;
  summary.label_lines = labels.lines();
  summary.steps = steps;
  summary.first_step = first_step;
  summary.last_step = boundary;
  summary.samples = writer.samples();
  return summary;
}

std::string DescribeReplay(const ReplaySummary& summary, const std::string& step_text,
                           const std::string& output) {
  std::ostringstream out;
  out << "replayed " << summary.accepted << " record(s) (" << summary.rejected
      << " line(s) rejected)";
  if (summary.label_lines > 0) out << " and " << summary.label_lines << " label line(s)";
  out << " of " << summary.source << " in " << summary.steps << " step(s) of " << step_text
      << " from " << static_cast<long long>(summary.first_step) << " to "
      << static_cast<long long>(summary.last_step) << ": " << summary.samples << " samples to "
      << output;
  return out.str();
}

}  // namespace modelwatch
