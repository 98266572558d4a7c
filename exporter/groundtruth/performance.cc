#include "exporter/groundtruth/performance.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace modelwatch {

void PerformanceAccumulator::FlushTie() {
  if (!have_tie_) return;
  // Each positive in the tie beats every negative strictly below and half of the tied ones.
  auc_sum_ += tie_pos_ * (neg_below_ + 0.5 * tie_neg_);
  neg_below_ += tie_neg_;
  tie_pos_ = tie_neg_ = 0;
  have_tie_ = false;
}

void PerformanceAccumulator::Add(double prediction, double label, double weight) {
  weight_ += weight;
  ++count_;
  switch (task_) {
    case Task::kBinaryClassification: {
      const bool positive = label >= 0.5;
      const bool predicted = prediction >= threshold_;
      if (positive) {
        (predicted ? tp_ : fn_) += weight;
        pos_ += weight;
      } else {
        (predicted ? fp_ : tn_) += weight;
        neg_ += weight;
      }
      const double p = std::clamp(prediction, 1e-15, 1 - 1e-15);
      log_loss_ -= weight * (positive ? std::log(p) : std::log(1 - p));
      const int bin = std::clamp(static_cast<int>(prediction * 10), 0, 9);
      ece_w_[bin] += weight;
      ece_score_[bin] += weight * prediction;
      ece_label_[bin] += positive ? weight : 0;
      if (!have_tie_ || prediction != tie_score_) {
        FlushTie();
        have_tie_ = true;
        tie_score_ = prediction;
      }
      (positive ? tie_pos_ : tie_neg_) += weight;
      break;
    }
    case Task::kMulticlassClassification: {
      const int predicted = static_cast<int>(prediction);
      const int actual = static_cast<int>(label);
      auto& p = classes_[predicted];
      auto& a = classes_[actual];
      if (predicted == actual) {
        a[0] += weight;
        correct_ += weight;
      } else {
        p[1] += weight;
        a[2] += weight;
      }
      break;
    }
    case Task::kRegression: {
      const double d = prediction - label;
      abs_ += weight * std::fabs(d);
      sq_ += weight * d * d;
      ape_ += weight * std::fabs(d) / std::max(std::fabs(label), DBL_EPSILON);
      diff_ += weight * d;
      break;
    }
  }
}

std::vector<std::pair<std::string, double>> PerformanceAccumulator::Finish() const {
  std::vector<std::pair<std::string, double>> out;
  if (count_ == 0 || weight_ <= 0) return out;
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  switch (task_) {
    case Task::kBinaryClassification: {
      PerformanceAccumulator copy = *this;
      copy.FlushTie();
      if (pos_ > 0 && neg_ > 0) out.emplace_back("auc", copy.auc_sum_ / (pos_ * neg_));
      const double precision = ratio(tp_, tp_ + fp_);
      const double recall = ratio(tp_, tp_ + fn_);
      out.emplace_back("precision", precision);
      out.emplace_back("recall", recall);
      out.emplace_back("f1", ratio(2 * tp_, 2 * tp_ + fp_ + fn_));
      out.emplace_back("log_loss", log_loss_ / weight_);
      double ece = 0;
      for (int b = 0; b < 10; ++b) {
        if (ece_w_[b] <= 0) continue;
        ece +=
            ece_w_[b] / weight_ * std::fabs(ece_label_[b] / ece_w_[b] - ece_score_[b] / ece_w_[b]);
      }
      out.emplace_back("ece", ece);
      out.emplace_back("accuracy", (tp_ + tn_) / weight_);
      break;
    }
    case Task::kMulticlassClassification: {
      out.emplace_back("accuracy", correct_ / weight_);
      double sum = 0;
      for (const auto& [cls, c] : classes_) sum += ratio(2 * c[0], 2 * c[0] + c[1] + c[2]);
      out.emplace_back("macro_f1",
                       classes_.empty() ? 0 : sum / static_cast<double>(classes_.size()));
      break;
    }
    case Task::kRegression:
      out.emplace_back("mae", abs_ / weight_);
      out.emplace_back("rmse", std::sqrt(sq_ / weight_));
      out.emplace_back("mape", ape_ / weight_);
      out.emplace_back("bias", diff_ / weight_);
      break;
  }
  return out;
}

const std::vector<std::string>& PerformanceMetricNames(Task task) {
  static const std::vector<std::string> kBinary = {"auc",      "precision", "recall",  "f1",
                                                   "log_loss", "ece",       "accuracy"};
  static const std::vector<std::string> kMulti = {"accuracy", "macro_f1"};
  static const std::vector<std::string> kRegression = {"mae", "rmse", "mape", "bias"};
  switch (task) {
    case Task::kBinaryClassification:
      return kBinary;
    case Task::kMulticlassClassification:
      return kMulti;
    case Task::kRegression:
      return kRegression;
  }
  return kBinary;
}

bool HigherIsBetter(const std::string& metric) {
  return metric == "auc" || metric == "precision" || metric == "recall" || metric == "f1" ||
         metric == "accuracy" || metric == "macro_f1";
}

}  // namespace modelwatch
