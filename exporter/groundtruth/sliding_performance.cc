#include "exporter/groundtruth/sliding_performance.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

namespace modelwatch {

void CompensatedSum::Add(double x) {
  const double t = sum_ + x;
  carry_ += std::fabs(sum_) >= std::fabs(x) ? (sum_ - t) + x : (x - t) + sum_;
  sum_ = t;
}

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
  weight_.Add(w);
  count_ += sign;
  switch (task_) {
    case Task::kBinaryClassification: {
      const bool positive = label >= 0.5;
      const bool predicted = prediction >= threshold_;
      if (positive) {
        (predicted ? tp_ : fn_).Add(w);
        pos_.Add(w);
        pos_rows_ += sign;
      } else {
        (predicted ? fp_ : tn_).Add(w);
        neg_.Add(w);
        neg_rows_ += sign;
      }
      const double p = std::clamp(prediction, 1e-15, 1 - 1e-15);
      log_loss_.Add(-w * (positive ? std::log(p) : std::log(1 - p)));
      const int bin = std::clamp(static_cast<int>(prediction * 10), 0, 9);
      ece_w_[bin].Add(w);
      ece_score_[bin].Add(w * prediction);
      if (positive) ece_label_[bin].Add(w);
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
    case Task::kMulticlassClassification: {
      const int predicted = static_cast<int>(prediction);
      const int actual = static_cast<int>(label);
      auto& p = classes_[predicted];
      auto& a = classes_[actual];
      if (predicted == actual) {
        a[0].Add(w);
        correct_.Add(w);
      } else {
        p[1].Add(w);
        a[2].Add(w);
      }
      for (int cls : {predicted, actual}) {
        if ((class_rows_[cls] += sign) == 0) {
          class_rows_.erase(cls);
          classes_.erase(cls);
        }
      }
      break;
    }
    case Task::kRegression: {
      const double d = prediction - label;
      abs_.Add(w * std::fabs(d));
      sq_.Add(w * d * d);
      ape_.Add(w * std::fabs(d) / std::max(std::fabs(label), DBL_EPSILON));
      diff_.Add(w * d);
      break;
    }
  }
}

std::vector<std::pair<std::string, double>> IncrementalAccumulator::Finish() const {
  std::vector<std::pair<std::string, double>> out;
  const double weight = weight_.value();
  if (count_ <= 0 || weight <= 0) return out;
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  switch (task_) {
    case Task::kBinaryClassification: {
      const double tp = tp_.value(), fp = fp_.value(), fn = fn_.value(), tn = tn_.value();
      if (pos_rows_ > 0 && neg_rows_ > 0) {
        out.emplace_back("auc", auc_sum_.value() / (pos_.value() * neg_.value()));
      }
      out.emplace_back("precision", ratio(tp, tp + fp));
      out.emplace_back("recall", ratio(tp, tp + fn));
      out.emplace_back("f1", ratio(2 * tp, 2 * tp + fp + fn));
      out.emplace_back("log_loss", log_loss_.value() / weight);
      double ece = 0;
      for (int b = 0; b < 10; ++b) {
        const double wb = ece_w_[b].value();
        if (wb <= 0) continue;
        ece += wb / weight * std::fabs(ece_label_[b].value() / wb - ece_score_[b].value() / wb);
      }
      out.emplace_back("ece", ece);
      out.emplace_back("accuracy", (tp + tn) / weight);
      break;
    }
    case Task::kMulticlassClassification: {
      out.emplace_back("accuracy", correct_.value() / weight);
      double sum = 0;
      for (const auto& [cls, c] : classes_) {
        sum += ratio(2 * c[0].value(), 2 * c[0].value() + c[1].value() + c[2].value());
      }
      out.emplace_back("macro_f1",
                       classes_.empty() ? 0 : sum / static_cast<double>(classes_.size()));
      break;
    }
    case Task::kRegression:
      out.emplace_back("mae", abs_.value() / weight);
      out.emplace_back("rmse", std::sqrt(std::max(0.0, sq_.value()) / weight));
      out.emplace_back("mape", ape_.value() / weight);
      out.emplace_back("bias", diff_.value() / weight);
      break;
  }
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
