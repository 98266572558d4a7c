#include "exporter/groundtruth/sliding_performance.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

namespace modelwatch {

namespace {

struct ScoreWeights {
  double pos = 0, neg = 0;
  std::int64_t rows = 0;
};

// Keeps, in every node of the score tree, the positive and negative weight of its subtree.
template <class NodeCItr, class NodeItr, class CmpFn, class Alloc>
struct SubtreeWeights {
  using metadata_type = std::pair<double, double>;

  void operator()(NodeItr it, NodeCItr end) {
    metadata_type m{(*it)->second.pos, (*it)->second.neg};
    for (NodeItr child : {it.get_l_child(), it.get_r_child()}) {
      if (child == end) continue;
      m.first += child.get_metadata().first;
      m.second += child.get_metadata().second;
    }
    const_cast<metadata_type&>(it.get_metadata()) = m;
  }

  // Positive and negative weight of the scores strictly below `score`.
  metadata_type Below(double score) const {
    metadata_type out{0, 0};
    for (NodeCItr it = node_begin(); it != node_end();) {
      if ((*it)->first < score) {
        out.first += (*it)->second.pos;
        out.second += (*it)->second.neg;
        if (NodeCItr l = it.get_l_child(); l != node_end()) {
          out.first += l.get_metadata().first;
          out.second += l.get_metadata().second;
        }
        it = it.get_r_child();
      } else {
        it = it.get_l_child();
      }
    }
    return out;
  }

  virtual NodeCItr node_begin() const = 0;
  virtual NodeCItr node_end() const = 0;
  virtual ~SubtreeWeights() = default;
};

}  // namespace

class IncrementalAccumulator::ScoreTree
    : public __gnu_pbds::tree<double, ScoreWeights, std::less<double>, __gnu_pbds::rb_tree_tag,
                              SubtreeWeights> {};

IncrementalAccumulator::IncrementalAccumulator(Task task, double threshold)
    : task_(task), threshold_(threshold) {
  if (task_ == Task::kBinaryClassification) scores_ = std::make_unique<ScoreTree>();
}
IncrementalAccumulator::~IncrementalAccumulator() = default;
IncrementalAccumulator::IncrementalAccumulator(IncrementalAccumulator&&) noexcept = default;
IncrementalAccumulator& IncrementalAccumulator::operator=(IncrementalAccumulator&&) noexcept =
    default;

void IncrementalAccumulator::Update(double prediction, double label, double weight, int sign) {
  const double w = sign * weight;
  count_ += sign;
  sums_.AddRow(task_, threshold_, prediction, label, w);
  switch (task_) {
    case Task::kBinaryClassification: {
      const bool positive = label >= 0.5;
      (positive ? pos_rows_ : neg_rows_) += sign;
      // AUC's numerator: every (positive, negative) pair with the positive scored higher,
      // ties counting half. The row pairs with the other class's rows only, so the tree's
      // state for its own class does not matter here.
      auto at = scores_->find(prediction);
      const ScoreWeights here = at == scores_->end() ? ScoreWeights{} : at->second;
      const auto below = scores_->Below(prediction);
      if (positive) {
        auc_sum_.Add(w * (below.second + 0.5 * here.neg));
      } else {
        const double total_pos = scores_->empty() ? 0 : scores_->node_begin().get_metadata().first;
        const double above = total_pos - below.first - here.pos;
        auc_sum_.Add(w * (above + 0.5 * here.pos));
      }
      ScoreWeights next = here;
      (positive ? next.pos : next.neg) += w;
      next.rows += sign;
      if (at != scores_->end()) scores_->erase(at);
      if (next.rows > 0) scores_->insert({prediction, next});
      break;
    }
    case Task::kMulticlassClassification:
      for (int cls : {static_cast<int>(prediction), static_cast<int>(label)}) {
        if ((class_rows_[cls] += sign) == 0) {
          class_rows_.erase(cls);
          sums_.classes.erase(cls);
        }
      }
      break;
    case Task::kRegression:
      break;
  }
}

std::vector<std::pair<std::string, double>> IncrementalAccumulator::Finish() const {
  std::vector<std::pair<std::string, double>> out;
  if (count_ <= 0 || sums_.weight.value() <= 0) return out;
  if (task_ == Task::kBinaryClassification && pos_rows_ > 0 && neg_rows_ > 0) {
    out.emplace_back("auc", auc_sum_.value() / (sums_.pos.value() * sums_.neg.value()));
  }
  sums_.AppendMetrics(task_, out);
  return out;
}

SlidingPerformance::SlidingPerformance(
    Task task, double threshold, std::vector<double> window_seconds, std::size_t segments,
    std::function<void(std::string_view, std::vector<std::string_view>&)> split)
    : task_(task),
      threshold_(threshold),
      window_seconds_(std::move(window_seconds)),
      nseg_(segments),
      split_(std::move(split)),
      rows_(window_seconds_.size()) {}

void SlidingPerformance::Apply(std::size_t window, const Row& row, bool add) {
  split_(row.segments, segs_);
  auto update = [&](GroupKey key) {
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      if (!add) return;  // cannot happen: a removed row was added to its groups
      it = groups_.emplace(std::move(key), IncrementalAccumulator(task_, threshold_)).first;
    }
    if (add) {
      it->second.Add(row.prediction, row.label, row.weight);
    } else {
      it->second.Remove(row.prediction, row.label, row.weight);
      if (it->second.count() == 0) groups_.erase(it);
    }
  };
  update({window, row.version, -1, ""});
  for (std::size_t s = 0; s < nseg_ && s < segs_.size(); ++s) {
    if (!segs_[s].empty())
      update({window, row.version, static_cast<int>(s), std::string(segs_[s])});
  }
}

void SlidingPerformance::Add(const LabelledRow& labelled) {
  Row row{labelled.timestamp, labelled.prediction,           labelled.label,
          labelled.weight,    std::string(labelled.version), std::string(labelled.segments)};
  for (std::size_t w = 0; w < window_seconds_.size(); ++w) {
    if (row.timestamp < newest_ - window_seconds_[w]) continue;  // left the window already
    Apply(w, row, true);
    rows_[w].push(row);
  }
}

void SlidingPerformance::Advance(double newest) {
  newest_ = std::max(newest_, newest);
  for (std::size_t w = 0; w < window_seconds_.size(); ++w) {
    auto& queue = rows_[w];
    while (!queue.empty() && queue.top().timestamp < newest_ - window_seconds_[w]) {
      Apply(w, queue.top(), false);
      queue.pop();
    }
  }
}

}  // namespace modelwatch
