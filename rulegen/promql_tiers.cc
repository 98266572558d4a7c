#include "rulegen/promql_tiers.h"

#include <utility>

namespace modelwatch {

std::string LocalIncreaseRecord(const std::string& metric, const std::string& by) {
  std::string level;
  for (char c : by) {
    if (c == ' ') continue;
    level += c == ',' ? '_' : c;
  }
  return level + "_window:" + metric + ":local_increase";
}

std::string LocalGroupName(const std::string& name) {
  return "modelwatch-" + name + "-promql-local";
}

std::string PromqlCounts::WindowSum(const std::string& metric, const Window& w,
                                    const std::string& by) {
  const std::string range = std::to_string(w.length.count()) + "s";
  const std::string sel = metric + "{model=" + PromQuote(m_.name) + "}";
  const std::string replicas = "sum by (" + by + ") (\n  (" + sel + " - " + sel + " offset " +
                               range + ") >= 0\n  or\n  " + sel + "\n)";
  if (local_ == nullptr) return replicas;
  // The local tier records the sum over the replicas this Prometheus scrapes, under the
  // window's label; the global tier adds up the Prometheus servers' (their external labels,
  // or the labels federation or remote write attach, are summed away).
  const std::string record = LocalIncreaseRecord(metric, by);
  if (recorded_.insert(record + "\n" + w.label).second) {
    local_->recording.push_back({record, replicas, {{"window", w.label}}});
  }
  return "sum by (" + by + ") (" + record + "{model=" + PromQuote(m_.name) +
         ",window=" + PromQuote(w.label) + "})";
}

}  // namespace modelwatch
