// The exporter's one prometheus::Collectable: asks a source for families at scrape time and
// merges the families that several trackers emitted under one name.
#ifndef MODELWATCH_EXPORTER_METRICS_FAMILY_MERGE_H_
#define MODELWATCH_EXPORTER_METRICS_FAMILY_MERGE_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <vector>

namespace modelwatch {

// Merges families with equal names into one (the first one's help and type win; a family
// whose type differs from the first one's is dropped, and its name returned in `conflicts`
// when non-null), drops families without metrics, and orders families by name. Series keep
// their relative order. Identical label sets within a family are kept once (the first).
// A NUL byte in a label value is replaced by U+FFFD.
std::vector<prometheus::MetricFamily> MergeFamilies(std::vector<prometheus::MetricFamily> in,
                                                    std::vector<std::string>* conflicts = nullptr);

// Serialises families in the Prometheus text format (0.0.4).
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// Thread-safe if `source` is: Collect() may run on several HTTP threads at once.
class MergingCollector : public prometheus::Collectable {
 public:
  using Source = std::function<void(std::vector<prometheus::MetricFamily>& out)>;

  explicit MergingCollector(Source source) : source_(std::move(source)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Source source_;
};

}  // namespace modelwatch

#endif  // MODELWATCH_EXPORTER_METRICS_FAMILY_MERGE_H_
