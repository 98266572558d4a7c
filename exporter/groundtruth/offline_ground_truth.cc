#include "exporter/groundtruth/offline_ground_truth.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace modelwatch {

Window OfflineGroundTruth::AllWindow() { return Window{"all", Seconds(100LL * 365 * 86400)}; }

OfflineGroundTruth::OfflineGroundTruth(TempDir dir, KeyedHasher hasher)
    : dir_(std::move(dir)), hasher_(hasher) {}

Result<std::unique_ptr<OfflineGroundTruth>> OfflineGroundTruth::Open(const ModelConfig& model) {
  auto dir = TempDir::Create("modelwatch-labels");
  if (!dir) return tl::unexpected(dir.error());
  auto hasher = KeyedHasher::FromStateDir(dir->path());
  if (!hasher) return tl::unexpected(hasher.error());
  const std::string path = dir->path();
  std::unique_ptr<OfflineGroundTruth> out(new OfflineGroundTruth(std::move(*dir), *hasher));
  ModelConfig m = model;
  GroundTruthConfig gt = m.ground_truth.value_or(GroundTruthConfig{});
  const Window all = AllWindow();
  gt.windows = {all};
  gt.delay = Seconds(0);
  gt.retention_buffer = all.length;  // nothing is dropped or sampled
  gt.sample_rate = 1.0;
  // Labels are read after every prediction: one that matches nothing then never will.
  gt.label_grace = Seconds(0);
  m.ground_truth = gt;
  GroundTruthOptions options;
  options.recompute_interval = std::chrono::seconds(0);
  auto tracker = GroundTruthTracker::Open(m, path, options);
  if (!tracker) return tl::unexpected(tracker.error());
  out->tracker_ = std::move(*tracker);
  return out;
}

std::uint64_t OfflineGroundTruth::Unmatched() const {
  return tracker_->unmatched() + static_cast<std::uint64_t>(tracker_->WaitingLabels());
}

Result<void> OfflineGroundTruth::ReadLabels(const std::string& path) {
  std::ifstream input(path, std::ios::binary);
  if (!input) return MakeError(std::string("cannot read: ") + std::strerror(errno), {path, 0, 0});
  std::string line;
  while (std::getline(input, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const GroundTruthTracker::LineSource source{0, 0, ++lines_read_};
    tracker_->ObserveLabelLine(line, &source);
  }
  if (input.bad()) {
    return MakeError(std::string("read failed: ") + std::strerror(errno), {path, 0, 0});
  }
  tracker_->Flush();
  return {};
}

}  // namespace modelwatch
