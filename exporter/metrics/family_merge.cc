#include "exporter/metrics/family_merge.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace modelwatch {

std::vector<prometheus::MetricFamily> MergeFamilies(std::vector<prometheus::MetricFamily> in,
                                                    std::vector<std::string>* conflicts) {
  std::map<std::string, prometheus::MetricFamily> by_name;
  std::map<std::string, std::set<std::vector<prometheus::ClientMetric::Label>>> seen;
  for (prometheus::MetricFamily& f : in) {
    auto [it, inserted] = by_name.try_emplace(f.name);
    prometheus::MetricFamily& merged = it->second;
    if (inserted) {
      merged.name = f.name;
      merged.help = std::move(f.help);
      merged.type = f.type;
    } else if (merged.type != f.type) {
      if (conflicts != nullptr) conflicts->push_back(f.name);
      continue;
    }
    auto& labels_seen = seen[f.name];
    for (prometheus::ClientMetric& m : f.metric) {
      // A NUL byte (e.g. an escaped \u0000 in a logged version) never reaches the exposition.
      for (auto& label : m.label) {
        for (std::size_t pos; (pos = label.value.find('\0')) != std::string::npos;) {
          label.value.replace(pos, 1, "\xEF\xBF\xBD");  // U+FFFD
        }
      }
      std::vector<prometheus::ClientMetric::Label> key = m.label;
      std::sort(key.begin(), key.end());
      if (!labels_seen.insert(std::move(key)).second) continue;
      merged.metric.push_back(std::move(m));
    }
  }
  std::vector<prometheus::MetricFamily> out;
  out.reserve(by_name.size());
  for (auto& [name, family] : by_name) {
    if (!family.metric.empty()) out.push_back(std::move(family));
  }
  return out;
}

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(families);
}

std::vector<prometheus::MetricFamily> MergingCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  source_(families);
  return MergeFamilies(std::move(families));
}

}  // namespace modelwatch
