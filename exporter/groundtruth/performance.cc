#include "exporter/groundtruth/performance.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace modelwatch {

namespace {

void AddTo(double& sum, double x) { sum += x; }
void AddTo(CompensatedSum& sum, double x) { sum.Add(x); }
double ValueOf(double sum) { return sum; }
double ValueOf(const CompensatedSum& sum) { return sum.value(); }

}  // namespace

void CompensatedSum::Add(double x) {
  const double t = sum_ + x;
  carry_ += std::fabs(sum_) >= std::fabs(x) ? (sum_ - t) + x : (x - t) + sum_;
  sum_ = t;
}

template <typename Sum>
void PerformanceSums<Sum>::AddRow(Task task, double threshold, double prediction, double label,
                                  double w) {
  AddTo(weight, w);
  switch (task) {
    case Task::kBinaryClassification: {
      const bool positive = label >= 0.5;
      const bool predicted = prediction >= threshold;
      if (positive) {
        AddTo(predicted ? tp : fn, w);
        AddTo(pos, w);
      } else {
        AddTo(predicted ? fp : tn, w);
        AddTo(neg, w);
      }
      const double p = std::clamp(prediction, 1e-15, 1 - 1e-15);
      AddTo(log_loss, -w * (positive ? std::log(p) : std::log(1 - p)));
      const int bin = std::clamp(static_cast<int>(prediction * 10), 0, 9);
      AddTo(ece_w[bin], w);
      AddTo(ece_score[bin], w * prediction);
      if (positive) AddTo(ece_label[bin], w);
      break;
    }
    case Task::kMulticlassClassification: {
      const int predicted_class = static_cast<int>(prediction);
      const int actual_class = static_cast<int>(label);
      auto& p = classes[predicted_class];
      auto& a = classes[actual_class];
      if (predicted_class == actual_class) {
        AddTo(a[0], w);
        AddTo(correct, w);
      } else {
        AddTo(p[1], w);
        AddTo(a[2], w);
      }
      break;
    }
    case Task::kRegression: {
      const double d = prediction - label;
      AddTo(abs, w * std::fabs(d));
      AddTo(sq, w * d * d);
      AddTo(ape, w * std::fabs(d) / std::max(std::fabs(label), DBL_EPSILON));
      AddTo(diff, w * d);
      break;
    }
  }
}

template <typename Sum>
void PerformanceSums<Sum>::AppendMetrics(Task task,
                                         std::vector<std::pair<std::string, double>>& out) const {
  const double total = ValueOf(weight);
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  switch (task) {
    case Task::kBinaryClassification: {
      const double tp_w = ValueOf(tp), fp_w = ValueOf(fp), fn_w = ValueOf(fn);
      out.emplace_back("precision", ratio(tp_w, tp_w + fp_w));
      out.emplace_back("recall", ratio(tp_w, tp_w + fn_w));
      out.emplace_back("f1", ratio(2 * tp_w, 2 * tp_w + fp_w + fn_w));
      out.emplace_back("log_loss", ValueOf(log_loss) / total);
      double ece = 0;
      for (int b = 0; b < 10; ++b) {
        const double wb = ValueOf(ece_w[b]);
        if (wb <= 0) continue;
        ece += wb / total * std::fabs(ValueOf(ece_label[b]) / wb - ValueOf(ece_score[b]) / wb);
      }
      out.emplace_back("ece", ece);
      out.emplace_back("accuracy", (tp_w + ValueOf(tn)) / total);
      break;
    }
    case Task::kMulticlassClassification: {
      out.emplace_back("accuracy", ValueOf(correct) / total);
      double sum = 0;
      for (const auto& [cls, c] : classes) {
        const double c_tp = ValueOf(c[0]);
        sum += ratio(2 * c_tp, 2 * c_tp + ValueOf(c[1]) + ValueOf(c[2]));
      }
      out.emplace_back("macro_f1", classes.empty() ? 0 : sum / static_cast<double>(classes.size()));
      break;
    }
    case Task::kRegression:
      out.emplace_back("mae", ValueOf(abs) / total);
      // max: a compensated sum of squares can end a hair below 0 once every row is removed.
      out.emplace_back("rmse", std::sqrt(std::max(0.0, ValueOf(sq)) / total));
      out.emplace_back("mape", ValueOf(ape) / total);
      out.emplace_back("bias", ValueOf(diff) / total);
      break;
  }
}

template struct PerformanceSums<double>;
template struct PerformanceSums<CompensatedSum>;

void PerformanceAccumulator::FlushTie() {
  if (!have_tie_) return;
  // Each positive in the tie beats every negative strictly below and half of the tied ones.
  auc_sum_ += tie_pos_ * (neg_below_ + 0.5 * tie_neg_);
  neg_below_ += tie_neg_;
  tie_pos_ = tie_neg_ = 0;
  have_tie_ = false;
}

void PerformanceAccumulator::Add(double prediction, double label, double weight) {
  ++count_;
  sums_.AddRow(task_, threshold_, prediction, label, weight);
  if (task_ != Task::kBinaryClassification) return;
  if (!have_tie_ || prediction != tie_score_) {
    FlushTie();
    have_tie_ = true;
    tie_score_ = prediction;
  }
  (label >= 0.5 ? tie_pos_ : tie_neg_) += weight;
}

std::vector<std::pair<std::string, double>> PerformanceAccumulator::Finish() const {
  std::vector<std::pair<std::string, double>> out;
  if (count_ == 0 || sums_.weight <= 0) return out;
  if (task_ == Task::kBinaryClassification && sums_.pos > 0 && sums_.neg > 0) {
    PerformanceAccumulator copy = *this;
    copy.FlushTie();
    out.emplace_back("auc", copy.auc_sum_ / (sums_.pos * sums_.neg));
  }
  sums_.AppendMetrics(task_, out);
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
